"""Queueing background work from a plugin (``cvatcore.hooks.enqueue``)."""

from __future__ import annotations

from typing import Any

#: The engine execution option under which the core puts its queue (see ``enqueue``).
QUEUE_OPTION = "cvatcore_queue"


def enqueue(
    connection: Any, kind: str, args: dict[str, Any] | None = None, *,
    job_id: str | None = None, owner_id: int | None = None, org_id: int | None = None,
    max_attempts: int = 3,
) -> str:
    """Queue a background job inside the transaction of ``connection``; return its id.

    ``connection`` is a SQLAlchemy ``Connection`` that cvatcore handed you: a domain
    subscriber's first argument, or ``request.connection`` in a route (where
    ``request.enqueue`` fills in the owner for you). The job is queued only if that
    transaction commits, and it sees every row the transaction wrote; workers are woken
    once it commits.

    ``kind`` must be registered through ``register_job_kinds`` (by any plugin), else a
    ``ValueError``. ``args`` (JSON-safe) become the handler's ``job.args``. ``job_id`` is the
    id clients poll at ``/api/requests/{id}`` and the work's idempotency key: the same id still
    queued or running answers 409, a finished one is replaced. Without it a fresh id is made.
    ``owner_id`` (a user id) lets that user see the request; ``org_id`` files it under an
    organization. A failing job is retried up to ``max_attempts`` times.
    """
    queue = connection.get_execution_options().get(QUEUE_OPTION)
    if queue is None:
        raise RuntimeError(
            "cvatcore.hooks.enqueue needs a connection cvatcore gave you (a subscriber's "
            "connection or request.connection), inside its transaction"
        )
    return queue(connection, kind, args, job_id=job_id, owner_id=owner_id, org_id=org_id,
                 max_attempts=max_attempts)
