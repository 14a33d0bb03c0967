"""The registry of background job kinds, filled through ``register_job_kinds``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

from cvatcore.core.registration import check_unique, registrations_of, require_callable


def collect_job_kinds(pm: pluggy.PluginManager) -> dict[str, Callable[[Any], Any]]:
    """Kind -> handler, from ``register_job_kinds``'s one call; a kind twice stops start-up."""
    found = registrations_of(pm).of("register_job_kinds")
    check_unique(found, "job kind {key!r}", pm)
    for reg in found:
        require_callable(reg, "job kind", "handler")
    return {reg.name: reg.value for reg in found}
