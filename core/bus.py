"""The domain-event bus: one place where every change to a domain object is announced.

A service that creates, updates or deletes an object calls ``publish`` with the request's ORM
session. Subscribers registered through ``register_domain_subscribers`` (``cvatcore.hooks``)
run in two phases:

* *in the transaction*: ``handler(connection, event)`` runs at once on the change's own
  connection. It may only write rows (the analytics outbox, webhook deliveries); if the
  change rolls back, so do they, and nothing was published.
* *after commit*: ``handler(event)`` runs once the transaction has committed, never for a
  rolled-back change. For waking workers and caches; exceptions are logged.

Events carry the object before and after the change as JSON-safe column snapshots
(``snapshot``), the actor, the organization and the request id.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.orm import Session

from cvatcore.core.db.after_commit import after_commit
from cvatcore.hooks import DomainEvent

logger = logging.getLogger("cvatcore.bus")

_PENDING = "cvatcore.bus.pending"

# Who published the event being handled (a service's ``Caller``), for the core's own
# in-transaction subscribers that need more than the event: the webhooks subscriber
# serializes the changed object as the API shows it.
_origin: contextvars.ContextVar[Any] = contextvars.ContextVar("cvatcore_bus_origin",
                                                               default=None)


def current_origin() -> Any:
    """The ``origin`` passed to ``publish`` while its in-transaction subscribers run."""
    return _origin.get()


InTransaction = Callable[[Any, DomainEvent], None]
Committed = Callable[[DomainEvent], None]


@dataclass(frozen=True)
class _Subscription:
    handler: Callable[..., None]
    scopes: frozenset[str] | None

    def wants(self, event: DomainEvent) -> bool:
        return self.scopes is None or event.scope in self.scopes


class EventBus:
    """Subscribers and ``publish``; one per application (``AppState.bus``)."""

    def __init__(self) -> None:
        self._in_transaction: list[_Subscription] = []
        self._committed: list[_Subscription] = []

    def subscribe(
        self, handler: Callable[..., None], scopes: Collection[str] | None = None,
        committed: bool = False,
    ) -> None:
        """Add a subscriber (see the module docstring for the two phases)."""
        sub = _Subscription(handler, frozenset(scopes) if scopes is not None else None)
        (self._committed if committed else self._in_transaction).append(sub)

    def publish(self, session: Session, event: DomainEvent, origin: Any = None) -> None:
        """Announce ``event`` inside ``session``'s transaction (the one making the change);
        ``origin`` (the publishing caller) is ``current_origin()`` for the subscribers."""
        connection = session.connection()
        token = _origin.set(origin)
        try:
            for sub in self._in_transaction:
                if sub.wants(event):
                    sub.handler(connection, event)
        finally:
            _origin.reset(token)
        if not self._committed:
            return
        after_commit(session, _PENDING, event, self._deliver_committed)

    def _deliver_committed(self, events: list[DomainEvent]) -> None:
        for event in events:
            for sub in self._committed:
                if not sub.wants(event):
                    continue
                try:
                    sub.handler(event)
                except Exception:
                    logger.exception("committed-event subscriber failed on %s", event.scope)


def make_event(
    action: str, resource: str, obj_id: int | None, *, before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None, actor_id: int | None = None, org_id: int | None = None,
    request_id: str | None = None,
) -> DomainEvent:
    return DomainEvent(
        scope=f"{action}:{resource}", obj_id=obj_id, timestamp=time.time(), actor_id=actor_id,
        org_id=org_id, request_id=request_id, before=before, after=after,
    )


def snapshot(obj: Any, exclude: Iterable[str] = ("password",)) -> dict[str, Any]:
    """The object's column values, JSON-safe (dates as ISO strings); secrets left out."""
    skip = set(exclude)
    data: dict[str, Any] = {}
    for attr in inspect(obj).mapper.column_attrs:
        if attr.key in skip:
            continue
        data[attr.key] = _json_safe(getattr(obj, attr.key))
    return data


def _json_safe(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


class Wakeups:
    """In-process hints that something changed under a key (a function's agent queue got
    work), so that an async waiter (the agents' ``watch`` stream) looks now rather than at
    its next poll. Only a hint: a change made by another process is seen at that poll, so
    nothing depends on it, and nothing is kept that another replica would need."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: dict[Any, set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = {}

    @contextlib.contextmanager
    def listening(self, key: Any) -> Iterator[asyncio.Event]:
        """An event (of the running loop) that ``wake(key)`` sets, from any thread; clear it
        before looking, so a wake-up while looking is not lost."""
        entry = (asyncio.get_running_loop(), asyncio.Event())
        with self._lock:
            self._events.setdefault(key, set()).add(entry)
        try:
            yield entry[1]
        finally:
            with self._lock:
                listeners = self._events.get(key)
                if listeners is not None:
                    listeners.discard(entry)
                    if not listeners:
                        del self._events[key]

    def wake(self, key: Any) -> None:
        with self._lock:
            listeners = list(self._events.get(key, ()))
        for loop, event in listeners:
            with contextlib.suppress(RuntimeError):  # that loop has closed
                loop.call_soon_threadsafe(event.set)
