"""The single values of an annotation body: integers, booleans, numbers, points per shape
type, and attribute values per input type. Each check raises ``Invalid`` with a message
that starts with the field's name; ``annotations_validate`` adds where the item is.

These run once per annotation (50,000 times for a large job), so the common case takes the
shortest path: an exact type test before anything else.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from cvatcore.core.models import AttributeSpec

MAX_INT = 2**31 - 1
MAX_VALUE_LENGTH = 4096
SHAPE_TYPES = ("rectangle", "polygon", "polyline", "points", "ellipse", "cuboid", "mask",
               "skeleton")
SOURCES = ("manual", "auto", "semi-auto", "file", "consensus")


class Invalid(Exception):
    """One problem with one item."""


def integer(value: Any, name: str, minimum: int = 0) -> int:
    if type(value) is not int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        elif isinstance(value, bool) or not isinstance(value, int):
            raise Invalid(f"{name}: a valid integer is required, got {value!r}.")
    if not minimum <= value <= MAX_INT:
        raise Invalid(f"{name}: must be between {minimum} and {MAX_INT}, got {value}.")
    return value


def optional_integer(value: Any, name: str) -> int | None:
    return None if value is None else integer(value, name)


def boolean(value: Any, name: str) -> bool:
    if type(value) is not bool:
        raise Invalid(f"{name}: true or false is required, got {value!r}.")
    return value


def number(value: Any, name: str) -> float:
    if type(value) is not float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise Invalid(f"{name}: a number is required, got {value!r}.")
        value = float(value)
    if not math.isfinite(value):
        raise Invalid(f"{name}: a finite number is required.")
    return value


def bounded(value: Any, name: str, low: float, high: float) -> float:
    result = number(value, name)
    if not low <= result <= high:
        raise Invalid(f"{name}: must be between {low:g} and {high:g}, got {result:g}.")
    return result


POINT_RULES: dict[str, tuple[Callable[[int], bool], str]] = {
    "rectangle": (lambda n: n == 4, "4 coordinates (x1, y1, x2, y2)"),
    "ellipse": (lambda n: n == 4, "4 coordinates (cx, cy, rx, ry)"),
    "polygon": (lambda n: n >= 6 and n % 2 == 0, "an even number of coordinates, at least 6"),
    "polyline": (lambda n: n >= 4 and n % 2 == 0, "an even number of coordinates, at least 4"),
    "points": (lambda n: n >= 2 and n % 2 == 0, "an even number of coordinates, at least 2"),
    "cuboid": (lambda n: n == 16, "16 coordinates"),
    "mask": (lambda n: n >= 5, "a run-length code and its box (at least 5 numbers)"),
}
_NUMBERS = (float, int)


def points(value: Any, shape_type: str) -> list[float]:
    """The coordinates as floats, as many as the shape type has."""
    if shape_type == "skeleton":
        return []  # a skeleton's geometry is its elements' (CVAT reads skeleton points as [])
    if type(value) is not list:
        raise Invalid("points: a list of numbers is required.")
    for item in value:
        if type(item) not in _NUMBERS:
            raise Invalid(f"points: numbers are required, got {item!r}.")
    result = [float(item) for item in value]
    if not math.isfinite(math.fsum(result)):
        raise Invalid("points: finite numbers are required.")
    rule, wanted = POINT_RULES[shape_type]
    if not rule(len(result)):
        raise Invalid(f"points: a {shape_type} has {wanted}, got {len(result)}.")
    return result


def attribute_value(spec: AttributeSpec, value: Any) -> str:
    """The value as text (CVAT stores text), if the spec's input type allows it."""
    if isinstance(value, bool):
        value = "true" if value else "false"
    elif isinstance(value, int | float):
        value = str(value)
    if not isinstance(value, str):
        raise Invalid(f"attributes: spec {spec.id} needs a text value, got {value!r}.")
    if len(value) > MAX_VALUE_LENGTH:
        raise Invalid(f"attributes: the value of spec {spec.id} is longer than "
                      f"{MAX_VALUE_LENGTH} characters.")
    kind = spec.input_type
    if kind == "checkbox" and value.lower() not in ("true", "false"):
        raise Invalid(f"attributes: spec {spec.id} is a checkbox; use true or false, "
                      f"not {value!r}.")
    if kind in ("radio", "select") and value not in (spec.values or []):
        raise Invalid(f"attributes: {value!r} is not one of the values of spec {spec.id}.")
    if kind == "number":
        _check_number(spec, value)
    return value


def _check_number(spec: AttributeSpec, value: str) -> None:
    try:
        result = float(value)
    except ValueError:
        raise Invalid(f"attributes: spec {spec.id} is a number; {value!r} is not.") from None
    if not math.isfinite(result):
        raise Invalid(f"attributes: spec {spec.id} needs a finite number.")
    limits = spec.values or []
    if len(limits) >= 2:
        try:
            low, high = float(limits[0]), float(limits[1])
        except ValueError:
            return  # a spec without numeric limits limits nothing
        if not low <= result <= high:
            raise Invalid(f"attributes: {value} is outside {limits[0]}..{limits[1]} "
                          f"(spec {spec.id}).")
