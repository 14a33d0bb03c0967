"""Writing a client's label list onto a project or a task: check everything first (ids that
belong to the owner, unique names, attribute values), then write, so a bad list changes
nothing; one event per label row created, changed or deleted.
"""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from cvatcore.core.bus import snapshot
from cvatcore.core.errors import ValidationFailed
from cvatcore.core.models import AttributeSpec, Label, Project, Task
from cvatcore.core.services import changes
from cvatcore.core.services.label_specs import (
    AttributeIn,
    LabelIn,
    Problems,
    finish_attribute,
    parse_labels,
)

if TYPE_CHECKING:
    from cvatcore.core.services.caller import Caller

# Distinct, readable colours handed out in order to labels created without one (CVAT picks
# from a predefined list too, then from the name's hash).
PALETTE = (
    "#33ddff", "#fa3253", "#34d1b7", "#ff007c", "#ff6037", "#ddff33", "#24b353", "#b83df5",
    "#66ff66", "#32b7fa", "#ffcc33", "#83e070", "#fafa37", "#5986b3", "#8c78f0", "#ff6a4d",
    "#f078f0", "#2a7dd1", "#b25050", "#cc3366", "#cc9933", "#aaf0d1", "#ff00cc", "#3df53d",
    "#fa32b7", "#3d3df5", "#733380", "#f59331", "#116b7f", "#c11b17",
)


def pick_color(name: str, used: set[str]) -> str:
    """The first palette colour not in use; then one derived from the name."""
    for color in PALETTE:
        if color not in used:
            return color
    digest = hashlib.blake2s(name.encode(), digest_size=3).hexdigest()
    return f"#{digest}"


class LabelWriter:
    """Applies label lists to one owner (a project or a task without a project)."""

    def __init__(self, caller: Caller, *, project: Project | None = None,
                 task: Task | None = None) -> None:
        self.caller, self.session = caller, caller.session
        self.project, self.task = project, task
        owner = project if project is not None else task
        assert owner is not None
        self.org_id = owner.organization_id
        column = Label.project_id if project is not None else Label.task_id
        rows = list(self.session.scalars(select(Label).where(column == owner.id)))
        self.labels = {lb.id: lb for lb in rows}
        self.attrs: dict[int, dict[int, AttributeSpec]] = {lb.id: {} for lb in rows}
        if rows:
            for spec in self.session.scalars(
                select(AttributeSpec).where(AttributeSpec.label_id.in_(list(self.labels)))
            ):
                self.attrs[spec.label_id][spec.id] = spec

    # -- checking ---------------------------------------------------------------------------

    def apply(self, raw: Any, creating: bool) -> None:
        problems = Problems()
        specs = parse_labels(raw, problems)
        if creating:
            specs = [_without_ids(s) for s in specs if not s.deleted]
        for i, spec in enumerate(specs):
            self._check(spec, problems, f"labels[{i}]")
        self._check_names(specs, problems)
        if problems.lines:
            raise ValidationFailed({"labels": problems.lines})
        run: list[LabelIn] = []  # new plain labels in a row: written together, in order
        for spec in specs:
            if _plain_new(spec):
                run.append(spec)
                continue
            self._write_new(run)
            run = []
            self._write(spec)
        self._write_new(run)
        self.session.flush()

    def _write_new(self, specs: list[LabelIn]) -> None:
        """New labels without sublabels (most of a long list) in a few bulk inserts instead
        of several statements each: a 1,000-label project holds SQLite's write lock for a
        fraction of a second, not seconds."""
        if not specs:
            return
        used = {lb.color for lb in self.labels.values()}
        labels = []
        for spec in specs:
            color = spec.color or pick_color(spec.name or "", used)
            used.add(color)
            labels.append(Label(
                name=spec.name, type=spec.type or "any", parent_id=None, color=color, svg="",
                project_id=self.project.id if self.project is not None else None,
                task_id=self.task.id if self.task is not None else None,
            ))
        for start in range(0, len(labels), WRITE_BATCH):
            self.session.add_all(labels[start:start + WRITE_BATCH])
            self.session.flush()
        for label in labels:
            self.labels[label.id] = label
            self.attrs[label.id] = {}
        for start in range(0, len(labels), WRITE_BATCH):
            for label, spec in zip(labels[start:start + WRITE_BATCH],
                                   specs[start:start + WRITE_BATCH], strict=True):
                self._add_attributes(label, spec.attributes)
            self.session.flush()
        for label in labels:
            changes.created(self.caller, "label", label, org_id=self.org_id)

    def _check(self, spec: LabelIn, problems: Problems, path: str,
               parent_id: int | None = None) -> None:
        """``parent_id``: the skeleton of a sublabel (0 for one not yet created)."""
        existing = None
        if spec.id is not None:
            existing = self.labels.get(spec.id)
            if existing is None or existing.parent_id != parent_id:
                owner = "skeleton" if parent_id is not None else (
                    "project" if self.project else "task")
                problems.add(f"{path}.id", f"Label {spec.id} is not a label of this {owner}.")
                return
        if spec.deleted:
            return
        kind = spec.type or (existing.type if existing else "any")
        if existing is not None and "skeleton" in (existing.type, kind) and kind != existing.type:
            problems.add(f"{path}.type", "A label cannot become or stop being a skeleton.")
        self._check_attributes(spec, existing, problems, path)
        for i, sub in enumerate(spec.sublabels or []):
            self._check(sub, problems, f"{path}.sublabels[{i}]",
                        existing.id if existing is not None else 0)

    def _check_attributes(self, spec: LabelIn, existing: Label | None, problems: Problems,
                          path: str) -> None:
        current = self.attrs.get(existing.id, {}) if existing is not None else {}
        names = {a.id: a.name for a in current.values()}
        for i, attr in enumerate(spec.attributes):
            apath = f"{path}.attributes[{i}]"
            if attr.id is not None:
                old = current.get(attr.id)
                if old is None:
                    problems.add(f"{apath}.id", f"Attribute {attr.id} is not an attribute of "
                                 "this label.")
                    continue
                if attr.deleted:
                    names.pop(attr.id, None)
                    continue
                _merge(attr, old)
                names[attr.id] = attr.name
            if attr.input_type is not None:
                finish_attribute(attr, problems, apath)
        new_names = [a.name for a in spec.attributes if a.id is None and not a.deleted]
        final = [n for n in names.values() if n] + [n for n in new_names if n]
        if len(final) != len(set(final)):
            problems.add(f"{path}.attributes", "Attribute names must be unique in a label.")

    def _check_names(self, specs: list[LabelIn], problems: Problems) -> None:
        """Top-level label names stay unique across the owner, and sublabel names across
        their skeleton (counting labels the list does not mention)."""
        names = {lb.id: lb.name for lb in self.labels.values() if lb.parent_id is None}
        new: list[str] = []
        for spec in specs:
            if spec.id is not None and spec.id in names:
                if spec.deleted:
                    names.pop(spec.id)
                elif spec.name:
                    names[spec.id] = spec.name
            elif spec.id is None and spec.name:
                new.append(spec.name)
            if spec.sublabels and spec.id in self.labels:
                self._check_sublabel_names(spec, problems)
        final = list(names.values()) + new
        duplicates = sorted({n for n in final if final.count(n) > 1})
        for name in duplicates:
            problems.add("labels", f"A label named {name!r} already exists; label names must "
                         "be unique.")

    def _check_sublabel_names(self, spec: LabelIn, problems: Problems) -> None:
        subs = {lb.id: lb.name for lb in self.labels.values() if lb.parent_id == spec.id}
        for sub in spec.sublabels or []:
            if sub.id in subs and sub.name:
                subs[sub.id] = sub.name
        final = list(subs.values()) + [s.name for s in spec.sublabels or [] if s.id is None]
        if len(final) != len(set(final)):
            problems.add("labels", f"Sublabel names of {spec.name or spec.id!r} must be unique.")

    # -- writing ----------------------------------------------------------------------------

    def _write(self, spec: LabelIn, parent: Label | None = None) -> None:
        if spec.deleted:
            label = self.labels[spec.id]  # type: ignore[index]
            changes.deleted(self.caller, "label", label, org_id=self.org_id)
            self.session.delete(label)
            self.session.flush()
            return
        label = self.labels.get(spec.id) if spec.id is not None else None
        before = snapshot(label) if label is not None else None
        if label is None:
            label = self._new_label(spec, parent)
        else:
            label.name = spec.name or label.name
            label.type = spec.type or label.type
            if spec.color:
                label.color = spec.color
        self._write_attributes(label, spec.attributes)
        for sub in spec.sublabels or []:
            self._write(sub, label)
        if spec.svg is not None:
            label.svg = _svg_with_ids(spec.svg, label, self.labels)
        self.session.flush()
        if before is None:
            changes.created(self.caller, "label", label, org_id=self.org_id)
        else:
            changes.updated(self.caller, "label", label, before, org_id=self.org_id)

    def _new_label(self, spec: LabelIn, parent: Label | None) -> Label:
        used = {lb.color for lb in self.labels.values()}
        label = Label(
            name=spec.name, type=spec.type or "any", parent_id=parent.id if parent else None,
            color=spec.color or pick_color(spec.name or "", used), svg="",
            project_id=self.project.id if self.project is not None else None,
            task_id=self.task.id if self.task is not None else None,
        )
        self.session.add(label)
        self.session.flush()
        self.labels[label.id] = label
        self.attrs[label.id] = {}
        return label

    def _write_attributes(self, label: Label, attrs: list[AttributeIn]) -> None:
        current = self.attrs[label.id]
        for attr in attrs:
            if attr.id is not None and attr.deleted:
                self.session.delete(current.pop(attr.id))
                continue
            spec = current.get(attr.id) if attr.id is not None else None
            if spec is None:
                spec = AttributeSpec(label_id=label.id)
                self.session.add(spec)
            _fill(spec, attr)
        self.session.flush()

    def _add_attributes(self, label: Label, attrs: list[AttributeIn]) -> None:
        for attr in attrs:
            if not attr.deleted:
                spec = AttributeSpec(label_id=label.id)
                _fill(spec, attr)
                self.session.add(spec)


#: Rows per flush when writing a long label list.
WRITE_BATCH = 500


def _plain_new(spec: LabelIn) -> bool:
    return spec.id is None and not spec.deleted and not spec.sublabels and spec.svg is None


def _fill(spec: AttributeSpec, attr: AttributeIn) -> None:
    spec.name = attr.name or spec.name
    spec.mutable = bool(attr.mutable) if attr.mutable is not None else bool(spec.mutable)
    spec.input_type = attr.input_type or spec.input_type
    spec.values = attr.values if attr.values is not None else spec.values
    spec.default_value = attr.default_value or ""


def _merge(attr: AttributeIn, old: AttributeSpec) -> None:
    """Fill what a PATCH left out from the stored attribute."""
    attr.name = attr.name or old.name
    attr.input_type = attr.input_type or old.input_type
    if attr.values is None:
        attr.values = list(old.values or [])
    if attr.mutable is None:
        attr.mutable = old.mutable
    if attr.default_value is None:
        attr.default_value = old.default_value


def _without_ids(spec: LabelIn) -> LabelIn:
    """On create, ids in the list are ignored (clients copy labels from elsewhere)."""
    spec.id = None
    for attr in spec.attributes:
        attr.id = None
    spec.attributes = [a for a in spec.attributes if not a.deleted]
    spec.sublabels = [_without_ids(s) for s in spec.sublabels] if spec.sublabels else None
    return spec


_NAME_REF = re.compile(r'data-label-name="([^"]*)"')


def _svg_with_ids(svg: str, skeleton: Label, labels: dict[int, Label]) -> str:
    """CVAT's skeleton SVG names its points by sublabel id; clients may send names."""
    by_name = {lb.name: lb.id for lb in labels.values() if lb.parent_id == skeleton.id}

    def replace(match: re.Match[str]) -> str:
        label_id = by_name.get(match.group(1))
        return f'data-label-id="{label_id}"' if label_id is not None else match.group(0)

    return _NAME_REF.sub(replace, svg)
