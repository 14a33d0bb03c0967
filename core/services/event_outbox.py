"""The events outbox: analytics events are written as rows in the transaction of the change
they describe, so an event exists exactly when its change does, and nothing slow happens in
a request. A ``drain:events`` background job (``event_drain.py``) hands them to the sinks.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import orjson
from sqlalchemy import Connection, bindparam, exists, select

from cvatcore.core.models import BackgroundJob, OutboxEvent
from cvatcore.core.models.base import utcnow
from cvatcore.core.services.event_records import server_records
from cvatcore.core.state import EVENT_SINKS_OPTION
from cvatcore.hooks import DomainEvent
from cvatcore.hooks import enqueue as enqueue_job

DRAIN_KIND = "drain:events"
#: PostgreSQL advisory lock: writers hold it shared in their transaction, the drain takes it
#: exclusively for a moment to learn up to which ``seq`` every writer has committed.
WRITERS_LOCK = 0x63766576
_DONE = "cvatcore.analytics.outbox"
#: Built once (it runs in every transaction that records events).
_DRAIN_QUEUED = select(exists().where(
    BackgroundJob.kind == DRAIN_KIND, BackgroundJob.status == "queued",
    BackgroundJob.next_run_at <= bindparam("due", type_=BackgroundJob.next_run_at.type)))


def on_domain_event(connection: Connection, event: DomainEvent) -> None:
    """The in-transaction subscriber: the event's CVAT records into the outbox. The end of
    a background request (``completed:request[...]``, core/jobs/completion.py) is not one of
    CVAT's analytics events: its start already is."""
    if event.action != "completed" and recording(connection):
        write(connection, server_records(connection, event))


def recording(connection: Connection) -> bool:
    """Whether any sink is configured (``[analytics] sinks = []`` records nothing)."""
    return bool(connection.get_execution_options().get(EVENT_SINKS_OPTION, True))


def write(connection: Connection, records: list[dict[str, Any]]) -> None:
    """Add ``records`` to the outbox inside ``connection``'s transaction and make sure a
    drain job will run once it commits."""
    if not records or not recording(connection):
        return
    first = _first_in_transaction(connection)
    if first and connection.dialect.name == "postgresql":
        # Not a SELECT: a read unit of work on PostgreSQL runs SELECTs in autocommit, where
        # the lock would end with the statement (see db/engine.py _begin_before_write).
        connection.exec_driver_sql(
            f"DO $$ BEGIN PERFORM pg_advisory_xact_lock_shared({WRITERS_LOCK}); END $$")
    now: Any = utcnow()
    if connection.dialect.name == "sqlite":  # the text SQLAlchemy's DateTime reads back
        now = now.strftime("%Y-%m-%d %H:%M:%S.%f")
    # Tuples straight to the driver: SQLAlchemy's per-row parameter handling cost more
    # than the insert for a batch of client events.
    connection.exec_driver_sql(_insert_sql(connection.dialect.paramstyle), [
        (r["id"], now, orjson.dumps(r, default=str).decode()) for r in records])
    if first:
        ensure_drain(connection)


def _insert_sql(paramstyle: str) -> str:
    mark = "?" if paramstyle == "qmark" else "%s"
    return (f"INSERT INTO {OutboxEvent.__tablename__} (event_id, created_date, record) "
            f"VALUES ({mark}, {mark}, {mark})")


def ensure_drain(connection: Connection) -> None:
    """Queue a drain job unless one is already queued and due (one query per transaction)."""
    queued = connection.scalar(_DRAIN_QUEUED, {"due": utcnow() + timedelta(seconds=1)})
    if not queued:
        enqueue_job(connection, DRAIN_KIND, {}, job_id=drain_job_id())


def drain_job_id() -> str:
    return f"action=drain&target=events&id={uuid.uuid4()}"


def _first_in_transaction(connection: Connection) -> bool:
    transaction = connection.get_transaction()
    if connection.info.get(_DONE) is transaction:
        return False
    connection.info[_DONE] = transaction
    return True
