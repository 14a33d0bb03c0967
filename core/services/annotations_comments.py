"""Comments on review issues: create, view, change the message, delete, with CVAT's
``comments.rego``.

A comment is judged in its job's task's organization. Its relations are the comment's owner
and its issue's ("issue staff": the issue's owner and assignee, the job's assignee, the
task's and project's owners and assignees). Issue staff may comment; the comment's owner and
issue staff may view, change and delete it; organization maintainers may do anything.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, select

from cvatcore.core.bus import snapshot
from cvatcore.core.errors import PermissionDenied, ValidationFailed
from cvatcore.core.iam import engine
from cvatcore.core.models import Comment, Issue, Job, Task
from cvatcore.core.models.base import utcnow
from cvatcore.core.services import changes, issues
from cvatcore.core.services.context import subject
from cvatcore.core.services.projects import MAX_ID, find

if TYPE_CHECKING:
    from cvatcore.core.services.caller import Caller


RELATION_SQL: engine.RelationSQL = {
    "owner": lambda s: Comment.owner_id == s.user_id,
    "issue:owner": lambda s: Issue.owner_id == s.user_id,
    "issue:assignee": lambda s: Issue.assignee_id == s.user_id,
    **{k: v for k, v in issues.RELATION_SQL.items() if k not in ("owner", "assignee")},
}


def _issue_staff(caller: Caller, issue: Issue) -> tuple[issues.Where, set[str]]:
    place = issues.where(caller, find(caller.session, Job, issue.job_id, "Job"))
    user_id = caller.require_user().id
    rels = {f"issue:{r}" if r in ("owner", "assignee") else r
            for r in issues.issue_relations(user_id, issue, place)}
    return place, rels


def allowed(caller: Caller, comment: Comment, scope: str) -> bool:
    issue = find(caller.session, Issue, comment.issue_id, "Issue")
    place, rels = _issue_staff(caller, issue)
    if comment.owner_id == caller.require_user().id:
        rels.add("owner")
    subj = subject(caller, place.task.organization_id)
    return engine.allows("comment", scope, subj, rels, place.in_org)


def get(caller: Caller, comment_id: int, scope: str = "view") -> Comment:
    comment = find(caller.session, Comment, comment_id, "Comment")
    if not allowed(caller, comment, scope):
        raise PermissionDenied()
    return comment


def list_query(caller: Caller) -> Select[Any]:
    stmt = issues.joined(select(Comment).join(Issue, Issue.id == Comment.issue_id),
                         Issue.job_id)
    return issues.in_context(caller, stmt, "comment", RELATION_SQL)


def _target_issue(caller: Caller, value: Any) -> Issue:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ID:
        raise ValidationFailed.field("issue", "A valid integer is required.")
    issue = caller.session.get(Issue, value)
    if issue is None:
        raise ValidationFailed.field("issue", f'Invalid pk "{value}" - object does not exist.')
    return issue


def create(caller: Caller, data: dict[str, Any]) -> Comment:
    user = caller.require_user()
    issues.fields(data, {"issue", "message"}, set())
    if "issue" not in data:
        raise ValidationFailed.field("issue", "This field is required.")
    issue = _target_issue(caller, data["issue"])
    place, rels = _issue_staff(caller, issue)
    subj = subject(caller, place.task.organization_id)
    if not engine.allows("comment", "create@issue", subj, rels, place.in_org):
        raise PermissionDenied()
    message = issues.message_text(data["message"]) if "message" in data else ""
    comment = Comment(issue_id=issue.id, owner_id=user.id, message=message)
    caller.session.add(comment)
    caller.session.flush()
    changes.created(caller, "comment", comment, org_id=place.task.organization_id)
    return comment


def update(caller: Caller, comment_id: int, data: dict[str, Any]) -> Comment:
    comment = get(caller, comment_id, "update")
    issues.fields(data, {"message"}, {"issue"})
    before = snapshot(comment)
    if "message" in data:
        comment.message = issues.message_text(data["message"])
    comment.updated_date = utcnow()
    caller.session.flush()
    changes.updated(caller, "comment", comment, before, org_id=_org(caller, comment))
    return comment


def delete(caller: Caller, comment_id: int) -> None:
    comment = get(caller, comment_id, "delete")
    changes.deleted(caller, "comment", comment, org_id=_org(caller, comment))
    caller.session.delete(comment)
    caller.session.flush()


def _org(caller: Caller, comment: Comment) -> int | None:
    return caller.session.scalar(
        select(Task.organization_id).join(Job, Job.task_id == Task.id)
        .join(Issue, Issue.job_id == Job.id).where(Issue.id == comment.issue_id))

