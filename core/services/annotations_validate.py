"""Checking a ``LabeledData`` body (tags, shapes, tracks) against a task's labels and frames.

The whole body is checked before anything is written, so a bad item anywhere leaves the stored
annotations as they were. The result is plain dicts shaped like the rows to insert, nested as
the body is (skeleton elements under their shape, tracked shapes under their track).

CVAT's own server checks labels and attribute spec ids (``JobAnnotation``), and that a track
carries immutable attributes and its shapes mutable ones; this module also checks what its UI
and formats rely on: frames inside the job's segment, point counts per shape type, attribute
values allowed by the spec's input type. Frames a user deleted (``deleted_frames``) are
accepted, as in CVAT: deleting a frame hides it and keeps its annotations, so that restoring
the frame brings them back.

Large bodies repeat themselves (the same label, frame and attribute values thousands of
times), so label, frame and attribute checks remember their answers for the body.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterator
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from cvatcore.core.errors import ValidationFailed
from cvatcore.core.services.annotations_values import (
    MAX_INT,
    SHAPE_TYPES,
    SOURCES,
    Invalid,
    attribute_value,
    boolean,
    bounded,
    integer,
    optional_integer,
    points,
)
from cvatcore.core.services.labels import LabelIndex

_SPEC_AND_VALUE = itemgetter("spec_id", "value")
MAX_ERRORS = 20  # a 50,000-shape body with one systematic mistake needs no 50,000 messages
KINDS = ("tags", "shapes", "tracks")
Row = dict[str, Any]


@dataclass
class Scope:
    """What a write may refer to: the task's labels and the frames it may annotate."""

    labels: LabelIndex
    frames: Container[int]
    frames_text: str  # for messages: "the job's frames (0-9)"
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
                    f"{self.count} problems in all; the first {MAX_ERRORS} are listed.")
            raise ValidationFailed(self.by_key)


def _object(value: Any, where: str) -> dict[str, Any]:
    if type(value) is not dict:
        raise Invalid(f"{where}: a JSON object is required.")
    return value


def _list(data: dict[str, Any], key: str) -> list[Any]:
    value = data.get(key, [])
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValidationFailed.field(key, "A list is required.")
    return value


@dataclass(frozen=True)
class _Label:
    id: int
    parent_id: int | None
    skeleton: bool


class Checker:
    """Checks the items of one body against a ``Scope``; ``errors`` collects the problems."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.errors = Errors()
        self._labels = {i: _Label(i, label.parent_id, label.type == "skeleton")
                        for i, (label, _) in scope.labels.items()}
        self._specs = {i: {s: (spec, bool(spec.mutable)) for s, spec in specs.items()}
                       for i, (_, specs) in scope.labels.items()}
        self._frames: dict[tuple[Any, bool], int] = {}
        self._attributes: dict[Any, list[Row]] = {}

    # -- common parts -----------------------------------------------------------------

    def frame(self, value: Any, name: str = "frame", tracked: bool = False) -> int:
        key = (value, tracked)
        known = self._frames.get(key) if type(value) is int else None
        if known is not None:
            return known
        frame = integer(value, name)
        frames = self.scope.track_frames if tracked else self.scope.frames
        if frame not in frames:
            text = self.scope.track_frames_text if tracked else self.scope.frames_text
            raise Invalid(f"{name}: frame {frame} is outside {text}.")
        if type(value) is int:
            self._frames[key] = frame
        return frame

    def label(self, value: Any, parent: _Label | None = None) -> _Label:
        label = self._labels.get(value) if type(value) is int else None
        if label is None:
            label_id = integer(value, "label_id")
            raise Invalid(f"label_id: {label_id} is not a label of this task.")
        if parent is None and label.parent_id is not None:
            raise Invalid(f"label_id: {label.id} is a skeleton point; use it in elements.")
        if parent is not None and label.parent_id != parent.id:
            raise Invalid(f"label_id: {label.id} is not a point of skeleton {parent.id}.")
        return label

    def attributes(self, value: Any, label: _Label, mutable: bool | None) -> list[Row]:
        """``mutable`` None accepts any spec of the label; True or False only those (a track
        keeps immutable values, each of its shapes mutable ones). Equal lists are checked
        once and share one result (results are never changed in place)."""
        if value is None:
            return []
        try:
            key = (label.id, mutable, tuple(map(_SPEC_AND_VALUE, value)))
            known = self._attributes.get(key)
        except (TypeError, KeyError):  # not a list of objects, or unhashable values
            key, known = None, None
        if known is not None:
            return known
        result = self._check_attributes(value, label, mutable)
        if key is not None:
            self._attributes[key] = result
        return result

    def _check_attributes(self, value: Any, label: _Label, mutable: bool | None) -> list[Row]:
        if not isinstance(value, list):
            raise Invalid("attributes: a list is required.")
        specs = self._specs[label.id]
        result, seen = [], set()
        for item in value:
            item = _object(item, "attributes")
            spec_id = integer(item.get("spec_id"), "attributes.spec_id")
            entry = specs.get(spec_id)
            if entry is None:
                raise Invalid(f"attributes: spec_id {spec_id} is not an attribute of label "
                              f"{label.id}.")
            spec, spec_mutable = entry
            if mutable is not None and spec_mutable != mutable:
                kind = "mutable" if spec_mutable else "immutable"
                place = "the track" if mutable is False else "a tracked shape"
                raise Invalid(f"attributes: spec_id {spec_id} is {kind}; it cannot be on {place}.")
            if spec_id in seen:
                raise Invalid(f"attributes: spec_id {spec_id} is given twice.")
            seen.add(spec_id)
            result.append({"spec_id": spec_id, "value": attribute_value(spec, item.get("value"))})
        return result

    def common(self, item: dict[str, Any], parent: _Label | None = None
               ) -> tuple[_Label, Row]:
        label = self.label(item.get("label_id"), parent)
        source = item.get("source", "manual")
        if source not in SOURCES:
            raise Invalid(f"source: {source!r} is not one of {', '.join(SOURCES)}.")
        group = item.get("group")
        return label, {
            "label_id": label.id,
            "frame": self.frame(item.get("frame")),
            "group": group if group is None or (type(group) is int and 0 <= group <= MAX_INT)
            else integer(group, "group"),
            "source": source,
        }

    def geometry(self, item: dict[str, Any], label: _Label, parent: _Label | None) -> Row:
        shape_type = item.get("type")
        if shape_type not in SHAPE_TYPES:
            raise Invalid(f"type: {shape_type!r} is not one of {', '.join(SHAPE_TYPES)}.")
        _check_skeleton_type(shape_type, label, parent)
        rotation = item.get("rotation", 0.0)
        z_order = item.get("z_order", 0)
        return {
            "type": shape_type,
            "occluded": boolean(item.get("occluded", False), "occluded"),
            "outside": boolean(item.get("outside", False), "outside"),
            "z_order": z_order if type(z_order) is int and abs(z_order) <= MAX_INT
            else integer(z_order, "z_order", minimum=-MAX_INT),
            "rotation": 0.0 if rotation == 0 and type(rotation) is not bool
            else bounded(rotation, "rotation", 0, 360),
            "points": points(item.get("points", []), shape_type),
        }

    # -- items -----------------------------------------------------------------------

    def tag(self, item: Any) -> Row:
        label, row = self.common(_object(item, "tag"))
        row["attributes"] = self.attributes(item.get("attributes"), label, None)
        return row

    def shape(self, item: Any, parent: tuple[_Label, Row] | None = None) -> Row:
        item = _object(item, "shape")
        label, row = self.common(item, parent[0] if parent else None)
        row.update(self.geometry(item, label, parent[0] if parent else None))
        if parent is not None and row["frame"] != parent[1]["frame"]:
            raise Invalid(f"frame: an element must be on its skeleton's frame "
                          f"{parent[1]['frame']}.")
        score = item.get("score")
        row["score"] = None if score is None else bounded(score, "score", 0, 1)
        row["attributes"] = self.attributes(item.get("attributes"), label, None)
        if parent is None:
            row["elements"] = self.elements(item, label, row, self.shape)
        return row

    def track(self, item: Any, parent: tuple[_Label, Row] | None = None) -> Row:
        item = _object(item, "track")
        label, row = self.common(item, parent[0] if parent else None)
        row["attributes"] = self.attributes(item.get("attributes"), label, False)
        shapes = item.get("shapes")
        if not isinstance(shapes, list):
            raise Invalid("shapes: a list of tracked shapes is required.")
        row["shapes"] = sorted(
            (self.tracked_shape(s, label, parent[0] if parent else None) for s in shapes),
            key=lambda s: s["frame"])
        frames = [s["frame"] for s in row["shapes"]]
        if len(frames) != len(set(frames)):
            raise Invalid("shapes: two tracked shapes are on the same frame.")
        if frames and frames[0] < row["frame"]:
            # As CVAT: a track starts on its first shape's frame.
            row["frame"] = self.frame(frames[0], "shapes.frame")
        if parent is None:
            row["elements"] = self.elements(item, label, row, self.track)
        return row

    def tracked_shape(self, item: Any, label: _Label, parent: _Label | None) -> Row:
        item = _object(item, "shapes")
        row = self.geometry(item, label, parent)
        row["frame"] = self.frame(item.get("frame"), "shapes.frame", tracked=True)
        row["attributes"] = self.attributes(item.get("attributes"), label, True)
        row["id"] = optional_integer(item.get("id"), "shapes.id")
        return row

    def elements(self, item: dict[str, Any], label: _Label, row: Row,
                 make: Callable[..., Row]) -> list[Row]:
        value = item.get("elements") or []
        if not isinstance(value, list):
            raise Invalid("elements: a list is required.")
        if not label.skeleton:
            if value:
                raise Invalid("elements: only a skeleton has elements.")
            return []
        return [make(element, (label, row)) for element in value]


def _check_skeleton_type(shape_type: str, label: _Label, parent: _Label | None) -> None:
    if parent is None and (shape_type == "skeleton") != label.skeleton:
        if shape_type == "skeleton":
            raise Invalid(f"type: label {label.id} is not a skeleton label.")
        raise Invalid(f"type: label {label.id} is a skeleton; its shapes are skeletons.")
    if parent is not None and shape_type == "skeleton":
        raise Invalid("type: a skeleton's element cannot be a skeleton.")


def _each(checker: Checker, data: dict[str, Any], key: str,
          make: Callable[[Any], Row]) -> Iterator[Row]:
    for index, item in enumerate(_list(data, key)):
        try:
            yield make(item)
        except Invalid as exc:
            checker.errors.add(key, f"{key}[{index}]", str(exc))


def check_body(scope: Scope, data: dict[str, Any]) -> dict[str, list[Row]]:
    """Every tag, shape and track of ``data`` as rows to write; a 400 naming each problem."""
    _refuse_intervals(data)
    checker = Checker(scope)
    result = {
        "tags": list(_each(checker, data, "tags", checker.tag)),
        "shapes": list(_each(checker, data, "shapes", checker.shape)),
        "tracks": list(_each(checker, data, "tracks", checker.track)),
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
    for key in KINDS:
        ids = []
        for index, item in enumerate(_list(data, key)):
            try:
                ids.append(integer(_object(item, key).get("id"), "id"))
            except Invalid as exc:
                errors.add(key, f"{key}[{index}]", str(exc))
        result[key] = ids
    errors.raise_if_any()
    return result


def given_ids(data: dict[str, Any], rows: dict[str, list[Row]]) -> None:
    """For ``PATCH ?action=update``: copy each item's (required) ``id`` onto its row, and its
    elements' ids onto theirs, so that updated annotations keep their ids."""
    errors = Errors()
    for key in KINDS:
        seen: set[int] = set()
        for index, (item, row) in enumerate(zip(_list(data, key), rows[key], strict=True)):
            try:
                row["id"] = integer(item.get("id"), "id")
                if row["id"] in seen:
                    raise Invalid(f"id: {row['id']} is given twice.")
                seen.add(row["id"])
                for element, sub in zip(item.get("elements") or [], row.get("elements", []),
                                        strict=False):
                    sub["id"] = optional_integer(element.get("id"), "elements.id")
            except Invalid as exc:
                errors.add(key, f"{key}[{index}]", str(exc))
    errors.raise_if_any()
