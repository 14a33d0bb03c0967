"""CVAT's JSON Logic ``filter`` compiled to SQL with types: every operator checks how many
operands it has and what they are against the column's type before any SQL is built, so a
malformed filter is a 400 naming the problem, never a database error (PostgreSQL refuses to
compare an integer with text, or ``lower()`` an integer) or a crash of the compiler.

Operators: ``and``, ``or`` (one or more operations), ``!`` (one), ``==``, ``!=``, ``<``,
``<=``, ``>``, ``>=`` (a field and a value; ``<``/``<=`` also ``[low, field, high]``), ``in``
(a field and a list of values, or a text and a text field: a case-insensitive substring).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import ColumnElement, and_, func, not_, or_

from cvatcore.core.api.bounds import MAX_FILTER_DEPTH, MAX_INT, MIN_INT
from cvatcore.core.errors import ValidationFailed

#: Values in one ``in`` list.
MAX_IN_VALUES = 1_000

_OPERATORS = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt,
    "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}
_MIRRORED = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}


class FilterSpec(Protocol):
    """What the compiler needs of a list's ``ListSpec``."""

    fields: dict[str, Any]
    filter_fields: Sequence[str] | None


def _bad(message: str, field: str = "filter") -> ValidationFailed:
    return ValidationFailed.field(field, message)


def compile_filter(spec: FilterSpec, node: Any, depth: int = 1) -> ColumnElement[bool]:
    """The SQL condition of one JSON Logic operation (``node``)."""
    if depth > MAX_FILTER_DEPTH:
        raise _bad(f"Filters nested deeper than {MAX_FILTER_DEPTH} levels are not accepted.")
    if not isinstance(node, dict) or len(node) != 1:
        raise _bad(f"Expected one JSON Logic operation, got {_short(node)}.")
    op, args = next(iter(node.items()))
    if op in ("and", "or"):
        parts = _as_list(args)
        if not parts:
            raise _bad(f"{op!r} takes one or more operations.")
        compiled = [compile_filter(spec, part, depth + 1) for part in parts]
        return and_(*compiled) if op == "and" else or_(*compiled)
    if op == "!":
        parts = _as_list(args)
        if len(parts) != 1:
            raise _bad("'!' takes exactly one operation.")
        return not_(compile_filter(spec, parts[0], depth + 1))
    args = _as_list(args)
    if op in _OPERATORS:
        return _comparison(spec, op, args)
    if op == "in":
        return _in(spec, args)
    raise _bad(f"Unsupported filter operation {_short(op)}.")


def _comparison(spec: FilterSpec, op: str, args: list[Any]) -> ColumnElement[bool]:
    if op in ("<", "<=") and len(args) == 3:  # {"<=": [a, {"var": x}, b]}: between
        low, var, high = args
        name = _var(spec, var)
        return and_(compare(op, spec, name, low, reverse=True), compare(op, spec, name, high))
    if len(args) != 2:
        raise _bad(f"{op!r} takes two arguments.")
    if _is_var(args[0]) and not _is_var(args[1]):
        return compare(op, spec, _var(spec, args[0]), args[1])
    if _is_var(args[1]) and not _is_var(args[0]):
        return compare(op, spec, _var(spec, args[1]), args[0], reverse=True)
    raise _bad(f"{op!r} compares one field ({{'var': name}}) with one value.")


def _in(spec: FilterSpec, args: list[Any]) -> ColumnElement[bool]:
    if len(args) != 2:
        raise _bad("'in' takes two arguments.")
    first, second = args
    if _is_var(first) and isinstance(second, list):
        name = _var(spec, first)
        if len(second) > MAX_IN_VALUES:
            raise _bad(f"Ensure an 'in' list has no more than {MAX_IN_VALUES} values.")
        values = [coerce(spec.fields[name], name, v) for v in second]
        if any(isinstance(v, bool) for v in values) and not all(
                isinstance(v, bool) for v in values):
            raise _bad(f"The values for {name!r} must all be of one type.")
        return spec.fields[name].in_(values)
    if _is_var(second) and isinstance(first, str):  # substring match, as CVAT's
        name = _var(spec, second)
        column = spec.fields[name]
        if _python_type(column) is not str:
            raise _bad(f"'in' with a text finds text in text fields; {name!r} is not one.")
        return func.lower(column).contains(first.lower(), autoescape=True)
    raise _bad("'in' takes a field and a list of values, or a text and a text field.")


def _as_list(args: Any) -> list[Any]:
    return args if isinstance(args, list) else [args]


def _is_var(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"var"}


def _var(spec: FilterSpec, value: Any) -> str:
    if not _is_var(value):
        raise _bad(f"Expected {{'var': name}}, got {_short(value)}.")
    name = value["var"]
    allowed = spec.filter_fields if spec.filter_fields is not None else list(spec.fields)
    if not isinstance(name, str) or name not in allowed:
        raise _bad(f"Unknown filter field {_short(name)}; allowed: {', '.join(allowed)}.")
    return name


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def compare(op: str, spec: FilterSpec, name: str, value: Any, reverse: bool = False,
            field: str = "filter") -> Any:
    """``column <op> value`` with ``value`` as the column's type (a 400 naming ``field``
    when it cannot be one)."""
    column = spec.fields[name]
    if reverse:
        op = _MIRRORED.get(op, op)
    value = coerce(column, name, value, field)
    if isinstance(value, bool) and op not in ("==", "!="):
        raise _bad(f"{name!r} is true or false; use == or !=.", field)
    return _OPERATORS[op](column, value)


def _python_type(column: Any) -> type | None:
    try:
        return column.type.python_type
    except (AttributeError, NotImplementedError):
        return None


def coerce(column: Any, name: str, value: Any, field: str = "filter") -> Any:
    """The value as the column's Python type, so a mismatch is a 400 and not a database error
    (PostgreSQL refuses to compare an integer with text), within the column's range."""
    if value is None or isinstance(value, dict | list):
        raise _bad(f"Cannot compare {name!r} with {_short(value)}.", field)
    kind = _python_type(column)
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
    elif kind is int:
        number = value if isinstance(value, int) and not isinstance(value, bool) else None
        if isinstance(value, str) and value.strip().lstrip("-").isascii() \
                and value.strip().lstrip("-").isdigit() and len(value) <= 20:
            number = int(value)
        if number is not None:
            if not MIN_INT <= number <= MAX_INT:
                raise _bad(f"{name!r} values are between {MIN_INT} and {MAX_INT}.", field)
            return number
    elif kind is float:
        if isinstance(value, int | float) and not isinstance(value, bool) \
                and math.isfinite(value):
            return value
    elif kind is str:
        if isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
    elif kind is datetime:
        if isinstance(value, str):
            try:
                return datetime.fromisoformat(value)
            except ValueError:
                pass
    elif isinstance(value, str):
        return value
    raise _bad(f"{_short(value)} is not a valid value for {name!r}.", field)
