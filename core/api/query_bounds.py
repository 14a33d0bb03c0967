"""Query strings checked against the parameters their operation declares in ``/api/schema``
(types, enums, ranges, date-times, one value each), so that what the document promises a
client, the server holds: ``?page_size=2147483648``, ``?role=AAA``, ``?to=`` or a repeated
``?org_id=`` are 400s naming the parameter, never silently read as something else.

Parameters an operation does not declare are left alone (CVAT's server ignores them too).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from cvatcore.core.errors import ValidationFailed

Schema = dict[str, Any]

_INTEGER = re.compile(r"-?[0-9]{1,20}", re.ASCII)
_BOOLEANS = ("true", "false", "1", "0")
_EMPTY_OK = "x-empty-allowed"  # any case, as ``listing.parse_bool`` reads them


def query_schemas(parameters: Iterable[Schema]) -> dict[str, Schema]:
    """name -> schema of the query parameters among an operation's ``parameters``; one that
    declares ``allowEmptyValue`` (OpenAPI's flag: ``?org_id=`` is the personal workspace)
    is marked so in its copy of the schema."""
    return {p["name"]: {**p.get("schema", {}), **({_EMPTY_OK: True}
                                                   if p.get("allowEmptyValue") else {})}
            for p in parameters if p.get("in") == "query"}


def check_query(schemas: dict[str, Schema], query: Any) -> None:
    """A 400 naming the first declared parameter whose value(s) do not fit its schema."""
    for name, schema in schemas.items():
        values = query.getlist(name)
        if not values or (values == [""] and schema.get(_EMPTY_OK)):
            continue
        if len(values) > 1 and schema.get("type") != "array":
            raise ValidationFailed.field(name, "Only one value is accepted.")
        problem = _problem(schema, values[0])
        if problem:
            raise ValidationFailed.field(name, problem)


def _problem(schema: Schema, value: str) -> str | None:
    """What is wrong with ``value`` for ``schema``, None when it fits."""
    if "oneOf" in schema:
        problems = [_problem(option, value) for option in schema["oneOf"]]
        return None if None in problems else " or ".join(p for p in problems if p)
    if "enum" in schema and value not in schema["enum"]:
        return (f"Select a valid choice. {value[:64]!r} is not one of the available choices: "
                f"{', '.join(map(str, schema['enum']))}.")
    kind = schema.get("type")
    if kind == "integer":
        if not _INTEGER.fullmatch(value):
            return "A valid integer is required."
        low, high = schema.get("minimum"), schema.get("maximum")
        number = int(value)
        if (low is not None and number < low) or (high is not None and number > high):
            return f"Ensure this value is between {low} and {high}."
    elif kind == "boolean" and value.lower() not in _BOOLEANS:
        return "Must be a valid boolean (true or false)."
    elif kind == "string" and schema.get("format") == "date-time" and not _is_datetime(value):
        return "Datetime has wrong format. Use ISO 8601, e.g. 2026-12-07T10:00:00Z."
    return None


def _is_datetime(value: str) -> bool:
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return False
    return True
