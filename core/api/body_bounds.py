"""Request bodies checked against the bounds of their operation's component schema (the
limits ``GET /api/schema`` shows; ``bounds.py`` holds the defaults).

Each schema is turned once into a checking function (closures over its limits and its
children's functions), so a body is walked without looking up ``$ref``s, ``allOf``s and
limits again for every value, and without building a field's path unless it is wrong: a
batch of 1,000 client events is 17,000 values, and the interpreted walk cost about a third
of ``POST /api/events``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from cvatcore.core.api.bounds import MAX_INT, MAX_JSON_DEPTH, MAX_TEXT, MIN_INT, parse_depth_error
from cvatcore.core.api.openapi_components import all_schemas
from cvatcore.core.errors import ValidationFailed

Check = Callable[[Any, int], None]
_INF = (float("inf"), float("-inf"))
_ANY: dict[str, Any] = {}  # one object for "no schema": its function is made once


def check_body(schema_name: str, value: Any) -> None:
    """Check ``value`` against the bounds of the component schema ``schema_name``:
    ``maxLength``, ``maxItems``, ``maximum`` and ``minimum`` where the value has the type
    they apply to (types and required fields are the handlers' to check, with their own
    messages). The first problem is a 400 naming the field's path and the limit."""
    try:
        _checker(schema_name)(value, 0)
    except _Bad as bad:
        raise ValidationFailed.field(_path(bad.where) or "detail", bad.message) from None


class _Bad(Exception):
    """A value out of bounds; ``where`` collects its path from the inside out."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        self.where: list[int | str] = []


def _path(where: list[int | str]) -> str:
    path = ""
    for part in reversed(where):
        step = f"[{part}]" if isinstance(part, int) else f".{part}" if path else part
        path += step
    return path


@cache
def _checker(schema_name: str) -> Check:
    schemas = all_schemas()
    return _Compiler(schemas).compile(schemas.get(schema_name, _ANY))


class _Compiler:
    """Schema -> checking function, one function per (resolved) schema object, so that
    recursive schemas end in a function that calls itself."""

    def __init__(self, schemas: dict[str, Any]) -> None:
        self.schemas = schemas
        self.done: dict[int, Check] = {}

    def compile(self, schema: dict[str, Any]) -> Check:
        while "$ref" in schema:
            schema = self.schemas.get(schema["$ref"].rsplit("/", 1)[-1], _ANY)
        known = self.done.get(id(schema))
        if known is not None:
            return known
        max_length = schema.get("maxLength", MAX_TEXT)
        high, low = schema.get("maximum", MAX_INT), schema.get("minimum", MIN_INT)
        max_items = schema.get("maxItems")
        parts: list[Check] = []
        items: Check | None = None
        properties: dict[str, Check] = {}
        leaves: dict[str, tuple[int, int, int]] = {}
        extra: Check | None = None

        def check(value: Any, depth: int) -> None:
            if depth > MAX_JSON_DEPTH:
                raise parse_depth_error(None)
            for part in parts:
                part(value, depth)
            if isinstance(value, str):
                if len(value) > max_length:
                    raise _Bad(f"Ensure this field has at most {max_length} characters.")
            elif isinstance(value, int) and not isinstance(value, bool):
                if not low <= value <= high:
                    raise _Bad(f"Ensure this value is between {low} and {high}.")
            elif isinstance(value, float):
                if value != value or value in _INF:
                    raise _Bad("A finite number is required.")
            elif isinstance(value, list):
                if max_items is not None and len(value) > max_items:
                    raise _Bad(f"Ensure this field has at most {max_items} elements.")
                index = 0
                try:
                    for index, item in enumerate(value):  # noqa: B007 - read in except
                        items(item, depth + 1)  # type: ignore[misc]
                except _Bad as bad:
                    bad.where.append(index)
                    raise
            elif isinstance(value, dict):
                key = ""
                inline = depth < MAX_JSON_DEPTH  # a child's own depth check cannot fail
                try:
                    for key, item in value.items():  # noqa: B007 - read in except
                        # Plain text and whole numbers under a scalar property are checked
                        # here, not through a call each (a 1,000-event batch has 17,000).
                        leaf = leaves.get(key) if inline else None
                        if leaf is not None:
                            kind = type(item)
                            if kind is str:
                                if len(item) > leaf[0]:
                                    raise _Bad(f"Ensure this field has at most {leaf[0]} "
                                               "characters.")
                                continue
                            if kind is int:
                                if not leaf[1] <= item <= leaf[2]:
                                    raise _Bad(f"Ensure this value is between {leaf[1]} "
                                               f"and {leaf[2]}.")
                                continue
                            if item is None or kind is bool:
                                continue
                        properties.get(key, extra)(item, depth + 1)  # type: ignore[misc]
                except _Bad as bad:
                    bad.where.append(key)
                    raise

        self.done[id(schema)] = check  # before the children: a schema may contain itself
        parts.extend(self.compile(part) for part in schema.get("allOf", ()))
        items = self.compile(schema.get("items", _ANY))
        properties.update((name, self.compile(sub))
                          for name, sub in schema.get("properties", {}).items())
        leaves.update((name, limits) for name, sub in schema.get("properties", {}).items()
                      if (limits := self._scalar_limits(sub)) is not None)
        additional = schema.get("additionalProperties")
        extra = self.compile(additional if isinstance(additional, dict) else _ANY)
        return check

    def _scalar_limits(self, schema: dict[str, Any]) -> tuple[int, int, int] | None:
        """``(maxLength, minimum, maximum)`` of a schema with nothing nested to walk (no
        ``allOf``, ``items``, ``properties``): its text and whole numbers can be checked in
        place. None for any other."""
        while "$ref" in schema:
            schema = self.schemas.get(schema["$ref"].rsplit("/", 1)[-1], _ANY)
        if any(k in schema for k in ("allOf", "items", "properties", "additionalProperties")):
            return None
        return (schema.get("maxLength", MAX_TEXT), schema.get("minimum", MIN_INT),
                schema.get("maximum", MAX_INT))
