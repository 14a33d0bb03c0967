"""Built-in plugin that adds the core REST API through ``register_routes``.

The API modules are imported when routes are registered, not when the plugin is loaded: CLI
commands that never build the app (``manifest``, ``mount``, ``secrets``) start in a fraction
of the time.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from cvatcore.hooks import Register, hookimpl

if TYPE_CHECKING:
    from cvatcore.core.api.routing import Op

MODULE_NAMES = (
    "server", "auth", "users", "organizations", "projects", "tasks", "jobs", "labels",
    "task_data", "annotations", "issues", "requests", "cloud_storages", "schema",
)


def core_ops() -> list[Op]:
    """Every core ``Op``, in registration order (``schema`` last)."""
    modules = [importlib.import_module(f"cvatcore.core.api.{name}") for name in MODULE_NAMES]
    return [op for module in modules for op in module.OPS]


@hookimpl
def register_routes(register: Register) -> None:
    from cvatcore.core.api.context import endpoint

    for op in core_ops():
        register(op.path, endpoint(op.handler, authenticate=op.authenticate,
                                   stream_body=op.extra.get("stream_body", False),
                                   max_body=op.extra.get("max_body")),
                 methods=[op.method], name=op.operation_id)
