"""Moving a task into a project: its annotations switch to the project's labels, matched by
name (CVAT's ``TaskWriteSerializer.update``). Attribute values follow their attribute by
name; values whose attribute the project's label lacks are dropped, as CVAT drops them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from cvatcore.core.errors import ValidationFailed
from cvatcore.core.models import AttributeSpec, Job, Label, Project, Shape, Tag, Task, Track
from cvatcore.core.models.annotations import TrackedShape
from cvatcore.core.services import changes

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from cvatcore.core.services.caller import Caller


def _renames(raw: Any) -> dict[int, str]:
    """``[{"id": label id, "name": new name}, ...]``: names the task's labels will have."""
    if not isinstance(raw, list):
        raise ValidationFailed.field("labels", "Expected a list of {id, name} objects.")
    renames: dict[int, str] = {}
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("id"), int):
            raise ValidationFailed.field("labels", "Each item needs the id of a task label.")
        if isinstance(item.get("name"), str):
            renames[item["id"]] = item["name"]
    return renames


def _labels(session: Session, column: Any, owner_id: int) -> list[Label]:
    return list(session.scalars(select(Label).where(column == owner_id)))


def label_mapping(old: list[Label], new: list[Label], renames: dict[int, str]) -> dict[int, int]:
    """Old label id -> new label id; a 400 naming every label that finds no match."""
    by_id = {lb.id: lb for lb in old}
    new_by_id = {lb.id: lb for lb in new}
    top = {lb.name: lb.id for lb in new if lb.parent_id is None}
    sub = {(new_by_id[lb.parent_id].name, lb.name): lb.id for lb in new
           if lb.parent_id is not None and lb.parent_id in new_by_id}
    mapping, missing = {}, []
    for label in old:
        name = renames.get(label.id, label.name)
        if label.parent_id is None:
            target = top.get(name)
        else:
            parent = by_id[label.parent_id]
            target = sub.get((renames.get(parent.id, parent.name), name))
        if target is None:
            missing.append(name)
        else:
            mapping[label.id] = target
    if missing:
        raise ValidationFailed.field(
            "labels", "Every label of the task must match a label of the target project by "
            f"name; no match for: {', '.join(sorted(set(missing)))}."
        )
    return mapping


def _spec_mapping(session: Session, mapping: dict[int, int]) -> dict[int, int]:
    """Old attribute spec id -> the new label's spec of the same name."""
    specs = list(session.scalars(select(AttributeSpec).where(
        AttributeSpec.label_id.in_(list(mapping) + list(mapping.values()))
    )))
    new = {(s.label_id, s.name): s.id for s in specs}
    result = {}
    for spec in specs:
        target = mapping.get(spec.label_id)
        if target is not None and (target, spec.name) in new:
            result[spec.id] = new[(target, spec.name)]
    return result


def _remap_attributes(values: list[dict[str, Any]], specs: dict[int, int]) -> list[Any]:
    return [{**v, "spec_id": specs[v["spec_id"]]} for v in values or []
            if v.get("spec_id") in specs]


def _rewrite(session: Session, task: Task, mapping: dict[int, int],
             specs: dict[int, int]) -> None:
    jobs = select(Job.id).where(Job.task_id == task.id)
    for model in (Tag, Shape, Track):
        rows = session.execute(select(model.id, model.label_id, model.attributes).where(
            model.job_id.in_(jobs), model.label_id.in_(list(mapping))
        )).all()
        if rows:
            session.execute(update(model), [
                {"id": rid, "label_id": mapping[lid], "attributes": _remap_attributes(a, specs)}
                for rid, lid, a in rows
            ])
    tracks = select(Track.id).where(Track.job_id.in_(jobs))
    shapes = session.execute(select(TrackedShape.id, TrackedShape.attributes).where(
        TrackedShape.track_id.in_(tracks)
    )).all()
    changed = [{"id": sid, "attributes": _remap_attributes(a, specs)} for sid, a in shapes if a]
    if changed:
        session.execute(update(TrackedShape), changed)


def move_task_labels(caller: Caller, task: Task, old: Project | None, new: Project,
                     renames_raw: Any) -> None:
    session = caller.session
    if old is not None:
        old_labels = _labels(session, Label.project_id, old.id)
    else:
        old_labels = _labels(session, Label.task_id, task.id)
    mapping = label_mapping(old_labels, _labels(session, Label.project_id, new.id),
                            _renames(renames_raw))
    if mapping:
        session.flush()
        _rewrite(session, task, mapping, _spec_mapping(session, mapping))
    if old is None:
        for label in old_labels:
            if label.parent_id is None:
                changes.deleted(caller, "label", label, org_id=task.organization_id)
                session.delete(label)
        session.flush()
