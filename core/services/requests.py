"""Background requests as users see them (``/api/requests``): their own, or all for admins."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Select, and_, select

from cvatcore.core.errors import NotFound, ValidationFailed
from cvatcore.core.models import BackgroundJob
from cvatcore.core.services.context import subject
from cvatcore.core.services.event_outbox import DRAIN_KIND
from cvatcore.core.services.events_export import CLEANUP_KIND
from cvatcore.core.services.media_removal import DISCARD_KIND

if TYPE_CHECKING:
    from cvatcore.core.services.caller import Caller


#: Internal work nobody asked for (CVAT shows no such requests): draining the events outbox,
#: dropping unread exports and a dead restore's leftovers. Housekeeping, not requests.
HIDDEN_KINDS = (DRAIN_KIND, CLEANUP_KIND, DISCARD_KIND)


def _visible(caller: Caller) -> ColumnElement[bool]:
    subj = subject(caller)
    shown = BackgroundJob.kind.not_in(HIDDEN_KINDS)
    if subj.is_admin:
        return shown
    return and_(shown, BackgroundJob.owner_id == subj.user_id)


def list_query(caller: Caller, q: Mapping[str, str]) -> Select[Any]:
    """The requests the caller may see, narrowed by CVAT's filters in ``q`` (``action``,
    ``target``, ``status``, ``format``, ``project_id``, ``task_id``, ``job_id``)."""
    stmt = select(BackgroundJob).where(_visible(caller))
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


def get(caller: Caller, request_id: str) -> BackgroundJob:
    job = caller.session.scalar(
        select(BackgroundJob).where(BackgroundJob.id == request_id, _visible(caller))
    )
    if job is None:
        raise NotFound("Request not found.")
    return job


def cancel(caller: Caller, request_id: str) -> None:
    """Cancel a request that has not started yet (as CVAT: a started one runs to its end)."""
    job = get(caller, request_id)
    if job.status != "queued":
        raise ValidationFailed({"detail": f"Only queued requests can be cancelled; this one is "
                                          f"{job.status}."})
    caller.session.delete(job)
    caller.session.flush()
