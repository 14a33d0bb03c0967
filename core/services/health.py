"""What ``GET /api/server/health`` and ``/metrics`` report: the database answers, background
work is being taken, how much of it waits, and how far each event sink is behind.

Workers leave no heartbeat rows of their own: a job that is running keeps renewing its lease
(``core/jobs``), so "work queued for long with nothing running or leased" is what an operator
needs to see to know that no worker is alive.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from cvatcore.core.models.analytics import OutboxEvent, SinkCursor
from cvatcore.core.models.base import as_utc
from cvatcore.core.models.jobs import BackgroundJob
from cvatcore.core.models.webhooks import WebhookDelivery

#: Work that waited this long with no job running means nobody is taking it.
STALLED_AFTER = timedelta(minutes=5)


def queue_depths(conn: sa.Connection) -> dict[tuple[str, str], int]:
    """(kind, status) -> number of jobs, for the statuses that are not final."""
    rows = conn.execute(
        sa.select(BackgroundJob.kind, BackgroundJob.status, sa.func.count())
        .where(BackgroundJob.status.in_(("queued", "started")))
        .group_by(BackgroundJob.kind, BackgroundJob.status))
    return {(kind, status): count for kind, status, count in rows}


def oldest_queued(conn: sa.Connection) -> datetime | None:
    value = conn.execute(
        sa.select(sa.func.min(BackgroundJob.next_run_at))
        .where(BackgroundJob.status == "queued")).scalar()
    return as_utc(value) if value is not None else None


def sink_backlogs(conn: sa.Connection, sinks: list[str]) -> dict[str, dict[str, Any]]:
    """Each configured event sink: events in the outbox it has not got yet, the age of the
    oldest of them, and its failed attempts in a row (never the error text: it may name a
    server's address with credentials)."""
    cursors = {row.sink: row for row in conn.execute(
        sa.select(SinkCursor.sink, SinkCursor.delivered_seq, SinkCursor.failures)
        .where(SinkCursor.sink.in_(sinks)))}
    out = {}
    for sink in sinks:
        cursor = cursors.get(sink)
        after = cursor.delivered_seq if cursor is not None else 0
        backlog, oldest = conn.execute(
            sa.select(sa.func.count(), sa.func.min(OutboxEvent.created_date))
            .where(OutboxEvent.seq > after)).one()
        age = (datetime.now(UTC) - as_utc(oldest)).total_seconds() if oldest else 0.0
        out[sink] = {"status": "stalled" if age > STALLED_AFTER.total_seconds() else "ok",
                     "backlog": backlog, "oldest_pending_seconds": round(max(age, 0.0), 1),
                     "failures": cursor.failures if cursor is not None else 0}
    return out


def deliveries_waiting(conn: sa.Connection) -> dict[str, int]:
    """Webhook deliveries not sent (``pending``) and given up on (``failed``)."""
    rows = conn.execute(
        sa.select(WebhookDelivery.state, sa.func.count())
        .where(WebhookDelivery.state.in_(("pending", "failed")))
        .group_by(WebhookDelivery.state))
    return {"pending": 0, "failed": 0, **{state: count for state, count in rows}}


def check(state: Any) -> dict[str, Any]:
    """Each component's status (``ok``, ``stalled`` or ``failing``) with its numbers."""
    started = time.perf_counter()
    try:
        with state.db.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
            database = {"status": "ok", "dialect": conn.dialect.name,
                        "latency_ms": round((time.perf_counter() - started) * 1000, 2)}
            depths = queue_depths(conn)
            oldest = oldest_queued(conn)
            sinks = sink_backlogs(conn, list(state.settings.analytics.sinks))
    except sa.exc.SQLAlchemyError as exc:
        # The driver's message only: a URL with its password never gets here.
        reason = str(getattr(exc, "orig", None) or exc.__class__.__name__).splitlines()[0]
        return {"status": "failing",
                "checks": {"database": {"status": "failing", "detail": reason}}}
    queued = sum(n for (_, status), n in depths.items() if status == "queued")
    running = sum(n for (_, status), n in depths.items() if status == "started")
    waiting = (datetime.now(UTC) - oldest).total_seconds() if oldest else 0.0
    stalled = running == 0 and oldest is not None and waiting > STALLED_AFTER.total_seconds()
    workers = {"status": "stalled" if stalled else "ok", "queued": queued, "running": running,
               "oldest_queued_seconds": round(max(waiting, 0.0), 1)}
    sinks_check = {"status": "stalled" if any(v["status"] != "ok" for v in sinks.values())
                   else "ok", "sinks": sinks}
    checks = {"database": database, "workers": workers, "sinks": sinks_check}
    overall = "ok" if all(c["status"] == "ok" for c in checks.values()) else "degraded"
    return {"status": overall, "checks": checks}
