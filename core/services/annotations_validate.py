"""Checking a ``LabeledData`` body (tags, shapes, tracks) against a task's labels and frames.

The whole body is checked before anything is written, so a bad item anywhere leaves the stored
annotations as they were. The result is plain dicts shaped like the rows to insert, nested as
the body is (skeleton elements under their shape, tracked shapes under their track).

CVAT's own server checks labels and attribute spec ids (``JobAnnotation``); this module also
checks what its UI and formats rely on: frames inside the job's segment, point counts per
shape type, attribute values allowed by the spec's input type. Frames a user deleted
(``deleted_frames``) are accepted, as in CVAT: deleting a frame hides it and keeps its
annotations, so that restoring the frame brings them back.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Container, Iterator
from dataclasses import dataclass, field
from typing import Any

from cvatcore.core.errors import ValidationFailed
from cvatcore.core.models import AttributeSpec, Label

SHAPE_TYPES = ("rectangle", "polygon", "polyline", "points", "ellipse", "cuboid", "mask",
               "skeleton")
SOURCES = ("manual", "auto", "semi-auto", "file", "consensus")
MAX_VALUE_LENGTH = 4096
MAX_INT = 2**31 - 1
MAX_ERRORS = 20  # a 50,000-shape body with one systematic mistake needs no 50,000 messages

LabelIndex = dict[int, tuple[Label, dict[int, AttributeSpec]]]


@dataclass
class Scope:
    """What a write may refer to: the task's labels and the frames it may annotate."""

    labels: LabelIndex
    frames: Container[int]
    frames_text: str  # for messages: "frames 0-9"
    # Tracked shapes may go on past the job's last frame (a track is kept whole in the job
    # where it starts), but not past the task's frames.
    track_frames: Container[int]
    track_frames_text: str


@dataclass
class Errors:
    """Messages by top-level key (``tags``, ``shapes``, ``tracks``), DRF-style."""

    by_key: dict[str, list[str]] = field(default_factory=dict)
    count: int = 0

    def add(self, key: str, where: str, message: str) -> None:
        self.count += 1
        if self.count <= MAX_ERRORS:
            self.by_key.setdefault(key, []).append(f"{where}: {message}")

    def raise_if_any(self) -> None:
        if self.count:
            if self.count > MAX_ERRORS:
                self.by_key.setdefault("detail", []).append(
                    f"{self.count} problems in all; the first {MAX_ERRORS} are listed."
                )
            raise ValidationFailed(self.by_key)


class Invalid(Exception):
    """One problem with one item, reported with the item's path."""


def _int(value: Any, name: str, minimum: int = 0, nullable: bool = False) -> int | None:
    if value is None and nullable:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid(f"{name}: a valid integer is required, got {value!r}.")
    if not minimum <= value <= MAX_INT:
        raise Invalid(f"{name}: must be between {minimum} and {MAX_INT}, got {value}.")
    return value


def _bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise Invalid(f"{name}: true or false is required, got {value!r}.")
    return value


def _float(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Invalid(f"{name}: a number is required, got {value!r}.")
    value = float(value)
    if not math.isfinite(value):
        raise Invalid(f"{name}: a finite number is required.")
    return value


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Invalid(f"{where}: a JSON object is required.")
    return value


def _list(data: dict[str, Any], key: str) -> list[Any]:
    value = data.get(key, [])
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValidationFailed.field(key, "A list is required.")
    return value


POINT_RULES: dict[str, tuple[Callable[[int], bool], str]] = {
    "rectangle": (lambda n: n == 4, "4 coordinates (x1, y1, x2, y2)"),
    "ellipse": (lambda n: n == 4, "4 coordinates (cx, cy, rx, ry)"),
    "polygon": (lambda n: n >= 6 and n % 2 == 0, "an even number of coordinates, at least 6"),
    "polyline": (lambda n: n >= 4 and n % 2 == 0, "an even number of coordinates, at least 4"),
    "points": (lambda n: n >= 2 and n % 2 == 0, "an even number of coordinates, at least 2"),
    "cuboid": (lambda n: n == 16, "16 coordinates"),
    "mask": (lambda n: n >= 5, "a run-length code and its box (at least 5 numbers)"),
}


def _points(value: Any, shape_type: str) -> list[float]:
    if shape_type == "skeleton":
        return []  # a skeleton's geometry is its elements' (CVAT reads skeleton points as [])
    if not isinstance(value, list):
        raise Invalid("points: a list of numbers is required.")
    points = []
    for number in value:
        if isinstance(number, bool) or not isinstance(number, int | float):
            raise Invalid(f"points: numbers are required, got {number!r}.")
        number = float(number)
        if not math.isfinite(number):
            raise Invalid("points: finite numbers are required.")
        points.append(number)
    rule, wanted = POINT_RULES[shape_type]
    if not rule(len(points)):
        raise Invalid(f"points: a {shape_type} has {wanted}, got {len(points)}.")
    return points


class Checker:
    """Checks items of one body against a ``Scope``; ``errors`` collects the problems."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.errors = Errors()

    # -- common parts -----------------------------------------------------------------

    def frame(self, value: Any, name: str = "frame", tracked: bool = False) -> int:
        frame = _int(value, name)
        assert frame is not None
        frames = self.scope.track_frames if tracked else self.scope.frames
        if frame not in frames:
            text = self.scope.track_frames_text if tracked else self.scope.frames_text
            raise Invalid(f"{name}: frame {frame} is outside {text}.")
        return frame

    def label(self, value: Any, parent: Label | None = None) -> Label:
        label_id = _int(value, "label_id")
        entry = self.scope.labels.get(label_id)  # type: ignore[arg-type]
        if entry is None:
            raise Invalid(f"label_id: {label_id} is not a label of this task.")
        label = entry[0]
        if parent is None and label.parent_id is not None:
            raise Invalid(f"label_id: {label_id} is a skeleton point; use it in elements.")
        if parent is not None and label.parent_id != parent.id:
            raise Invalid(f"label_id: {label_id} is not a point of skeleton {parent.id}.")
        return label

    def attributes(self, value: Any, label: Label, mutable: bool | None) -> list[dict[str, Any]]:
        """``mutable`` None accepts any spec of the label; True or False only those (tracks
        keep immutable values on the track and mutable ones on each tracked shape)."""
        if value is None:
            return []
        if not isinstance(value, list):
            raise Invalid("attributes: a list is required.")
        specs = self.scope.labels[label.id][1]
        result, seen = [], set()
        for item in value:
            item = _object(item, "attributes")
            spec_id = _int(item.get("spec_id"), "attributes.spec_id")
            spec = specs.get(spec_id)  # type: ignore[arg-type]
            if spec is None:
                raise Invalid(f"attributes: spec_id {spec_id} is not an attribute of label "
                              f"{label.id}.")
            if mutable is not None and spec.mutable != mutable:
                kind = "mutable" if spec.mutable else "immutable"
                place = "the track" if mutable is False else "a tracked shape"
                raise Invalid(f"attributes: spec_id {spec_id} is {kind}; it cannot be on {place}.")
            if spec_id in seen:
                raise Invalid(f"attributes: spec_id {spec_id} is given twice.")
            seen.add(spec_id)
            result.append({"spec_id": spec_id, "value": attribute_value(spec, item.get("value"))})
        return result

    def common(self, item: dict[str, Any], parent: Label | None = None) -> dict[str, Any]:
        label = self.label(item.get("label_id"), parent)
        source = item.get("source", "manual")
        if source not in SOURCES:
            raise Invalid(f"source: {source!r} is not one of {', '.join(SOURCES)}.")
        return {
            "label": label,
            "label_id": label.id,
            "frame": self.frame(item.get("frame")),
            "group": _int(item.get("group"), "group", nullable=True) or 0,
            "source": source,
        }

    def geometry(self, item: dict[str, Any]) -> dict[str, Any]:
        shape_type = item.get("type")
        if shape_type not in SHAPE_TYPES:
            raise Invalid(f"type: {shape_type!r} is not one of {', '.join(SHAPE_TYPES)}.")
        rotation = _float(item.get("rotation", 0.0), "rotation")
        if not 0 <= rotation <= 360:
            raise Invalid(f"rotation: must be between 0 and 360, got {rotation}.")
        return {
            "type": shape_type,
            "occluded": _bool(item.get("occluded", False), "occluded"),
            "outside": _bool(item.get("outside", False), "outside"),
            "z_order": _int(item.get("z_order", 0), "z_order", minimum=-MAX_INT),
            "rotation": rotation,
            "points": _points(item.get("points", []), shape_type),
        }

    # -- items -----------------------------------------------------------------------

    def tag(self, item: Any) -> dict[str, Any]:
        item = _object(item, "tag")
        row = self.common(item)
        label = row.pop("label")
        row["attributes"] = self.attributes(item.get("attributes"), label, None)
        return row

    def shape(self, item: Any, parent: dict[str, Any] | None = None) -> dict[str, Any]:
        item = _object(item, "shape")
        row = self.common(item, parent["label"] if parent else None)
        row.update(self.geometry(item))
        label = row["label"]
        _check_skeleton_type(row["type"], label, parent)
        if parent is not None and row["frame"] != parent["frame"]:
            raise Invalid(f"frame: an element must be on its skeleton's frame {parent['frame']}.")
        score = item.get("score")
        row["score"] = None if score is None else _score(score)
        row["attributes"] = self.attributes(item.get("attributes"), label, None)
        row["elements"] = self.elements(item, row, self.shape) if parent is None else []
        if parent is None:
            row.pop("label")
        return row

    def track(self, item: Any, parent: dict[str, Any] | None = None) -> dict[str, Any]:
        item = _object(item, "track")
        row = self.common(item, parent["label"] if parent else None)
        label = row["label"]
        row["attributes"] = self.attributes(item.get("attributes"), label, False)
        shapes = item.get("shapes")
        if not isinstance(shapes, list):
            raise Invalid("shapes: a list of tracked shapes is required.")
        row["shapes"] = sorted((self.tracked_shape(s, label, parent) for s in shapes),
                               key=lambda s: s["frame"])
        frames = [s["frame"] for s in row["shapes"]]
        if len(frames) != len(set(frames)):
            raise Invalid("shapes: two tracked shapes are on the same frame.")
        if frames and frames[0] < row["frame"]:
            # As CVAT: a track starts on its first shape's frame.
            row["frame"] = self.frame(frames[0], "shapes.frame")
        row["elements"] = self.elements(item, row, self.track) if parent is None else []
        if parent is None:
            row.pop("label")
        return row

    def tracked_shape(self, item: Any, label: Label, parent: dict[str, Any] | None) -> dict:
        item = _object(item, "shapes")
        row = self.geometry(item)
        _check_skeleton_type(row["type"], label, parent)
        row["frame"] = self.frame(item.get("frame"), "shapes.frame", tracked=True)
        row["attributes"] = self.attributes(item.get("attributes"), label, True)
        row["id"] = _int(item.get("id"), "shapes.id", nullable=True)
        return row

    def elements(self, item: dict[str, Any], row: dict[str, Any],
                 make: Callable[..., dict[str, Any]]) -> list[dict[str, Any]]:
        value = item.get("elements") or []
        if not isinstance(value, list):
            raise Invalid("elements: a list is required.")
        if row["label"].type != "skeleton":
            if value:
                raise Invalid("elements: only a skeleton has elements.")
            return []
        elements = [make(element, row) for element in value]
        for element in elements:
            element.pop("label")
        return elements


def _score(value: Any) -> float:
    score = _float(value, "score")
    if not 0 <= score <= 1:
        raise Invalid(f"score: must be between 0 and 1, got {score}.")
    return score


def _check_skeleton_type(shape_type: str, label: Label, parent: dict[str, Any] | None) -> None:
    if parent is None and (shape_type == "skeleton") != (label.type == "skeleton"):
        if shape_type == "skeleton":
            raise Invalid(f"type: label {label.id} is not a skeleton label.")
        raise Invalid(f"type: label {label.id} is a skeleton; its shapes are skeletons.")
    if parent is not None and shape_type == "skeleton":
        raise Invalid("type: a skeleton's element cannot be a skeleton.")


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
        number = float(value)
    except ValueError:
        raise Invalid(f"attributes: spec {spec.id} is a number; {value!r} is not.") from None
    if not math.isfinite(number):
        raise Invalid(f"attributes: spec {spec.id} needs a finite number.")
    bounds = spec.values or []
    if len(bounds) >= 2:
        try:
            low, high = float(bounds[0]), float(bounds[1])
        except ValueError:
            return  # a spec without numeric bounds limits nothing
        if not low <= number <= high:
            raise Invalid(f"attributes: {value} is outside {bounds[0]}..{bounds[1]} "
                          f"(spec {spec.id}).")


def _each(checker: Checker, data: dict[str, Any], key: str,
          make: Callable[[Any], dict[str, Any]]) -> Iterator[tuple[int, dict[str, Any], Any]]:
    for index, item in enumerate(_list(data, key)):
        try:
            yield index, make(item), item
        except Invalid as exc:
            checker.errors.add(key, f"{key}[{index}]", str(exc))


def check_body(scope: Scope, data: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Every tag, shape and track of ``data`` as rows to write; a 400 naming each problem."""
    _refuse_intervals(data)
    checker = Checker(scope)
    result = {
        "tags": [row for _, row, _ in _each(checker, data, "tags", checker.tag)],
        "shapes": [row for _, row, _ in _each(checker, data, "shapes", checker.shape)],
        "tracks": [row for _, row, _ in _each(checker, data, "tracks", checker.track)],
    }
    checker.errors.raise_if_any()
    return result


def _refuse_intervals(data: dict[str, Any]) -> None:
    if data.get("intervals"):
        raise ValidationFailed.field("intervals", "Interval annotations are not supported.")


def check_ids(data: dict[str, Any]) -> dict[str, list[int]]:
    """The ids of a ``PATCH ?action=delete`` body (other fields are not needed to delete)."""
    _refuse_intervals(data)
    errors = Errors()
    result: dict[str, list[int]] = {}
    for key in ("tags", "shapes", "tracks"):
        ids = []
        for index, item in enumerate(_list(data, key)):
            try:
                ids.append(_int(_object(item, key).get("id"), "id"))
            except Invalid as exc:
                errors.add(key, f"{key}[{index}]", str(exc))
        result[key] = ids  # type: ignore[assignment]
    errors.raise_if_any()
    return result


def given_ids(data: dict[str, Any], rows: dict[str, list[dict[str, Any]]]) -> None:
    """For ``PATCH ?action=update``: copy each item's (required) ``id`` onto its row, and its
    elements' ids onto theirs, so that updated annotations keep their ids."""
    errors = Errors()
    for key in ("tags", "shapes", "tracks"):
        seen: set[int] = set()
        for index, (item, row) in enumerate(zip(_list(data, key), rows[key], strict=True)):
            try:
                row["id"] = _int(item.get("id"), "id")
                if row["id"] in seen:
                    raise Invalid(f"id: {row['id']} is given twice.")
                seen.add(row["id"])
                for element, sub in zip(item.get("elements") or [], row.get("elements", []),
                                        strict=False):
                    sub["id"] = _int(element.get("id"), "elements.id", nullable=True)
            except Invalid as exc:
                errors.add(key, f"{key}[{index}]", str(exc))
    errors.raise_if_any()
