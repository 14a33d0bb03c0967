"""Every operation of the core REST API, in registration order.

The built-in plugin ``core/builtin/rest_api.py`` registers them as routes and ``openapi.py``
documents them; both read this list, so the document cannot drift from the server, and the
API never imports the plugin that serves it.

The modules are imported when asked for, not when this one is: CLI commands that never build
the app (``manifest``, ``mount``, ``secrets``) start in a fraction of the time.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cvatcore.core.api.routing import Op

MODULE_NAMES = (
    "server", "health", "auth", "users", "organizations", "projects", "tasks", "jobs", "labels",
    "task_data", "annotations", "issues", "requests", "cloud_storages", "webhooks", "events",
    "datasets", "backups", "lambda_functions", "functions", "schema",
)
#: The plugin that registers these operations as routes (``core/plugins.py`` loads it under
#: its module name); routes of every other plugin are documented from their registration.
ROUTES_PLUGIN = "cvatcore.core.builtin.rest_api"


def core_ops() -> list[Op]:
    """Every core ``Op``, in registration order (``schema`` last)."""
    modules = [importlib.import_module(f"cvatcore.core.api.{name}") for name in MODULE_NAMES]
    return [op for module in modules for op in module.OPS]
