"""``GET /api/schema``: the OpenAPI 3 document, built from the same ``Op`` list as the routes."""

from __future__ import annotations

from starlette.responses import Response

from cvatcore.core.api.context import Ctx
from cvatcore.core.api.responses import JSON
from cvatcore.core.api.routing import Op


def schema(ctx: Ctx) -> Response:
    from cvatcore.core.api.openapi import build_document

    return JSON(build_document(ctx.state))


OPS = [
    Op("GET", "/api/schema", schema, "schema_retrieve", "schema", "This OpenAPI document",
       public=True, authenticate=False,
       extra={"response_schema": {"type": "object", "additionalProperties": {}}}),
]
