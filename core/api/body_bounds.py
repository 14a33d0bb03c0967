"""Request bodies checked against the bounds of their operation's component schema (the
limits ``GET /api/schema`` shows; ``bounds.py`` holds the defaults)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from cvatcore.core.api.bounds import MAX_INT, MAX_JSON_DEPTH, MAX_TEXT, MIN_INT, parse_depth_error
from cvatcore.core.api.openapi_components import all_schemas
from cvatcore.core.errors import ValidationFailed


def check_body(schema_name: str, value: Any) -> None:
    """Check ``value`` against the bounds of the component schema ``schema_name``:
    ``maxLength``, ``maxItems``, ``maximum`` and ``minimum`` where the value has the type
    they apply to (types and required fields are the handlers' to check, with their own
    messages). The first problem is a 400 naming the field's path and the limit."""
    schemas = _schemas()
    _check(schemas, schemas.get(schema_name, {}), value, "")


@lru_cache(maxsize=1)
def _schemas() -> dict[str, Any]:
    return all_schemas()


def _check(schemas: dict[str, Any], schema: dict[str, Any], value: Any, path: str,
           depth: int = 0) -> None:
    if depth > MAX_JSON_DEPTH:
        raise parse_depth_error(None)
    while "$ref" in schema:
        schema = schemas.get(schema["$ref"].rsplit("/", 1)[-1], {})
    for part in schema.get("allOf", ()):
        _check(schemas, part, value, path, depth)
    if isinstance(value, str):
        limit = schema.get("maxLength", MAX_TEXT)
        if len(value) > limit:
            _bad(path, f"Ensure this field has at most {limit} characters.")
    elif isinstance(value, int) and not isinstance(value, bool):
        high, low = schema.get("maximum", MAX_INT), schema.get("minimum", MIN_INT)
        if not low <= value <= high:
            _bad(path, f"Ensure this value is between {low} and {high}.")
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            _bad(path, "A finite number is required.")
    elif isinstance(value, list):
        limit = schema.get("maxItems")
        if limit is not None and len(value) > limit:
            _bad(path, f"Ensure this field has at most {limit} elements.")
        items = schema.get("items", {})
        for index, item in enumerate(value):
            _check(schemas, items, item, f"{path}[{index}]", depth + 1)
    elif isinstance(value, dict):
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            sub = properties.get(key, extra if isinstance(extra, dict) else {})
            _check(schemas, sub, item, f"{path}.{key}" if path else key, depth + 1)


def _bad(path: str, message: str) -> None:
    raise ValidationFailed.field(path or "detail", message)
