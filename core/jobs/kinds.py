"""The registry of background job kinds, filled through ``register_job_kinds``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

from cvatcore.core.plugins import PluginError


def collect_job_kinds(pm: pluggy.PluginManager) -> dict[str, Callable[[Any], Any]]:
    kinds: dict[str, Callable[[Any], Any]] = {}
    owners: dict[str, str] = {}
    for impl in pm.hook.register_job_kinds.get_hookimpls():

        def register(kind: str, handler: Callable[[Any], Any], _plugin: str = impl.plugin_name
                     ) -> None:
            if kind in kinds:
                raise PluginError(
                    f"job kind {kind!r} is registered by two plugins: {owners[kind]} and {_plugin}"
                )
            kinds[kind], owners[kind] = handler, _plugin

        impl.function(register=register)
    return kinds
