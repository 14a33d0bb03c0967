"""Imported annotations (label and attribute *names*, ``cvatcore.hooks.datasets``) matched
to the task's ids and checked as the annotation services check a body, a batch at a time,
remembering where each item came from so the services' messages ("shapes[3]: ...") can name
the file and line instead."""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterator
from typing import Any

from cvatcore.core.errors import ValidationFailed
from cvatcore.core.models import Task
from cvatcore.core.services import labels
from cvatcore.core.services.annotations_validate import Checker, Scope
from cvatcore.core.services.annotations_values import MAX_INT, SOURCES, Invalid
from cvatcore.core.services.caller import Caller
from cvatcore.hooks.datasets import DatasetFormatError, ImportedAnnotations

Row = dict[str, Any]
#: Annotations checked and written at a time: memory follows this, not the file.
BATCH = 5000
SHAPE_KEYS = ("type", "frame", "points", "occluded", "outside", "z_order", "rotation")


class Resolver:
    def __init__(self, caller: Caller, task: Task, filename: str) -> None:
        self.filename = filename
        index = labels.label_index(caller.session, task)
        self.top: dict[str, int] = {}
        self.sub: dict[tuple[int, str], int] = {}
        self.specs: dict[int, dict[str, Any]] = {}
        for label_id, (label, specs) in index.items():
            if label.parent_id is None:
                self.top[label.name] = label_id
            else:
                self.sub[(label.parent_id, label.name)] = label_id
            self.specs[label_id] = {spec.name: spec for spec in specs.values()}
        self.where: dict[str, list[str]] = {"tags": [], "shapes": [], "tracks": []}

    def _where(self, item: Row) -> str:
        return str(item.get("where") or self.filename)

    def _label(self, item: Row, parent: int | None) -> int:
        name = str(item.get("label", ""))
        found = self.top.get(name) if parent is None else self.sub.get((parent, name))
        if found is None:
            known = sorted(self.top) if parent is None else \
                sorted(n for p, n in self.sub if p == parent)
            raise DatasetFormatError(f"{self._where(item)}: unknown label {name!r} (the task "
                                     f"has: {', '.join(known) or 'none'})")
        return found

    def _attrs(self, item: Row, label_id: int, mutable: bool | None) -> list[Row]:
        out = []
        specs = self.specs.get(label_id, {})
        for name, value in (item.get("attributes") or {}).items():
            spec = specs.get(name)
            if spec is None:
                raise DatasetFormatError(f"{self._where(item)}: unknown attribute {name!r} of "
                                         f"label {item.get('label')!r}")
            if mutable is None or spec.mutable == mutable:
                out.append({"spec_id": spec.id, "value": str(value)})
        return out

    def _shape(self, item: Row, parent: int | None, mutable: bool | None = None) -> Row:
        label_id = self._label(item, parent)
        row = {k: item[k] for k in SHAPE_KEYS if k in item}
        row.update(label_id=label_id, attributes=self._attrs(item, label_id, mutable))
        if parent is None and mutable is None:
            row.update(group=int(item.get("group", 0) or 0),
                       source=item.get("source", "file") or "file")
        if item.get("elements"):
            row["elements"] = [self._shape(e, label_id, mutable) for e in item["elements"]]
        return row

    def _track(self, item: Row, parent: int | None) -> Row:
        label_id = self._label(item, parent)
        shapes = [s for s in item.get("shapes", []) if s.get("keyframe", True)]
        merged = {**item.get("attributes", {})}
        for s in shapes:
            merged.update(s.get("attributes", {}))
        row: Row = {"label_id": label_id, "frame": min((s["frame"] for s in shapes), default=0),
                    "attributes": self._attrs({**item, "attributes": merged}, label_id, False),
                    "shapes": [self._shape({**s, "label": item["label"]}, parent, True)
                               for s in shapes]}
        for shape in row["shapes"]:
            shape.pop("label_id", None)
        if parent is None:
            row.update(group=int(item.get("group", 0) or 0),
                       source=item.get("source", "file") or "file")
            row["elements"] = [self._track(e, label_id) for e in item.get("elements", [])]
        return row

    def _tag(self, item: Row) -> Row:
        label_id = self._label(item, None)
        return {"frame": item["frame"], "label_id": label_id,
                "group": int(item.get("group", 0) or 0),
                "source": item.get("source", "file") or "file",
                "attributes": self._attrs(item, label_id, None)}

    def _items(self, imported: ImportedAnnotations) -> Iterator[tuple[str, Row]]:
        return itertools.chain((("tags", i) for i in imported.tags),
                               (("shapes", i) for i in imported.shapes),
                               (("tracks", i) for i in imported.tracks), imported.stream)

    def rows(self, imported: ImportedAnnotations, scope: Scope, size: int | None = None
             ) -> Iterator[dict[str, list[Row]]]:
        """The imported annotations matched and checked, as rows to write (what
        ``check_body`` makes of a body), ``size`` (``BATCH``) items at a time, in file
        order; a batch with a bad item raises ``ValidationFailed`` (``explain`` turns it
        into file and line).

        A shape as the built-in readers type it (a box, polygon, polyline or points of
        floats, flags as bools) goes from the file's item to its row in one step
        (``typed_shape``); anything else is made a body item and checked in full."""
        size = size or BATCH
        make = {"tags": self._tag, "shapes": lambda i: self._shape(i, None),
                "tracks": lambda i: self._track(i, None)}
        items = self._items(imported)
        while True:
            checker = Checker(scope)
            full = {"tags": checker.tag, "shapes": checker.shape, "tracks": checker.track}
            out: dict[str, list[Row]] = {"tags": [], "shapes": [], "tracks": []}
            self.where = where = {"tags": [], "shapes": [], "tracks": []}
            for kind, item in itertools.islice(items, size):
                where[kind].append(self._where(item))
                try:
                    row = None
                    if kind == "shapes":
                        label_id = self._label(item, None)
                        row = typed_shape(checker, item, label_id,
                                          self._attrs(item, label_id, None))
                    out[kind].append(row if row is not None else full[kind](make[kind](item)))
                except Invalid as exc:
                    checker.errors.add(kind, f"{kind}[{len(where[kind]) - 1}]", str(exc))
            if not any(where.values()):
                return
            checker.errors.raise_if_any()
            yield out

    def explain(self, exc: ValidationFailed) -> str:
        """The services' 400 as one message, ``shapes[3]`` replaced by the file and line."""
        detail = exc.body()
        messages = []
        items = detail.items() if isinstance(detail, dict) else [("detail", detail)]
        for _key, values in items:
            for text in values if isinstance(values, list) else [values]:
                messages.append(re.sub(r"\b(tags|shapes|tracks)\[(\d+)\]", self._sub, str(text)))
        return f"{self.filename}: " + "; ".join(messages)

    def _sub(self, match: re.Match[str]) -> str:
        where = self.where.get(match.group(1), [])
        index = int(match.group(2))
        return where[index] if index < len(where) else match.group(0)


#: Plain shape types with (fewest coordinates, exact count or 0 for "even, at least").
PLAIN = {"rectangle": (4, 4), "polygon": (6, 0), "polyline": (4, 0), "points": (2, 0)}
_FLOAT_ONLY = {float}


def typed_shape(checker: Checker, item: Row, label_id: int, attributes: list[Row]
                ) -> Row | None:
    """The row ``Checker.shape`` makes of this imported shape, when it is a plain one whose
    values are already of their types (floats, bools, ints, as the built-in readers make
    them): only what a typed value can still get wrong is checked (point count, finite
    numbers, ranges, the label's kind, the frame, attribute values). ``None`` for any other
    shape: then the full check runs and gives its message."""
    get = item.get
    rule = PLAIN.get(get("type"))  # type: ignore[arg-type]
    p = get("points")
    if rule is None or type(p) is not list or get("elements") or get("rotation", 0.0) != 0:
        return None
    count = len(p)
    occluded, outside = get("occluded", False), get("outside", False)
    z_order, group = get("z_order", 0), get("group", 0) or 0
    source = get("source", "file") or "file"
    # sum() is inf or nan when a value is; a sum that overflows only sends it the long way
    if (count < rule[0] or count % 2 or (rule[1] and count != rule[1])
            or set(map(type, p)) != _FLOAT_ONLY or not math.isfinite(sum(p))
            or type(occluded) is not bool or type(outside) is not bool
            or type(z_order) is not int or not -MAX_INT <= z_order <= MAX_INT
            or type(group) is not int or not 0 <= group <= MAX_INT or source not in SOURCES):
        return None
    label = checker.label(label_id)
    if label.skeleton:
        return None
    return {"label_id": label_id, "frame": checker.frame(get("frame")), "group": group,
            "source": source, "type": item["type"], "occluded": occluded, "outside": outside,
            "z_order": z_order, "rotation": 0.0, "points": p, "score": None,
            "attributes": checker.attributes(attributes, label, None), "elements": []}
