"""Tasks: create, view, change, move between projects and delete, with CVAT's rules.

Creating a task writes the Task row and its labels only; media, segments and jobs come later,
from the data helper's background job (``POST /api/tasks/{id}/data``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy import delete as sql_delete

from cvatcore.core.bus import snapshot
from cvatcore.core.errors import NotFound, PermissionDenied, ValidationFailed
from cvatcore.core.iam import engine
from cvatcore.core.iam.engine import Subject
from cvatcore.core.models import Project, Task, TaskData
from cvatcore.core.models.base import utcnow
from cvatcore.core.services import agent_queue, changes, labels, projects
from cvatcore.core.services.context import narrow_to_context, org_context, subject
from cvatcore.core.services.fields import clean_text
from cvatcore.core.services.media_removal import schedule_media_removal
from cvatcore.core.services.projects import check_user, clean_storage, find

if TYPE_CHECKING:
    from cvatcore.core.services.caller import Caller

RELATION_SQL: engine.RelationSQL = {
    "owner": lambda s: Task.owner_id == s.user_id,
    "assignee": lambda s: Task.assignee_id == s.user_id,
    "project:owner": lambda s: Project.owner_id == s.user_id,
    "project:assignee": lambda s: Project.assignee_id == s.user_id,
}
CREATE_ONLY = {"overlap", "segment_size", "initial_replicas", "consensus_replicas"}
MAX_INT = 2**31 - 1


def relations(user_id: int, task: Task, project: Project | None) -> set[str]:
    rels = set()
    if task.owner_id == user_id:
        rels.add("owner")
    if task.assignee_id == user_id:
        rels.add("assignee")
    if project is not None:
        rels |= {f"project:{r}" for r in projects.relations(user_id, project)}
    return rels


def project_of(caller: Caller, task: Task) -> Project | None:
    return caller.session.get(Project, task.project_id) if task.project_id is not None else None


def allowed(caller: Caller, task: Task, scope: str, project: Project | None = None) -> bool:
    """Whether the user may do ``scope`` on ``task``, judged in the task's organization."""
    subj = projects.subject_in(caller, task.organization_id)
    if project is None:
        project = project_of(caller, task)
    rels = relations(subj.user_id, task, project)
    if engine.allows("task", scope, subj, rels, task.organization_id is not None):
        return True
    return scope in AGENT_SCOPES and agent_queue.serves_task(caller.session, subj.user_id,
                                                              task.id)


#: What an agent reads of a task it has a request for (cvat-reference §11.3): the task, its
#: labels, meta and chunks, with its user's rights, whoever asked for the run.
AGENT_SCOPES = ("view", "view:data", "view:metadata")


def authorize(caller: Caller, task: Task, scope: str, project: Project | None = None) -> None:
    if not allowed(caller, task, scope, project):
        raise PermissionDenied()


def get(caller: Caller, task_id: int, scope: str = "view") -> Task:
    """The task, if the user may do ``scope`` on it: 404 when there is no such task, 403 when
    it may not be seen or ``scope`` is not allowed (as CVAT, which answers 403 for both)."""
    task = find(caller.session, Task, task_id, "Task")
    authorize(caller, task, scope, project_of(caller, task))
    return task


def visible_filter(subj: Subject, in_org: bool) -> ColumnElement[bool]:
    """Tasks the subject may view; the statement must outer-join ``Project``."""
    return engine.visible("task", subj, RELATION_SQL, in_org)


def list_query(caller: Caller) -> Select[Any]:
    """Visible tasks in the request's context, with their project outer-joined."""
    subj = subject(caller)
    oc = org_context(caller)
    stmt = select(Task).outerjoin(Project, Project.id == Task.project_id)
    stmt = stmt.where(visible_filter(subj, oc.kind == "organization"))
    stmt = narrow_to_context(stmt, Task.organization_id, oc)
    return stmt


def _clean(caller: Caller, data: dict[str, Any], creating: bool) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}
    clean_text(data, clean, errors, "name", 256, required=creating, allow_blank=False,
               strip=True)
    clean_text(data, clean, errors, "bug_tracker", 2000)
    clean_text(data, clean, errors, "subset", 64)
    for name in ("overlap", "segment_size"):
        if name in data and not (creating and data[name] is None and name == "overlap"):
            value = data[name]
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_INT:
                errors[name] = ["A non-negative integer is required."]
            else:
                clean[name] = value
    for name in ("target_storage", "source_storage"):
        if name in data:
            clean[name] = clean_storage(data[name], name, errors)
    if not creating:
        for name in sorted(CREATE_ONLY & set(data)):
            errors[name] = ["This field can only be set when the task is created."]
    if "project_id" in data:
        value = data["project_id"]
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            errors["project_id"] = ["A valid integer is required."]
        clean["project_id"] = value
    if errors:
        raise ValidationFailed(errors)
    for name in ("owner_id", "assignee_id"):
        if name in data:
            clean[name] = check_user(caller, data[name], name)
    return clean


def create(caller: Caller, data: dict[str, Any]) -> Task:
    user = caller.require_user()
    clean = _clean(caller, data, creating=True)
    oc = org_context(caller)
    org_id = oc.org_id
    subj = subject(caller)
    project = None
    if clean.get("project_id") is not None:
        project = _existing_project(caller, clean["project_id"])
        rels = {f"project:{r}" for r in projects.relations(user.id, project)}
        if not engine.allows("task", "create@project", subj, rels, org_id is not None):
            raise PermissionDenied()
        if project.organization_id != org_id:
            raise ValidationFailed.field(
                "project_id", "The task and its project must be in the same organization."
            )
        if data.get("labels"):
            raise ValidationFailed.field(
                "labels", "A task in a project uses the project's labels; do not send labels."
            )
    elif not engine.allows("task", "create", subj, set(), org_id is not None):
        raise PermissionDenied()
    owner_id = projects.creator(caller, clean.pop("owner_id", None))
    task = Task(owner_id=owner_id, organization_id=org_id, **_columns(clean))
    if task.assignee_id is not None:
        task.assignee_updated_date = utcnow()
    if project is not None:
        task.dimension = project.dimension or "2d"
    caller.session.add(task)
    caller.session.flush()
    if "labels" in data and project is None:
        labels.apply(caller, data["labels"], task=task, creating=True)
    changes.created(caller, "task", task)
    return task


def _columns(clean: dict[str, Any]) -> dict[str, Any]:
    keep = {"name", "project_id", "owner_id", "assignee_id", "bug_tracker", "overlap",
            "segment_size", "subset", "target_storage", "source_storage"}
    return {k: v for k, v in clean.items() if k in keep}


def _existing_project(caller: Caller, project_id: int) -> Project:
    """The project a new task goes into; whether the user may add tasks to it is the
    ``create@project`` rule, checked next (so an existing project is a 403, not a 400)."""
    try:
        return find(caller.session, Project, project_id, "Project")
    except NotFound:
        raise ValidationFailed.field(
            "project_id", f"Project {project_id} does not exist."
        ) from None


def _target_project(caller: Caller, project_id: int) -> Project:
    try:
        return projects.get(caller, project_id)
    except (NotFound, PermissionDenied):
        raise ValidationFailed.field(
            "project_id", f"Project {project_id} does not exist or is not visible to you."
        ) from None


def update(caller: Caller, task_id: int, data: dict[str, Any]) -> Task:
    """PATCH: each changed part needs its own scope, as CVAT's ``TaskPermission``."""
    task = find(caller.session, Task, task_id, "Task")
    project = project_of(caller, task)
    authorize(caller, task, "view", project)
    for scope in _scopes(task, data):
        authorize(caller, task, scope, project)
    clean = _clean(caller, data, creating=False)
    before = snapshot(task)
    if data.get("organization_id", task.organization_id) != task.organization_id:
        raise ValidationFailed.field(
            "organization_id", "Moving a task to another organization is not supported."
        )
    target = clean.pop("project_id", None)
    moving = target is not None and target != task.project_id
    if moving:
        _move(caller, task, project, target, data.get("labels") or [])
    elif "labels" in data:
        if task.project_id is not None:
            raise ValidationFailed.field(
                "labels", "A task in a project uses the project's labels; change them there."
            )
        labels.apply(caller, data["labels"], task=task, creating=False)
    if "assignee_id" in clean and clean["assignee_id"] != task.assignee_id:
        task.assignee_updated_date = utcnow()
    for key, value in _columns(clean).items():
        setattr(task, key, value)
    task.updated_date = utcnow()
    caller.session.flush()
    changes.updated(caller, "task", task, before)
    return task


def _scopes(task: Task, data: dict[str, Any]) -> list[str]:
    """The scopes a PATCH needs, as CVAT's ``TaskPermission.get_scopes`` (from the raw body,
    before it is validated)."""
    scopes = []
    if any(k in data for k in ("name", "labels", "bug_tracker", "subset")):
        scopes.append("update:desc")
    if "owner_id" in data and data["owner_id"] != task.owner_id:
        scopes.append("update:owner")
    if "assignee_id" in data and data["assignee_id"] != task.assignee_id:
        scopes.append("update:assignee")
    if "project_id" in data and data["project_id"] != task.project_id:
        scopes.append("update:project")
    if "target_storage" in data or "source_storage" in data:
        scopes.append("update:associated_storage")
    if "organization_id" in data:
        scopes.append("update:organization")
    return scopes or ["update:desc"]


def _move(caller: Caller, task: Task, old: Project | None, project_id: int, renames: Any) -> None:
    """Move a task into a project. As CVAT: its labels must match the project's by name
    (``labels`` in the same PATCH may rename them first, by id), and ``project_id: null``
    changes nothing."""
    project = _target_project(caller, project_id)
    if project.organization_id != task.organization_id:
        raise ValidationFailed.field(
            "project_id", "The task and its project must be in the same organization."
        )
    other = caller.session.scalar(
        select(Task.dimension).where(Task.project_id == project.id, Task.id != task.id).limit(1)
    )
    if other is not None and other != task.dimension:
        raise ValidationFailed.field(
            "project_id", f"The task's dimension ({task.dimension}) differs from the other "
            f"tasks' in the project ({other})."
        )
    labels.move_to_project(caller, task, old, project, renames)
    task.project_id = project.id


def delete(caller: Caller, task_id: int) -> None:
    """Delete the task with its segments, jobs, labels, annotations and media rows (the
    database cascades); one event, for the task."""
    task = get(caller, task_id, "delete")
    changes.deleted(caller, "task", task)
    data_id = task.data_id
    caller.session.delete(task)
    caller.session.flush()
    if data_id is not None:
        caller.session.execute(sql_delete(TaskData).where(TaskData.id == data_id))
        schedule_media_removal(caller.session, [data_id])
