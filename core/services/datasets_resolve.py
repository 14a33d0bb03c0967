"""Imported annotations (label and attribute *names*, ``cvatcore.hooks.datasets``) as the
JSON body the annotation services take (ids), remembering where each item came from so the
services' messages ("shapes[3]: ...") can name the file and line instead."""

from __future__ import annotations

import itertools
import re
import sys
from collections.abc import Iterator
from typing import Any

from cvatcore.core.errors import ValidationFailed
from cvatcore.core.models import Task
from cvatcore.core.services import labels
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

    def batches(self, imported: ImportedAnnotations, size: int | None = None
                ) -> Iterator[dict[str, Any]]:
        """The imported annotations as bodies of at most ``size`` (``BATCH``) items, in file
        order (``explain`` names the places of the last one)."""
        size = size or BATCH
        make = {"tags": self._tag, "shapes": lambda i: self._shape(i, None),
                "tracks": lambda i: self._track(i, None)}
        items = itertools.chain((("tags", i) for i in imported.tags),
                                (("shapes", i) for i in imported.shapes),
                                (("tracks", i) for i in imported.tracks), imported.stream)
        while True:
            body: dict[str, Any] = {"version": 0, "tags": [], "shapes": [], "tracks": []}
            self.where = {"tags": [], "shapes": [], "tracks": []}
            for kind, item in itertools.islice(items, size):
                body[kind].append(make[kind](item))
                self.where[kind].append(self._where(item))
            if not any(body[k] for k in ("tags", "shapes", "tracks")):
                return
            yield body

    def body(self, imported: ImportedAnnotations) -> dict[str, Any]:
        """Everything as one body."""
        return next(self.batches(imported, sys.maxsize),
                    {"version": 0, "tags": [], "shapes": [], "tracks": []})

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
