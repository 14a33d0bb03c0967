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
    from cvatcore.core.api.context import Ctx


RELATION_SQL: engine.RelationSQL = {
    "owner": lambda s: Comment.owner_id == s.user_id,
    "issue:owner": lambda s: Issue.owner_id == s.user_id,
    "issue:assignee": lambda s: Issue.assignee_id == s.user_id,
    **{k: v for k, v in issues.RELATION_SQL.items() if k not in ("owner", "assignee")},
}


def _issue_staff(ctx: Ctx, issue: Issue) -> tuple[issues.Where, set[str]]:
    place = issues.where(ctx, find(ctx.session, Job, issue.job_id, "Job"))
    user_id = ctx.require_user().id
    rels = {f"issue:{r}" if r in ("owner", "assignee") else r
            for r in issues.issue_relations(user_id, issue, place)}
    return place, rels


def allowed(ctx: Ctx, comment: Comment, scope: str) -> bool:
    issue = find(ctx.session, Issue, comment.issue_id, "Issue")
    place, rels = _issue_staff(ctx, issue)
    if comment.owner_id == ctx.require_user().id:
        rels.add("owner")
    subj = subject(ctx, place.task.organization_id)
    return engine.allows("comment", scope, subj, rels, place.in_org)


def get(ctx: Ctx, comment_id: int, scope: str = "view") -> Comment:
    comment = find(ctx.session, Comment, comment_id, "Comment")
    if not allowed(ctx, comment, scope):
        raise PermissionDenied()
    return comment


def list_query(ctx: Ctx) -> Select[Any]:
    stmt = issues.joined(select(Comment).join(Issue, Issue.id == Comment.issue_id),
                         Issue.job_id)
    return issues.in_context(ctx, stmt, "comment", RELATION_SQL)


def _target_issue(ctx: Ctx, value: Any) -> Issue:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ID:
        raise ValidationFailed.field("issue", "A valid integer is required.")
    issue = ctx.session.get(Issue, value)
    if issue is None:
        raise ValidationFailed.field("issue", f'Invalid pk "{value}" - object does not exist.')
    return issue


def create(ctx: Ctx, data: dict[str, Any]) -> Comment:
    user = ctx.require_user()
    issues.fields(data, {"issue", "message"}, set())
    if "issue" not in data:
        raise ValidationFailed.field("issue", "This field is required.")
    issue = _target_issue(ctx, data["issue"])
    place, rels = _issue_staff(ctx, issue)
    subj = subject(ctx, place.task.organization_id)
    if not engine.allows("comment", "create@issue", subj, rels, place.in_org):
        raise PermissionDenied()
    message = issues.message_text(data["message"]) if "message" in data else ""
    comment = Comment(issue_id=issue.id, owner_id=user.id, message=message)
    ctx.session.add(comment)
    ctx.session.flush()
    changes.created(ctx, "comment", comment, org_id=place.task.organization_id)
    return comment


def update(ctx: Ctx, comment_id: int, data: dict[str, Any]) -> Comment:
    comment = get(ctx, comment_id, "update")
    issues.fields(data, {"message"}, {"issue"})
    before = snapshot(comment)
    if "message" in data:
        comment.message = issues.message_text(data["message"])
    comment.updated_date = utcnow()
    ctx.session.flush()
    changes.updated(ctx, "comment", comment, before, org_id=_org(ctx, comment))
    return comment


def delete(ctx: Ctx, comment_id: int) -> None:
    comment = get(ctx, comment_id, "delete")
    changes.deleted(ctx, "comment", comment, org_id=_org(ctx, comment))
    ctx.session.delete(comment)
    ctx.session.flush()


def _org(ctx: Ctx, comment: Comment) -> int | None:
    return ctx.session.scalar(
        select(Task.organization_id).join(Job, Job.task_id == Task.id)
        .join(Issue, Issue.job_id == Job.id).where(Issue.id == comment.issue_id))

