"""Built-in plugin that adds the core REST API through ``register_routes``.

The API modules are imported when routes are registered, not when the plugin is loaded
(``core/api/operations.py``).
"""

from __future__ import annotations

from cvatcore.core.api.operations import core_ops
from cvatcore.hooks import Register, hookimpl


@hookimpl
def register_routes(register: Register) -> None:
    from cvatcore.core.api.context import endpoint
    from cvatcore.core.api.openapi import operation_parameters
    from cvatcore.core.api.query_bounds import query_schemas

    for op in core_ops():
        # "raw" operations are Starlette endpoints that must answer without a database
        # transaction (the health check, which reports the database being down).
        served = op.handler if op.extra.get("raw") else endpoint(
            op.handler, authenticate=op.authenticate,
            stream_body=op.extra.get("stream_body", False), max_body=op.extra.get("max_body"),
            body_schema=op.extra.get("body_schema", op.request),
            signed_in=not op.public,
            query_schema=query_schemas(operation_parameters(op)[1]),
            writes=op.extra.get("writes", False),
            own_transactions=op.extra.get("own_transactions", False))
        register(op.path, served, methods=[op.method], name=op.operation_id)
