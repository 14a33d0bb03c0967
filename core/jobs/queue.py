"""Queueing background work and reading it back (``/api/requests``).

Work is queued *inside* the transaction of the request that asks for it, so a request that
fails queues nothing, and a queued job always sees the rows the request wrote. Workers are
woken once that transaction commits.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import delete, text
from sqlalchemy.orm import Session

from cvatcore.core.db.after_commit import after_commit
from cvatcore.core.errors import Conflict
from cvatcore.core.models import BackgroundJob
from cvatcore.core.models.base import utcnow

ACTIVE = ("queued", "started")
NOTIFY_CHANNEL = "cvatcore_work"  # PostgreSQL: work was committed (see jobs/watch.py)
_WAKE = "cvatcore.jobs.wake"

_wakeups: set[threading.Event] = set()
_wakeups_lock = threading.Lock()


def request_id(action: str, target: str, target_id: int | str, **extra: Any) -> str:
    """CVAT's request id: ``action=create&target=task&id=12`` (plus e.g. ``format``); the same
    work asked for twice has the same id, which makes queueing idempotent."""
    return urlencode({"action": action, "target": target, "id": target_id, **extra})


def enqueue(
    session: Session, *, job_id: str, kind: str, args: dict[str, Any] | None = None,
    operation: dict[str, Any] | None = None, owner_id: int | None = None,
    org_id: int | None = None, max_attempts: int = 3,
) -> BackgroundJob:
    """Queue ``kind`` under ``job_id``. The same id still queued or running is a 409; one that
    finished or failed is replaced (asking again runs the work again)."""
    existing = session.get(BackgroundJob, job_id)
    if existing is not None:
        if existing.status in ACTIVE:
            raise Conflict(f"The request {job_id} is already {existing.status}.")
        session.execute(delete(BackgroundJob).where(BackgroundJob.id == job_id))
    job = BackgroundJob(
        id=job_id, kind=kind, args=args or {}, operation=operation or {}, owner_id=owner_id,
        organization_id=org_id, max_attempts=max_attempts, next_run_at=utcnow(),
    )
    session.add(job)
    session.flush()
    wake_after_commit(session)
    return job


def wake_after_commit(session: Session) -> None:
    """Wake this process's idle workers (and waiting drains) once ``session`` commits; on
    PostgreSQL also other processes' waiting drains (``NOTIFY``, see ``jobs/watch.py``)."""
    first = after_commit(session, _WAKE, None, lambda _items: wake_all())
    if first and session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"NOTIFY {NOTIFY_CHANNEL}"))  # delivered at the commit


def wake_all() -> None:
    """Wake every idle worker of this process."""
    with _wakeups_lock:
        for flag in _wakeups:
            flag.set()


def add_wakeup(flag: threading.Event) -> None:
    """``flag`` is set whenever this process commits newly queued work."""
    with _wakeups_lock:
        _wakeups.add(flag)


def remove_wakeup(flag: threading.Event) -> None:
    with _wakeups_lock:
        _wakeups.discard(flag)


def expiry(hours: int) -> Any:
    return utcnow() + timedelta(hours=hours)
