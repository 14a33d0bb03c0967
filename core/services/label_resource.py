"""``/api/labels``: view, list, change and delete one label with CVAT's rules.

A label is judged on its owner, the project or task it belongs to, so this module sits above
the project, task and job services; writing a client's whole label list (which those services
do) is ``labels``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Select, or_, select

from cvatcore.core.errors import PermissionDenied, ValidationFailed
from cvatcore.core.iam import engine
from cvatcore.core.iam.engine import Subject
from cvatcore.core.models import Job, Label, Project, Task
from cvatcore.core.services import changes, jobs, projects, tasks
from cvatcore.core.services.context import narrow_to_context, org_context, subject
from cvatcore.core.services.label_writer import LabelWriter

if TYPE_CHECKING:
    from cvatcore.core.services.caller import Caller

# A label's owner is its task or its project (exactly one is set); the list statement
# outer-joins both.
RELATION_SQL: engine.RelationSQL = {
    "owner": lambda s: or_(Task.owner_id == s.user_id, Project.owner_id == s.user_id),
    "assignee": lambda s: or_(Task.assignee_id == s.user_id, Project.assignee_id == s.user_id),
}



def owner_of(caller: Caller, label: Label) -> Project | Task:
    """The project or task a label belongs to."""
    if label.project_id is not None:
        return projects.find(caller.session, Project, label.project_id, "Project")
    return projects.find(caller.session, Task, label.task_id, "Task")


def allowed(caller: Caller, label: Label, scope: str, owner: Project | Task | None = None) -> bool:
    """A label is judged on its owner: viewing it is viewing the owner, changing or deleting
    it is the owner's ``update:desc`` (CVAT's ``LabelPermission``)."""
    owner = owner or owner_of(caller, label)
    subj = projects.subject_in(caller, owner.organization_id)
    rels = set()
    if owner.owner_id == subj.user_id:
        rels.add("owner")
    if owner.assignee_id == subj.user_id:
        rels.add("assignee")
    return engine.allows("label", scope, subj, rels, owner.organization_id is not None)


def get(caller: Caller, label_id: int, scope: str = "view") -> Label:
    label = projects.find(caller.session, Label, label_id, "Label")
    if not allowed(caller, label, scope):
        raise PermissionDenied()
    return label


def visible_filter(subj: Subject, in_org: bool) -> ColumnElement[bool]:
    return engine.visible("label", subj, RELATION_SQL, in_org)


def _owned_by(stmt: Select[Any]) -> Select[Any]:
    return stmt.outerjoin(Task, Task.id == Label.task_id).outerjoin(
        Project, Project.id == Label.project_id
    )


def list_query(caller: Caller, q: Mapping[str, str]) -> Select[Any]:
    """Labels for ``/api/labels``: of one job, task or project (each needs the right to view
    it), or else every label the user may view in the request's context."""
    given = [k for k in ("job_id", "task_id", "project_id") if q.get(k)]
    if len(given) > 1:
        raise ValidationFailed({"detail": "job_id, task_id and project_id cannot be used "
                                "together."})
    stmt = _owned_by(select(Label))
    if given:
        return stmt.where(_parent_filter(caller, given[0], q[given[0]]))
    subj = subject(caller)
    oc = org_context(caller)
    stmt = stmt.where(visible_filter(subj, oc.kind == "organization"))
    org_column = _org_column()
    stmt = narrow_to_context(stmt, org_column, oc)
    return stmt


def _org_column() -> Any:
    from sqlalchemy import func

    return func.coalesce(Task.organization_id, Project.organization_id)


def _parent_filter(caller: Caller, name: str, raw: str) -> ColumnElement[bool]:
    try:
        parent_id = int(raw)
    except ValueError:
        raise ValidationFailed.field(name, "A valid integer is required.") from None
    if name == "project_id":
        return Label.project_id == projects.get(caller, parent_id).id
    if name == "job_id":
        job: Job = jobs.get(caller, parent_id)
        task = caller.session.get(Task, job.task_id)
    else:
        task = tasks.get(caller, parent_id)
    assert task is not None
    if task.project_id is not None:
        return Label.project_id == task.project_id
    return Label.task_id == task.id


def update(caller: Caller, label_id: int, data: dict[str, Any]) -> Label:
    """PATCH one top-level label (its name, color, type, attributes, sublabels)."""
    label = get(caller, label_id)
    owner = owner_of(caller, label)
    if not allowed(caller, label, "update", owner):
        raise PermissionDenied()
    if label.parent_id is not None:
        raise ValidationFailed({"detail": "Sublabels cannot be changed this way; send a PATCH "
                                "with the parent label's data instead."})
    if not isinstance(data, dict):
        raise ValidationFailed({"detail": "Expected a label object."})
    spec = {**data, "id": label.id}
    spec.pop("deleted", None)
    writer = _writer(caller, owner)
    writer.apply([spec], creating=False)
    caller.session.refresh(label)
    return label


def _writer(caller: Caller, owner: Project | Task) -> LabelWriter:
    if isinstance(owner, Project):
        return LabelWriter(caller, project=owner)
    return LabelWriter(caller, task=owner)


def delete(caller: Caller, label_id: int) -> None:
    label = get(caller, label_id)
    owner = owner_of(caller, label)
    if not allowed(caller, label, "delete", owner):
        raise PermissionDenied()
    if label.parent_id is not None:
        raise ValidationFailed({"detail": "Sublabels cannot be deleted this way; send a PATCH "
                                "with the parent label's data instead."})
    changes.deleted(caller, "label", label, org_id=owner.organization_id)
    caller.session.delete(label)
    caller.session.flush()

