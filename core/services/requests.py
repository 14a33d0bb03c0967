"""Background requests as users see them (``/api/requests``): their own, or all for admins."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Select, select, true

from cvatcore.core.errors import NotFound, ValidationFailed
from cvatcore.core.models import BackgroundJob
from cvatcore.core.services.context import subject

if TYPE_CHECKING:
    from cvatcore.core.api.context import Ctx


def _visible(ctx: Ctx) -> ColumnElement[bool]:
    subj = subject(ctx)
    if subj.is_admin:
        return true()
    return BackgroundJob.owner_id == subj.user_id


def list_query(ctx: Ctx) -> Select[Any]:
    stmt = select(BackgroundJob).where(_visible(ctx))
    q = ctx.query
    if "action" in q:
        stmt = stmt.where(BackgroundJob.kind.like(f"{q['action']}:%"))
    if "target" in q:
        stmt = stmt.where(BackgroundJob.operation["target"].as_string() == q["target"])
    if "status" in q:
        stmt = stmt.where(BackgroundJob.status == q["status"])
    if "format" in q:
        stmt = stmt.where(BackgroundJob.operation["format"].as_string() == q["format"])
    for name in ("project_id", "task_id", "job_id"):
        if name in q:
            try:
                value = int(q[name])
            except ValueError:
                raise ValidationFailed.field(name, "A valid integer is required.") from None
            stmt = stmt.where(BackgroundJob.operation[name].as_integer() == value)
    return stmt


def get(ctx: Ctx, request_id: str) -> BackgroundJob:
    job = ctx.session.scalar(
        select(BackgroundJob).where(BackgroundJob.id == request_id, _visible(ctx))
    )
    if job is None:
        raise NotFound("Request not found.")
    return job


def cancel(ctx: Ctx, request_id: str) -> None:
    """Cancel a request that has not started yet (as CVAT: a started one runs to its end)."""
    job = get(ctx, request_id)
    if job.status != "queued":
        raise ValidationFailed({"detail": f"Only queued requests can be cancelled; this one is "
                                          f"{job.status}."})
    ctx.session.delete(job)
    ctx.session.flush()
