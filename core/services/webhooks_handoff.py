"""Committed deliveries handed to the drain of this process that holds their webhook.

The outbox (``webhook_deliveries``) is the source of truth: a drain reads a webhook's pending
deliveries from it, in ``seq`` order. Reading after every commit put a query between each
change and its delivery (1-2 ms, far more when the process is busy: on the bench's p99 path
the read and the wake-ups of every drain to make it cost more than the POST). So the
transaction that queues a delivery for a webhook held by a drain running *in this process*
also hands that drain a copy of the row once it commits (``hand_after_commit``), and the
drain sends it at once when it is the very next of the webhook's sequence it expects; any
other case (a gap: a delivery committed by another process, or one the drain has not read
yet; a webhook it no longer holds) falls back to reading the outbox. A hand-off that is
lost (the drain ended meanwhile) loses nothing: the row is there, and the webhook's lock
makes sure a drain will read it (see ``webhooks_delivery``).

A hand-off carries the webhook as the queueing transaction saw it under the row's lock (the
secret still encrypted): the drain does not read the webhook again to send it.

A drain in another process (``cvatcore worker`` beside the servers, on PostgreSQL) gets the
same hand-off as the payload of the ``NOTIFY`` that wakes it (``notify_after_commit``;
PostgreSQL delivers it at the commit, never for a rollback). That one carries no secret, not
even encrypted (notifications can end up in the server's logs): only a digest of the stored
one, and the drain sends with the secret it read before when the digest matches.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cvatcore.core.db.after_commit import after_commit
from cvatcore.core.jobs.queue import NOTIFY_CHANNEL

_PENDING = "cvatcore.webhooks.handed"
MAX_NOTIFY_BYTES = 7900  # PostgreSQL's limit is 8,000 bytes per payload


class Hook(NamedTuple):
    """What sending needs of a webhook (``Sender``'s ``hook``)."""

    id: int
    target_url: str
    secret: str | None
    content_type: str
    enable_ssl: bool


class Due(NamedTuple):
    """A pending delivery as a drain sends and records it (the read's rows have the same
    attributes)."""

    id: int
    webhook_id: int
    seq: int
    event: str
    request: dict[str, Any]
    attempts: int
    redelivery: bool
    created_date: datetime
    next_attempt_at: datetime


class Handed(NamedTuple):
    hook: Hook
    delivery: Due
    # From another process: ``hook.secret`` is None and this is the stored one's digest.
    secret_digest: str | None = None


def secret_digest(stored: str | None) -> str:
    """A digest of a webhook's stored (encrypted) secret: tells whether it changed."""
    return hashlib.sha256((stored or "").encode()).hexdigest()[:32]


class Inbox:
    """A running drain's hand-offs: ``put`` (after a commit) wakes it, ``take`` empties."""

    def __init__(self, wake: Callable[[], None]) -> None:
        self._wake = wake
        self._items: list[Handed] = []
        self._lock = threading.Lock()

    def put(self, items: list[Handed]) -> None:
        with self._lock:
            self._items += items
        self._wake()

    def waiting(self) -> bool:
        return bool(self._items)

    def take(self) -> list[Handed]:
        with self._lock:
            items, self._items = self._items, []
        return items


_inboxes: dict[str, Inbox] = {}
_inboxes_lock = threading.Lock()


def open_inbox(job_id: str, wake: Callable[[], None]) -> Inbox:
    """The inbox of drain ``job_id`` running in this process (until ``close_inbox``)."""
    inbox = Inbox(wake)
    with _inboxes_lock:
        _inboxes[job_id] = inbox
    return inbox


def close_inbox(job_id: str) -> None:
    with _inboxes_lock:
        _inboxes.pop(job_id, None)


def hand_after_commit(session: Session, job_id: str, handed: Handed) -> bool:
    """Hand ``handed`` to drain ``job_id`` once ``session`` commits (nothing on a rollback);
    False when that drain does not run in this process (wake it some other way)."""
    if job_id not in _inboxes:
        return False
    after_commit(session, _PENDING, (job_id, handed), _deliver)
    return True


def _deliver(pending: list[tuple[str, Handed]]) -> None:
    by_job: dict[str, list[Handed]] = {}
    for job_id, handed in pending:
        by_job.setdefault(job_id, []).append(handed)
    for job_id, items in by_job.items():
        inbox = _inboxes.get(job_id)
        if inbox is not None:
            inbox.put(items)


def notify_after_commit(session: Session, job_id: str, handed: Handed) -> bool:
    """On PostgreSQL, hand ``handed`` to drain ``job_id`` in whichever process it runs, by
    a ``NOTIFY`` sent at the commit (see the module); False elsewhere, or when the payload is
    too long for a notification (wake the drain some other way)."""
    if session.get_bind().dialect.name != "postgresql":
        return False
    hook, delivery = handed.hook, handed.delivery
    payload = json.dumps({
        "webhook": {"job": job_id, "hook": [*hook[:2], secret_digest(hook.secret), *hook[3:]],
                    "delivery": [*delivery[:7], delivery.created_date.isoformat(),
                                 delivery.next_attempt_at.isoformat()]}})
    if len(payload.encode()) > MAX_NOTIFY_BYTES:
        return False
    session.execute(select(func.pg_notify(NOTIFY_CHANNEL, payload)))
    return True


def from_notification(payload: str, job_id: str) -> Handed | None:
    """The hand-off a notification carries to drain ``job_id``; None for anything else."""
    try:
        found = json.loads(payload)["webhook"]
    except (ValueError, KeyError, TypeError):
        return None
    if found.get("job") != job_id:
        return None
    hook_id, url, digest, content_type, ssl = found["hook"]
    *fields, created, next_at = found["delivery"]
    return Handed(Hook(hook_id, url, None, content_type, ssl),
                  Due(*fields, datetime.fromisoformat(created), datetime.fromisoformat(next_at)),
                  digest)
