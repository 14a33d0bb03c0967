"""Review issues on a job's frame: create (with the first comment), view, change (position,
assignee, resolved) and delete, with CVAT's ``issues.rego``.

An issue is judged in its job's task's organization. Its relations are the issue's owner and
assignee, the job's assignee, and the task's and project's owners and assignees. Viewing and
changing need any of them ("issue staff"); deleting needs the issue's owner or the task's or
project's staff ("issue admin"), a job assignee alone may not; organization maintainers may
do anything. Creating one is checked on the job ("create@job").
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, select

from cvatcore.core.bus import snapshot
from cvatcore.core.errors import PermissionDenied, ValidationFailed
from cvatcore.core.iam import engine
from cvatcore.core.models import Comment, Issue, Job, Project, Segment, Task
from cvatcore.core.models.base import utcnow
from cvatcore.core.services import changes
from cvatcore.core.services import jobs as job_service
from cvatcore.core.services.context import narrow_to_context, org_context, subject
from cvatcore.core.services.projects import MAX_ID, check_user, find

if TYPE_CHECKING:
    from cvatcore.core.services.caller import Caller


RELATION_SQL: engine.RelationSQL = {
    "owner": lambda s: Issue.owner_id == s.user_id,
    "assignee": lambda s: Issue.assignee_id == s.user_id,
    "job:assignee": lambda s: Job.assignee_id == s.user_id,
    "task:owner": lambda s: Task.owner_id == s.user_id,
    "task:assignee": lambda s: Task.assignee_id == s.user_id,
    "project:owner": lambda s: Project.owner_id == s.user_id,
    "project:assignee": lambda s: Project.assignee_id == s.user_id,
}
CREATE_FIELDS = {"frame", "position", "job", "message", "assignee", "resolved"}
UPDATE_FIELDS = {"position", "assignee", "resolved"}


@dataclass
class Where:
    """A job with its task and project: what issues and comments are judged by."""

    job: Job
    task: Task
    project: Project | None

    def relations(self, user_id: int) -> set[str]:
        rels = job_service.relations(user_id, self.job, self.task, self.project)
        if "assignee" in rels:
            rels.discard("assignee")
            rels.add("job:assignee")
        return rels

    @property
    def in_org(self) -> bool:
        return self.task.organization_id is not None


def where(caller: Caller, job: Job) -> Where:
    task = caller.session.get(Task, job.task_id)
    assert task is not None  # a job goes with its task
    project = caller.session.get(Project, task.project_id) if task.project_id is not None else None
    return Where(job, task, project)


def issue_relations(user_id: int, issue: Issue, place: Where) -> set[str]:
    rels = place.relations(user_id)
    if issue.owner_id == user_id:
        rels.add("owner")
    if issue.assignee_id == user_id:
        rels.add("assignee")
    return rels


def allowed(caller: Caller, issue: Issue, scope: str, place: Where | None = None) -> bool:
    place = place or where(caller, find(caller.session, Job, issue.job_id, "Job"))
    subj = subject(caller, place.task.organization_id)
    return engine.allows("issue", scope, subj, issue_relations(subj.user_id, issue, place),
                         place.in_org)


def get(caller: Caller, issue_id: int, scope: str = "view") -> Issue:
    """The issue if the user may do ``scope`` on it: 404 when there is none, 403 otherwise
    (CVAT filters only the list)."""
    issue = find(caller.session, Issue, issue_id, "Issue")
    if not allowed(caller, issue, scope):
        raise PermissionDenied()
    return issue


def joined(stmt: Select[Any], job_column: Any) -> Select[Any]:
    """``stmt`` joined with the job (by ``job_column``), its task and its project."""
    return (stmt.join(Job, Job.id == job_column).join(Task, Task.id == Job.task_id)
            .outerjoin(Project, Project.id == Task.project_id))


def in_context(caller: Caller, stmt: Select[Any], resource: str, relation_sql: engine.RelationSQL
               ) -> Select[Any]:
    """The list rows of ``resource`` the user may view in the request's context."""
    subj = subject(caller)
    oc = org_context(caller)
    stmt = stmt.where(engine.visible(resource, subj, relation_sql, oc.kind == "organization"))
    stmt = narrow_to_context(stmt, Task.organization_id, oc)
    return stmt


def list_query(caller: Caller) -> Select[Any]:
    return in_context(caller, joined(select(Issue), Issue.job_id), "issue", RELATION_SQL)


def fields(data: dict[str, Any], allowed_fields: set[str], write_once: set[str]) -> None:
    errors = {k: ["This field cannot be changed."] for k in sorted(set(data) & write_once)}
    errors |= {k: ["Unknown field."] for k in sorted(set(data) - allowed_fields - write_once)}
    if errors:
        raise ValidationFailed(errors)


def _position(value: Any) -> list[float]:
    if not isinstance(value, list) or not value:
        raise ValidationFailed.field("position", "A non-empty list of numbers is required.")
    result = []
    for number in value:
        if isinstance(number, bool) or not isinstance(number, int | float) \
                or not math.isfinite(number):
            raise ValidationFailed.field("position", f"Numbers are required, got {number!r}.")
        result.append(float(number))
    return result


def _bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationFailed.field(name, "Must be a valid boolean.")
    return value


def message_text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed.field("message", "A non-empty text is required.")
    return value


def _target_job(caller: Caller, value: Any, name: str = "job") -> Job:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ID:
        raise ValidationFailed.field(name, "A valid integer is required.")
    job = caller.session.get(Job, value)
    if job is None:
        raise ValidationFailed.field(name, f'Invalid pk "{value}" - object does not exist.')
    return job


def _check_frame(caller: Caller, job: Job, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**31:
        raise ValidationFailed.field("frame", "A valid integer is required.")
    segment = caller.session.get(Segment, job.segment_id)
    inside = segment is not None and (
        value in (segment.frames or []) if segment.type == "specific_frames"
        else segment.start_frame <= value <= segment.stop_frame)
    if not inside:
        raise ValidationFailed.field("frame", f"Frame {value} is not a frame of job {job.id}.")
    return value


def create(caller: Caller, data: dict[str, Any]) -> Issue:
    """A new issue and its first comment (``message``); one event for each."""
    user = caller.require_user()
    fields(data, CREATE_FIELDS, set())
    missing = [k for k in ("frame", "position", "job", "message") if k not in data]
    if missing:
        raise ValidationFailed({k: ["This field is required."] for k in missing})
    job = _target_job(caller, data["job"])
    place = where(caller, job)
    subj = subject(caller, place.task.organization_id)
    if not engine.allows("issue", "create@job", subj, place.relations(user.id), place.in_org):
        raise PermissionDenied()
    issue = Issue(
        job_id=job.id, frame=_check_frame(caller, job, data["frame"]),
        position=_position(data["position"]), owner_id=user.id,
        assignee_id=check_user(caller, data.get("assignee"), "assignee"),
        resolved=_bool(data.get("resolved", False), "resolved"),
    )
    message = message_text(data["message"])
    caller.session.add(issue)
    caller.session.flush()
    comment = Comment(issue_id=issue.id, owner_id=user.id, message=message)
    caller.session.add(comment)
    caller.session.flush()
    changes.created(caller, "issue", issue, org_id=place.task.organization_id)
    changes.created(caller, "comment", comment, org_id=place.task.organization_id)
    return issue


def update(caller: Caller, issue_id: int, data: dict[str, Any]) -> Issue:
    issue = get(caller, issue_id, "update")
    fields(data, UPDATE_FIELDS, {"frame", "job", "message"})
    before = snapshot(issue)
    if "position" in data:
        issue.position = _position(data["position"])
    if "assignee" in data:
        issue.assignee_id = check_user(caller, data["assignee"], "assignee")
    if "resolved" in data:
        issue.resolved = _bool(data["resolved"], "resolved")
    issue.updated_date = utcnow()
    caller.session.flush()
    changes.updated(caller, "issue", issue, before, org_id=org_of(caller, issue.job_id))
    return issue


def delete(caller: Caller, issue_id: int) -> None:
    """Removes the issue and its comments (one event, for the issue)."""
    issue = get(caller, issue_id, "delete")
    changes.deleted(caller, "issue", issue, org_id=org_of(caller, issue.job_id))
    caller.session.delete(issue)
    caller.session.flush()


def org_of(caller: Caller, job_id: int) -> int | None:
    return caller.session.scalar(select(Task.organization_id).join(Job, Job.task_id == Task.id)
                              .where(Job.id == job_id))
