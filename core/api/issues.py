"""``/api/issues`` and ``/api/comments`` (thin handlers: parse, call a service, serialize).
Related users and comment counts are read once per page."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from starlette.responses import Response

from cvatcore.core.api.context import Ctx
from cvatcore.core.api.listing import ListSpec, apply_query, paginate, parse_bool
from cvatcore.core.api.responses import JSON, iso, no_content
from cvatcore.core.api.routing import Op
from cvatcore.core.api.serializers import base_url, basic_user, users_by_id
from cvatcore.core.models import Comment, Issue, Job, User
from cvatcore.core.services import annotations_comments as comments
from cvatcore.core.services import issues


def _username(column: Any) -> Any:
    return select(User.username).where(User.id == column).scalar_subquery()


ISSUE_SPEC = ListSpec(
    fields={"id": Issue.id, "owner": _username(Issue.owner_id),
            "assignee": _username(Issue.assignee_id), "job_id": Issue.job_id,
            "task_id": Job.task_id, "resolved": Issue.resolved, "frame_id": Issue.frame},
    search=("owner", "assignee"),
    simple_filters=("owner", "assignee", "job_id", "task_id", "resolved", "frame_id"),
    casts={"job_id": int, "task_id": int, "frame_id": int, "resolved": parse_bool},
)
COMMENT_SPEC = ListSpec(
    fields={"id": Comment.id, "owner": _username(Comment.owner_id),
            "issue_id": Comment.issue_id, "frame_id": Issue.frame, "job_id": Issue.job_id},
    search=("owner",),
    simple_filters=("owner", "issue_id", "frame_id", "job_id"),
    casts={"issue_id": int, "frame_id": int, "job_id": int},
)


def issues_page(ctx: Ctx, rows: Sequence[Issue]) -> list[dict[str, Any]]:
    users = users_by_id(ctx, [i.owner_id for i in rows] + [i.assignee_id for i in rows])
    counts: dict[int, int] = dict(ctx.caller.session.execute(
        select(Comment.issue_id, func.count()).where(Comment.issue_id.in_([i.id for i in rows]))
        .group_by(Comment.issue_id)).all()) if rows else {}
    base = base_url(ctx)
    return [{
        "id": issue.id,
        "frame": issue.frame,
        "position": issue.position,
        "job": issue.job_id,
        "owner": basic_user(ctx, users.get(issue.owner_id or -1)),
        "assignee": basic_user(ctx, users.get(issue.assignee_id or -1)),
        "created_date": iso(issue.created_date),
        "updated_date": iso(issue.updated_date),
        "resolved": issue.resolved,
        "comments": {"count": counts.get(issue.id, 0),
                     "url": f"{base}/api/comments?issue_id={issue.id}"},
    } for issue in rows]


def comments_page(ctx: Ctx, rows: Sequence[Comment]) -> list[dict[str, Any]]:
    users = users_by_id(ctx, [c.owner_id for c in rows])
    return [{
        "id": c.id,
        "issue": c.issue_id,
        "owner": basic_user(ctx, users.get(c.owner_id or -1)),
        "message": c.message,
        "created_date": iso(c.created_date),
        "updated_date": iso(c.updated_date),
    } for c in rows]


def list_issues(ctx: Ctx) -> Response:
    stmt = apply_query(ctx, issues.list_query(ctx.caller), ISSUE_SPEC)
    return JSON(paginate(ctx, stmt, lambda rows: issues_page(ctx, rows)))


def create_issue(ctx: Ctx) -> Response:
    return JSON(issues_page(ctx, [issues.create(ctx.caller, ctx.data)])[0], status_code=201)


def retrieve_issue(ctx: Ctx) -> Response:
    return JSON(issues_page(ctx, [issues.get(ctx.caller, ctx.path_params["id"])])[0])


def update_issue(ctx: Ctx) -> Response:
    return JSON(issues_page(ctx, [issues.update(ctx.caller, ctx.path_params["id"], ctx.data)])[0])


def delete_issue(ctx: Ctx) -> Response:
    issues.delete(ctx.caller, ctx.path_params["id"])
    return no_content()


def list_comments(ctx: Ctx) -> Response:
    stmt = apply_query(ctx, comments.list_query(ctx.caller), COMMENT_SPEC)
    return JSON(paginate(ctx, stmt, lambda rows: comments_page(ctx, rows)))


def create_comment(ctx: Ctx) -> Response:
    return JSON(comments_page(ctx, [comments.create(ctx.caller, ctx.data)])[0], status_code=201)


def retrieve_comment(ctx: Ctx) -> Response:
    return JSON(comments_page(ctx, [comments.get(ctx.caller, ctx.path_params["id"])])[0])


def update_comment(ctx: Ctx) -> Response:
    comment = comments.update(ctx.caller, ctx.path_params["id"], ctx.data)
    return JSON(comments_page(ctx, [comment])[0])


def delete_comment(ctx: Ctx) -> Response:
    comments.delete(ctx.caller, ctx.path_params["id"])
    return no_content()


ISSUES, COMMENTS = "/api/issues", "/api/comments"
OPS = [
    Op("GET", ISSUES, list_issues, "issues_list", "issues", "List issues",
       response="IssueRead", paginated=True,
       params=("filter", "search", "sort", *ISSUE_SPEC.simple_filters),
       extra={"list_spec": ISSUE_SPEC}),
    Op("POST", ISSUES, create_issue, "issues_create", "issues",
       "Open an issue on a job's frame (its message is the first comment)",
       request="IssueWriteRequest", response="IssueRead", status=201),
    Op("GET", ISSUES + "/{id:int}", retrieve_issue, "issues_retrieve", "issues", "One issue",
       response="IssueRead"),
    Op("PATCH", ISSUES + "/{id:int}", update_issue, "issues_partial_update", "issues",
       "Move, reassign, resolve or reopen an issue", request="PatchedIssueWriteRequest",
       response="IssueRead"),
    Op("DELETE", ISSUES + "/{id:int}", delete_issue, "issues_destroy", "issues",
       "Delete an issue and its comments", status=204),
    Op("GET", COMMENTS, list_comments, "comments_list", "comments", "List comments",
       response="CommentRead", paginated=True,
       params=("filter", "search", "sort", *COMMENT_SPEC.simple_filters),
       extra={"list_spec": COMMENT_SPEC}),
    Op("POST", COMMENTS, create_comment, "comments_create", "comments", "Comment on an issue",
       request="CommentWriteRequest", response="CommentRead", status=201),
    Op("GET", COMMENTS + "/{id:int}", retrieve_comment, "comments_retrieve", "comments",
       "One comment", response="CommentRead"),
    Op("PATCH", COMMENTS + "/{id:int}", update_comment, "comments_partial_update", "comments",
       "Change a comment's message", request="PatchedCommentWriteRequest",
       response="CommentRead"),
    Op("DELETE", COMMENTS + "/{id:int}", delete_comment, "comments_destroy", "comments",
       "Delete a comment", status=204),
]
