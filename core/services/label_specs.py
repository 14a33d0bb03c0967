"""Label and attribute definitions as clients send them (CVAT's ``PatchedLabelRequest``,
``SublabelRequest``, ``AttributeRequest``), checked before anything is written.

Every problem is collected and reported at once, as ``{"labels": ["labels[1].name: ..."]}``,
so a client learns which item and which field is wrong.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

LABEL_TYPES = (
    "any", "cuboid", "ellipse", "mask", "points", "polygon", "polyline", "rectangle",
    "skeleton", "interval", "tag",
)
INPUT_TYPES = ("checkbox", "radio", "number", "text", "select")
NAME_LIMIT = 64
COLOR_LIMIT = 8
DEFAULT_LIMIT = 128
VALUE_LIMIT = 200


@dataclass
class AttributeIn:
    id: int | None = None
    name: str | None = None
    mutable: bool | None = None
    input_type: str | None = None
    values: list[str] | None = None
    default_value: str | None = None
    deleted: bool = False


@dataclass
class LabelIn:
    id: int | None = None
    name: str | None = None
    color: str | None = None
    type: str | None = None
    svg: str | None = None
    attributes: list[AttributeIn] = field(default_factory=list)
    sublabels: list[LabelIn] | None = None
    deleted: bool = False


class Problems:
    """Collects ``path: message`` lines."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, path: str, message: str) -> None:
        self.lines.append(f"{path}: {message}")


def parse_labels(value: Any, problems: Problems, path: str = "labels") -> list[LabelIn]:
    if not isinstance(value, list):
        problems.add(path, "Expected a list of labels.")
        return []
    # Unique names are checked by the writer, against the labels already stored too.
    return [parse_label(item, problems, f"{path}[{i}]") for i, item in enumerate(value)]


def _check_unique(names: list[str], problems: Problems, path: str, what: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            problems.add(path, f"The {what} name {name!r} is used more than once.")
        seen.add(name)


def _integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**31


def parse_label(item: Any, problems: Problems, path: str, sublabel: bool = False) -> LabelIn:
    if not isinstance(item, dict):
        problems.add(path, "Expected a label object.")
        return LabelIn()
    label = LabelIn()
    if item.get("id") is not None:
        if not _integer(item["id"]):
            problems.add(f"{path}.id", "A valid label id is required.")
        else:
            label.id = item["id"]
    label.deleted = bool(item.get("deleted", False)) and not sublabel
    if label.deleted and label.id is None:
        problems.add(path, "A deleted label must have an id.")
    if "name" in item:
        label.name = _text(item["name"], problems, f"{path}.name", NAME_LIMIT, min_length=1)
        if label.name is not None:
            label.name = label.name.strip() or None
            if label.name is None:
                problems.add(f"{path}.name", "This field may not be blank.")
    elif label.id is None:
        problems.add(f"{path}.name", "This field is required.")
    if item.get("color") not in (None, ""):
        label.color = _text(item["color"], problems, f"{path}.color", COLOR_LIMIT)
    if item.get("type") is not None:
        if item["type"] not in LABEL_TYPES:
            problems.add(f"{path}.type", f"{item['type']!r} is not a valid choice; use one of "
                         f"{', '.join(LABEL_TYPES)}.")
        else:
            label.type = item["type"]
    if item.get("attributes") is not None:
        label.attributes = parse_attributes(item["attributes"], problems, f"{path}.attributes")
    if not sublabel:
        _parse_skeleton(item, label, problems, path)
    return label


def _parse_skeleton(item: dict[str, Any], label: LabelIn, problems: Problems, path: str) -> None:
    if item.get("svg") not in (None, ""):
        label.svg = _text(item["svg"], problems, f"{path}.svg", 10**6)
    subs = item.get("sublabels")
    if subs:
        if label.type != "skeleton":
            problems.add(f"{path}.sublabels", "Only skeleton labels have sublabels.")
            return
        if not isinstance(subs, list):
            problems.add(f"{path}.sublabels", "Expected a list of labels.")
            return
        label.sublabels = [
            parse_label(s, problems, f"{path}.sublabels[{i}]", sublabel=True)
            for i, s in enumerate(subs)
        ]
        for i, sub in enumerate(label.sublabels):
            if sub.type == "skeleton":
                problems.add(f"{path}.sublabels[{i}].type", "A skeleton cannot nest skeletons.")
        _check_unique([s.name for s in label.sublabels if s.name], problems,
                      f"{path}.sublabels", "sublabel")
    elif label.type == "skeleton" and label.id is None and not label.deleted:
        problems.add(f"{path}.sublabels", "A skeleton needs at least one sublabel.")


def _text(value: Any, problems: Problems, path: str, limit: int,
          min_length: int = 0) -> str | None:
    if not isinstance(value, str):
        problems.add(path, "A string is required.")
        return None
    if not min_length <= len(value) <= limit:
        problems.add(path, f"Ensure this field has {min_length} to {limit} characters.")
        return None
    return value


def parse_attributes(value: Any, problems: Problems, path: str) -> list[AttributeIn]:
    if not isinstance(value, list):
        problems.add(path, "Expected a list of attributes.")
        return []
    attrs = [parse_attribute(a, problems, f"{path}[{i}]") for i, a in enumerate(value)]
    _check_unique([a.name for a in attrs if a.name and not a.deleted], problems, path,
                  "attribute")
    return attrs


def parse_attribute(item: Any, problems: Problems, path: str) -> AttributeIn:
    if not isinstance(item, dict):
        problems.add(path, "Expected an attribute object.")
        return AttributeIn()
    attr = AttributeIn(deleted=bool(item.get("deleted", False)))
    if item.get("id") is not None:
        if not _integer(item["id"]):
            problems.add(f"{path}.id", "A valid attribute id is required.")
        else:
            attr.id = item["id"]
    if attr.deleted and attr.id is None:
        problems.add(path, "A deleted attribute must have an id.")
    creating = attr.id is None
    if "name" in item or creating:
        attr.name = _text(item.get("name"), problems, f"{path}.name", NAME_LIMIT, min_length=1)
    if "mutable" in item:
        if not isinstance(item["mutable"], bool):
            problems.add(f"{path}.mutable", "Must be true or false.")
        attr.mutable = item["mutable"] is True
    if "input_type" in item or creating:
        if item.get("input_type") not in INPUT_TYPES:
            problems.add(f"{path}.input_type", f"{item.get('input_type')!r} is not a valid "
                         f"choice; use one of {', '.join(INPUT_TYPES)}.")
        else:
            attr.input_type = item["input_type"]
    if "values" in item or creating:
        attr.values = _values(item.get("values"), problems, f"{path}.values")
    if item.get("default_value") is not None:
        attr.default_value = _text(item["default_value"], problems, f"{path}.default_value",
                                   DEFAULT_LIMIT)
    return attr


def _values(value: Any, problems: Problems, path: str) -> list[str] | None:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.add(path, "Expected a list of strings.")
        return None
    if any(len(v) > VALUE_LIMIT for v in value):
        problems.add(path, f"Each value must have at most {VALUE_LIMIT} characters.")
        return None
    return list(value)


def finish_attribute(attr: AttributeIn, problems: Problems, path: str) -> None:
    """Check the values against the input type, once the final type and values are known
    (a PATCH may change only one of them), and choose the default value when none is given.

    number: ``[min, max, step]`` (or one ``"min;max;step"`` string), numbers with min <= max
    and step > 0; checkbox: ``"true"``/``"false"`` only; select and radio: a value at least."""
    kind, values = attr.input_type, attr.values or []
    if kind == "number":
        if len(values) == 1 and values[0].count(";") == 2:
            values = values[0].split(";")
        numbers = _numbers(values)
        if numbers is None:
            problems.add(f"{path}.values", "A number attribute needs three numbers: min, max "
                         "and step (as [\"0\", \"10\", \"1\"] or [\"0;10;1\"]).")
            return
        low, high, step = numbers
        if low > high or step <= 0:
            problems.add(f"{path}.values", "A number attribute needs min <= max and step > 0.")
            return
        attr.values = values
    elif kind == "checkbox":
        values = values or ["false"]
        if any(v not in ("true", "false") for v in values):
            problems.add(f"{path}.values", "A checkbox attribute's values are \"true\" "
                         "or \"false\".")
            return
        attr.values = values
    elif kind in ("select", "radio") and not values:
        problems.add(f"{path}.values", f"A {kind} attribute needs at least one value.")
        return
    _finish_default(attr, problems, path)


def _numbers(values: list[str]) -> tuple[float, float, float] | None:
    if len(values) != 3:
        return None
    try:
        low, high, step = (float(v) for v in values)
    except ValueError:
        return None
    if not all(math.isfinite(n) for n in (low, high, step)):
        return None
    return low, high, step


def _finish_default(attr: AttributeIn, problems: Problems, path: str) -> None:
    values = attr.values or []
    default = attr.default_value
    if default in (None, ""):
        attr.default_value = values[0] if values and attr.input_type != "text" else (
            values[0] if values else "")
        return
    if attr.input_type in ("select", "radio", "checkbox") and default not in values:
        if attr.input_type != "checkbox" or default not in ("true", "false"):
            problems.add(f"{path}.default_value", f"{default!r} is not one of the values.")
    elif attr.input_type == "number":
        numbers = _numbers(values)
        try:
            number = float(default)
        except ValueError:
            number = math.nan
        if numbers is None or not numbers[0] <= number <= numbers[1]:
            problems.add(f"{path}.default_value", f"{default!r} is not a number in the range.")
