"""Annotation jobs: view, change stage/state/assignee, delete (ground-truth jobs only).

Jobs are made with their segments by the data helper (``services/segments.py``) once a task's
frames are known. A job is judged in its task's organization, with the relations of CVAT's
``jobs.rego``: its own assignee, and its task's and project's owner and assignee.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Select, select, true

from cvatcore.core.bus import snapshot
from cvatcore.core.errors import PermissionDenied, ValidationFailed
from cvatcore.core.iam import engine
from cvatcore.core.iam.engine import Subject
from cvatcore.core.models import Job, Project, Task
from cvatcore.core.models.base import utcnow
from cvatcore.core.services import changes, projects
from cvatcore.core.services.context import narrow_to_context, org_context, subject
from cvatcore.core.services.projects import check_user, find

if TYPE_CHECKING:
    from cvatcore.core.services.caller import Caller

STAGES = ("annotation", "validation", "acceptance")
STATES = ("new", "in progress", "completed", "rejected")
TYPES = ("annotation", "ground_truth", "replica")

RELATION_SQL: engine.RelationSQL = {
    "assignee": lambda s: Job.assignee_id == s.user_id,
    "task:owner": lambda s: Task.owner_id == s.user_id,
    "task:assignee": lambda s: Task.assignee_id == s.user_id,
    "project:owner": lambda s: Project.owner_id == s.user_id,
    "project:assignee": lambda s: Project.assignee_id == s.user_id,
}
# Lists are read in the request's context, where a non-member never gets this far.
LIMIT_SQL: engine.RelationSQL = {"lone_worker": lambda s: true()}


def relations(user_id: int, job: Job, task: Task, project: Project | None) -> set[str]:
    rels = {"assignee"} if job.assignee_id == user_id else set()
    if task.owner_id == user_id:
        rels.add("task:owner")
    if task.assignee_id == user_id:
        rels.add("task:assignee")
    if project is not None:
        rels |= {f"project:{r}" for r in projects.relations(user_id, project)}
    return rels


def parents(caller: Caller, job: Job) -> tuple[Task, Project | None]:
    """The job's task and project (held by the caller: the session only keeps weak
    references, so an object nobody holds is read again)."""
    task = caller.session.get(Task, job.task_id)
    assert task is not None  # a job goes with its task
    project = caller.session.get(Project, task.project_id) if task.project_id else None
    return task, project


def allowed(caller: Caller, job: Job, scope: str, task: Task | None = None,
            project: Project | None = None) -> bool:
    """Whether the user may do ``scope`` on ``job``, judged in its task's organization."""
    if task is None:
        task, project = parents(caller, job)
    subj = projects.subject_in(caller, task.organization_id)
    rels = relations(subj.user_id, job, task, project)
    # CVAT's "strict privilege" rows: a job assignee who is exactly a worker and no member.
    limits = {"lone_worker": subj.privilege == "worker" and subj.org_role is None}
    return engine.allows("job", scope, subj, rels, task.organization_id is not None, limits)


def get(caller: Caller, job_id: int, scope: str = "view") -> Job:
    """The job if the user may do ``scope`` on it: 404 when there is none, 403 otherwise."""
    job = find(caller.session, Job, job_id, "Job")
    if not allowed(caller, job, scope):
        raise PermissionDenied()
    return job


def visible_filter(subj: Subject, in_org: bool) -> ColumnElement[bool]:
    """Jobs the subject may view; the statement must join ``Task`` and outer-join ``Project``."""
    return engine.visible("job", subj, RELATION_SQL, in_org, LIMIT_SQL)


def joined(stmt: Select[Any]) -> Select[Any]:
    return stmt.join(Task, Task.id == Job.task_id).outerjoin(
        Project, Project.id == Task.project_id
    )


def list_query(caller: Caller) -> Select[Any]:
    """Visible jobs in the request's context, joined with their task and project. A Core
    statement of job ids (callers choose the columns): the page of a list is read as plain
    rows, and counting it needs no ORM entity."""
    subj = subject(caller)
    oc = org_context(caller)
    stmt = joined(select(Job.id)).where(visible_filter(subj, oc.kind == "organization"))
    stmt = narrow_to_context(stmt, Task.organization_id, oc)
    return stmt


def _scopes(job: Job, data: dict[str, Any]) -> list[str]:
    """The scopes a PATCH needs, as CVAT's ``JobPermission.get_scopes``."""
    scopes = []
    if "assignee" in data and data["assignee"] != job.assignee_id:
        scopes.append("update:assignee")
    if "stage" in data:
        scopes.append("update:stage")
    if "state" in data:
        scopes.append("update:state")
    return scopes


def _clean(caller: Caller, data: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    for name, choices in (("stage", STAGES), ("state", STATES)):
        if name in data and data[name] not in choices:
            errors[name] = [f"{data[name]!r} is not a valid choice; use one of "
                            f"{', '.join(choices)}."]
    if errors:
        raise ValidationFailed(errors)
    clean = {k: data[k] for k in ("stage", "state") if k in data}
    if "assignee" in data:
        clean["assignee_id"] = check_user(caller, data["assignee"], "assignee")
    return clean


def update(caller: Caller, job_id: int, data: dict[str, Any]) -> Job:
    """Change stage, state or assignee; the status follows the stage as in CVAT's
    ``JobWriteSerializer`` (annotation -> annotation, acceptance + completed -> completed,
    anything else -> validation), and a new stage without a state resets the state to new."""
    job = find(caller.session, Job, job_id, "Job")
    task, project = parents(caller, job)
    for scope in ["view", *_scopes(job, data)]:
        if not allowed(caller, job, scope, task, project):
            raise PermissionDenied()
    clean = _clean(caller, data)
    before = snapshot(job)
    stage, state = clean.get("stage"), clean.get("state")
    if stage is not None:
        if stage == "annotation":
            job.status = "annotation"
        elif stage == "acceptance" and state == "completed":
            job.status = "completed"
        else:
            job.status = "validation"
        if stage != job.stage and state is None:
            clean["state"] = "new"
    if "assignee_id" in clean and clean["assignee_id"] != job.assignee_id:
        job.assignee_updated_date = utcnow()
    for key, value in clean.items():
        setattr(job, key, value)
    job.updated_date = utcnow()
    caller.session.flush()
    changes.updated(caller, "job", job, before, org_id=task.organization_id)
    refresh_task_status(caller, task)
    return job


def refresh_task_status(caller: Caller, task: Task) -> None:
    """A task's status is its least advanced job's (CVAT's post-save signal on jobs)."""
    statuses = set(caller.session.scalars(
        select(Job.status).where(Job.task_id == task.id, Job.type == "annotation").distinct()
    ))
    status = next((s for s in ("annotation", "validation") if s in statuses), "completed")
    if statuses and status != task.status:
        before = snapshot(task)
        task.status = status
        task.updated_date = utcnow()
        caller.session.flush()
        changes.updated(caller, "task", task, before)


def delete(caller: Caller, job_id: int) -> None:
    """Only ground-truth jobs can be deleted (CVAT answers 400 for the others)."""
    job = find(caller.session, Job, job_id, "Job")
    task, project = parents(caller, job)
    if not allowed(caller, job, "view", task, project):
        raise PermissionDenied()
    if job.type != "ground_truth":
        raise ValidationFailed({"detail": "Only ground truth jobs can be removed."})
    if not allowed(caller, job, "delete", task, project):
        raise PermissionDenied()
    changes.deleted(caller, "job", job, org_id=task.organization_id)
    from cvatcore.core.models import Segment

    segment = caller.session.get(Segment, job.segment_id)
    caller.session.delete(job)
    if segment is not None:
        caller.session.delete(segment)
    caller.session.flush()
