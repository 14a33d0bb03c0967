"""The one place that announces the end of a request: ``completed:request[<type>]``.

A *request* is background work somebody asked for (a job with an owner: task data, dataset
and backup exports, imports, function calls), what CVAT's clients see at ``/api/requests``.
When the runner writes such a job's final state (finished, or failed for good), it publishes
``completed:request[<operation type>]`` on the domain-event bus inside that same
transaction, so the subscribers' rows (webhook deliveries) commit exactly when the request's
end does, and never twice (a worker that lost the job writes nothing).

The event names the request (``obj_id`` is None, request ids are strings) and carries the
job row as it now is in ``after``: ``id``, ``kind``, ``status``, ``message``,
``operation`` (type, target, ``<target>_id``, format, ...), ``result_url``, ``result_id``.
Internal work nobody asked for (webhook drains, the events outbox, media clean-up) has no
owner and announces only a permanent failure (rare, so free), which lets the module that
queued it recover (the webhooks' sweeper queues a new drain). Subscribers pick the request
types they care about by scope, as CVAT's webhooks listen only to some request managers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from cvatcore.core.bus import make_event, snapshot
from cvatcore.core.models import BackgroundJob

ACTION = "completed"


@dataclass(frozen=True)
class RequestEnd:
    """``current_origin()`` for the subscribers of a request's end: the application state
    and the ORM session of the transaction that ends the request."""

    state: Any
    session: Session


def scope_of(request_type: str) -> str:
    """``completed:request[export:dataset]``: CVAT's event key for a request type."""
    return f"{ACTION}:request[{request_type}]"


def request_type(job: BackgroundJob) -> str:
    return str((job.operation or {}).get("type") or job.kind)


def announce(state: Any, session: Session, job_id: str) -> None:
    """Publish the end of ``job_id`` (already in its final state in ``session``'s
    transaction) if it is a request somebody asked for, or failed for good."""
    row = session.get(BackgroundJob, job_id, populate_existing=True)
    if row is None or row.status not in ("finished", "failed"):
        return
    if row.owner_id is None and row.status != "failed":
        return
    event = make_event(ACTION, f"request[{request_type(row)}]", None, after=snapshot(row),
                       actor_id=row.owner_id, org_id=row.organization_id,
                       request_id=(row.args or {}).get("request_id") or row.id)
    state.bus.publish(session, event, origin=RequestEnd(state, session))
