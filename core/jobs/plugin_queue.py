"""Queueing background work on a plugin's connection (``cvatcore.hooks.enqueue``).

Plugins get a SQLAlchemy ``Connection`` inside the caller's transaction (a route's
``request.connection``, a domain subscriber's first argument). The engine of every
application carries ``PluginQueue`` as the execution option ``cvatcore_queue``, which
``cvatcore.hooks.enqueue`` calls: the public module needs no import of the core, and a
connection from any other engine is refused with a clear message.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Connection, Engine, event
from sqlalchemy.orm import Session

from cvatcore.core.jobs.queue import enqueue, wake_all
from cvatcore.hooks.jobs import QUEUE_OPTION

__all__ = ["QUEUE_OPTION", "PluginQueue", "install"]


class PluginQueue:
    """Queues jobs of the kinds registered on one application."""

    def __init__(self, kinds: Mapping[str, Callable[[Any], Any]]) -> None:
        self.kinds = kinds

    def __call__(
        self, connection: Connection, kind: str, args: dict[str, Any] | None = None, *,
        job_id: str | None = None, owner_id: int | None = None, org_id: int | None = None,
        max_attempts: int = 3, operation: dict[str, Any] | None = None,
    ) -> str:
        if kind not in self.kinds:
            known = ", ".join(sorted(self.kinds)) or "none"
            raise ValueError(f"no plugin registered the job kind {kind!r} (registered: {known})")
        job_id = job_id or f"action={kind}&id={uuid.uuid4()}"
        # A session on the caller's connection joins its transaction and never ends it
        # (join_transaction_mode "conservative_savepoint"): the caller's commit or rollback
        # decides, so the job exists exactly when the caller's changes do.
        with Session(bind=connection) as session:
            enqueue(session, job_id=job_id, kind=kind, args=args, owner_id=owner_id,
                    org_id=org_id, max_attempts=max_attempts,
                    operation=operation or {"type": kind})
        connection.info[_WAKE] = True  # see _wake_on_checkin
        return job_id


#: Set on a connection (its pool record's ``info``) that queued work in its transaction.
_WAKE = "cvatcore.jobs.plugin_queue.wake"


def install(engine: Engine, kinds: Mapping[str, Callable[[Any], Any]]) -> None:
    """Give ``engine``'s connections the queue (before any ``execution_options`` copy of the
    engine is made: those copy the options) and wake workers when such work is committed."""
    engine.update_execution_options(**{QUEUE_OPTION: PluginQueue(kinds)})
    event.listen(engine, "checkin", _wake_on_checkin)


def _wake_on_checkin(_dbapi_connection: Any, record: Any) -> None:
    """Wake this process's workers once a connection that queued work is given back.

    Not the connection's ``commit`` event: it fires before the database commits, and a worker
    woken then would not see the job yet. Checkin comes after the commit (or a rollback, when
    waking finds nothing and costs one query)."""
    if record is not None and record.info.pop(_WAKE, False):
        wake_all()
