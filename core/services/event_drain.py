"""The ``drain:events`` job: hands the outbox to every sink of ``[analytics] sinks``.

Each sink has a cursor (``analytics_sink_cursors``): the outbox ``seq`` up to which it holds
every event. A drain reads the rows past the cursor in batches of ``[analytics] batch_size``,
writes each batch to the sink, and moves the cursor only once the sink accepted it. A sink
that fails (down, slow, refusing) keeps its cursor and is tried again after 1, 2, 4, ...
seconds (at most ``retry_max_seconds``) by a follow-up job; the other sinks go on. A batch
written but not recorded (the worker died in between) is written again, and sinks drop the
event ids they already hold, so nothing is lost and nothing doubles. A sink that stores into
the main database (the built-in ``sql``, ``write_in``) writes each batch in the transaction
that moves its cursor instead: exactly once without a duplicate check.

On PostgreSQL two transactions may commit their outbox rows out of ``seq`` order; the drain
reads only up to a ``seq`` that every writer has committed (``safe_bound``). One drain per
sink runs at a time (``_sink_lock``), so rows past a sink's cursor are new to it unless an
earlier attempt failed: sinks with ``write_new`` skip their duplicate check for those.
"""

from __future__ import annotations

import fcntl
import logging
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import delete, func, select

from cvatcore.core.jobs.queue import enqueue
from cvatcore.core.models import BackgroundJob, OutboxEvent, SinkCursor
from cvatcore.core.models.base import as_utc, utcnow
from cvatcore.core.services.event_outbox import DRAIN_KIND, WRITERS_LOCK, drain_job_id

logger = logging.getLogger("cvatcore.analytics")
_SINK_LOCK_KEY = 0x6376  # first key of the per-sink PostgreSQL advisory lock


def run(job: Any) -> dict[str, Any]:
    """The job handler: drain every configured sink; queue a retry for the failing ones."""
    state = job.state
    _forget_finished_drains(state)
    bound = safe_bound(state)
    retry_at: datetime | None = None
    delivered = 0
    for name in state.settings.analytics.sinks:
        job.check()
        count, again = drain_sink(state, name, bound, job)
        delivered += count
        if again is not None:
            retry_at = again if retry_at is None else min(retry_at, again)
    prune(state)
    if retry_at is not None:
        schedule(state, retry_at)
    return {}


def _forget_finished_drains(state: Any) -> None:
    """Drains are queued as often as changes commit: their finished rows are dropped at once
    rather than kept like users' requests (one drain's row is kept until the next runs)."""
    with state.db.unit_of_work() as session:
        session.execute(delete(BackgroundJob).where(BackgroundJob.kind == DRAIN_KIND,
                                                    BackgroundJob.status == "finished"))


def safe_bound(state: Any) -> int:
    """The highest outbox ``seq`` below which every row is committed (or rolled back)."""
    with state.db.unit_of_work() as session:
        if session.bind.dialect.name == "postgresql":
            session.execute(select(func.pg_advisory_xact_lock(WRITERS_LOCK)))
        return int(session.scalar(select(func.max(OutboxEvent.seq))) or 0)


def build_sink(state: Any, name: str) -> Any:
    """Sink ``name`` with its ``[analytics.options.<name>]``; a sink that stores into the main
    database (the built-in ``sql``) is handed its engine."""
    entry = state.registries.get("events", name)
    config = state.provider_config("events", name)
    sink = entry.factory(config if config is not None else entry.validate(None))
    if hasattr(sink, "use_main_database"):
        sink.use_main_database(state.db.engine)
    return sink


def drain_sink(state: Any, name: str, bound: int, job: Any = None, replay: bool = False,
               ) -> tuple[int, datetime | None]:
    """Deliver the rows up to ``bound`` to sink ``name``: (events delivered, when to try
    again if the sink failed, else None). ``replay``: the sink may hold some of them."""
    with _sink_lock(state, name):
        cursor = _cursor(state, name)
        if cursor["failures"] and cursor["retry_at"] > utcnow() and not replay:
            return 0, cursor["retry_at"]
        # Past the cursor the sink has seen nothing, unless an earlier attempt failed or
        # died after writing (or ``resend`` asked): then it checks the ids it holds.
        replay = replay or cursor["failures"] > 0 or (job is not None and job.attempt > 1)
        position, delivered, sink, write = cursor["seq"], 0, None, None
        batch = state.settings.analytics.batch_size
        try:
            while position < bound:
                if sink is None:
                    sink = state.event_sinks.get(name) or build_sink(state, name)
                    state.event_sinks[name] = sink  # clients and tables set up once
                    write = _writer(state, name, sink, replay)
                count, position = write(position, bound, batch)
                if not count:
                    break
                delivered += count
                if job is not None:
                    job.check()
        except Exception as exc:
            if job is not None and job.lost.is_set():
                raise
            logger.warning("event sink %s failed (%s); its events wait in the outbox",
                           name, type(exc).__name__)
            _discard(state, name)  # the next attempt connects anew
            return delivered, _failed(state, name, exc)
        return delivered, None


Deliver = Callable[[int, int, int], tuple[int, int]]


def _writer(state: Any, name: str, sink: Any, replay: bool) -> Deliver:
    """How one batch past a position reaches the sink: (events delivered, the new position).

    A sink that stores into the main database (``write_in``) writes the batch in the same
    transaction that moves its cursor: a batch is stored and counted together or not at all,
    so it meets ids it holds only after a rewind (``resend``) or a failed attempt (a
    conflict there fails the batch, and the retry drops those ids). Any other sink is written
    first and the cursor moved after it accepted the batch (a crash in between replays it)."""
    if callable(getattr(sink, "write_in", None)) and sink.shares_database(state.db.engine):
        return lambda after, bound, limit: _deliver_together(
            state, name, sink, after, bound, limit, replay)
    write = getattr(sink, "write_new", None) if not replay else None
    write = write or sink.write

    def deliver(after: int, bound: int, limit: int) -> tuple[int, int]:
        rows = _read(state, after, bound, limit)
        if not rows:
            return 0, after
        write([orjson.loads(record) for _, record in rows])
        _advance(state, name, rows[-1][0], len(rows))
        return len(rows), rows[-1][0]

    return deliver


def _deliver_together(state: Any, name: str, sink: Any, after: int, bound: int, limit: int,
                      replay: bool) -> tuple[int, int]:
    with state.db.unit_of_work() as session:
        rows = session.execute(
            select(OutboxEvent.seq, OutboxEvent.record)
            .where(OutboxEvent.seq > after, OutboxEvent.seq <= bound)
            .order_by(OutboxEvent.seq).limit(limit)).all()
        if not rows:
            return 0, after
        sink.write_in(session.connection(), [orjson.loads(record) for _, record in rows],
                      dedupe=replay)
        _move_cursor(session, name, rows[-1][0], len(rows))
        return len(rows), rows[-1][0]


def _discard(state: Any, name: str) -> None:
    sink = state.event_sinks.pop(name, None)
    close = getattr(sink, "close", None)
    if callable(close):
        try:
            close()
        except Exception:  # a broken connection may fail to close; it is dropped anyway
            logger.debug("closing event sink %s failed", name, exc_info=True)


def _read(state: Any, after: int, bound: int, limit: int) -> list[tuple[int, str]]:
    with state.db.unit_of_work(write=False) as session:
        return [tuple(r) for r in session.execute(
            select(OutboxEvent.seq, OutboxEvent.record)
            .where(OutboxEvent.seq > after, OutboxEvent.seq <= bound)
            .order_by(OutboxEvent.seq).limit(limit)
        )]


def _cursor(state: Any, name: str) -> dict[str, Any]:
    # A read first: only a sink's first drain writes here (a write transaction per drain
    # was a third of a small drain's commits).
    with state.db.unit_of_work(write=False) as session:
        row = session.get(SinkCursor, name)
        if row is not None:
            return _position(state, row)
    with state.db.unit_of_work() as session:
        row = session.get(SinkCursor, name)
        if row is None:
            row = SinkCursor(sink=name, delivered_seq=0, delivered_count=0, failures=0,
                             last_error="", updated_date=utcnow())
            session.add(row)
            session.flush()
        return _position(state, row)


def _position(state: Any, row: SinkCursor) -> dict[str, Any]:
    return {"seq": row.delivered_seq, "failures": row.failures,
            "retry_at": as_utc(row.updated_date) + _backoff(state, row.failures)}


def _backoff(state: Any, failures: int) -> timedelta:
    limit = state.settings.analytics.retry_max_seconds
    return timedelta(seconds=min(2.0 ** max(failures - 1, 0), limit))


def _advance(state: Any, name: str, seq: int, count: int) -> None:
    with state.db.unit_of_work() as session:
        _move_cursor(session, name, seq, count)


def _move_cursor(session: Any, name: str, seq: int, count: int) -> None:
    row = session.get(SinkCursor, name)
    assert row is not None
    # Another drain may have gone further meanwhile: a cursor never moves back.
    row.delivered_seq = max(row.delivered_seq, seq)
    row.delivered_count += count
    row.failures, row.last_error, row.updated_date = 0, "", utcnow()


def _failed(state: Any, name: str, exc: Exception) -> datetime:
    with state.db.unit_of_work() as session:
        row = session.get(SinkCursor, name)
        assert row is not None
        row.failures += 1
        # The kind of error only: messages of network clients may carry credentials.
        row.last_error = type(exc).__name__
        row.updated_date = utcnow()
        return as_utc(row.updated_date) + _backoff(state, row.failures)


def prune(state: Any) -> int:
    """Drop outbox rows every configured sink holds, once older than ``outbox_keep_hours``."""
    sinks = state.settings.analytics.sinks
    keep = timedelta(hours=state.settings.analytics.outbox_keep_hours)
    with state.db.unit_of_work() as session:
        cursors = session.execute(
            select(SinkCursor.sink, SinkCursor.delivered_seq).where(SinkCursor.sink.in_(sinks))
        ).all()
        if len(cursors) < len(set(sinks)):
            return 0
        upto = min(seq for _, seq in cursors)
        return session.execute(delete(OutboxEvent).where(
            OutboxEvent.seq <= upto, OutboxEvent.created_date <= utcnow() - keep)).rowcount


def schedule(state: Any, at: datetime) -> None:
    """Queue a drain to run at ``at`` (the retry of a failing sink)."""
    with state.db.unit_of_work() as session:
        job = enqueue(session, job_id=drain_job_id(), kind=DRAIN_KIND,
                      operation={"type": DRAIN_KIND, "target": "events"})
        job.next_run_at = at


def pending(state: Any) -> dict[str, int]:
    """Events each configured sink does not hold yet."""
    with state.db.unit_of_work(write=False) as session:
        top = int(session.scalar(select(func.max(OutboxEvent.seq))) or 0)
        got = dict(session.execute(select(SinkCursor.sink, SinkCursor.delivered_seq)).all())
        return {name: int(session.scalar(select(func.count(OutboxEvent.seq)).where(
            OutboxEvent.seq > got.get(name, 0), OutboxEvent.seq <= top)) or 0)
            for name in state.settings.analytics.sinks}


@contextmanager
def _sink_lock(state: Any, name: str) -> Iterator[None]:
    """One drain per sink at a time: across processes on PostgreSQL (an advisory lock), in
    this process on SQLite (a second process's drain only costs the sink's id check)."""
    engine = state.db.engine
    if engine.dialect.name == "postgresql":
        key = zlib.crc32(name.encode()) & 0x7FFFFFFF
        with engine.connect() as conn:
            conn.execute(select(func.pg_advisory_lock(_SINK_LOCK_KEY, key)))
            conn.commit()
            try:
                yield
            finally:
                conn.execute(select(func.pg_advisory_unlock(_SINK_LOCK_KEY, key)))
                conn.commit()
        return
    # SQLite: a lock file next to the data, which every process on the machine sees (an
    # embedded database is one machine's).
    locks = Path(state.settings.server.data_dir) / "locks"
    locks.mkdir(parents=True, exist_ok=True)
    with open(locks / f"analytics-sink-{zlib.crc32(name.encode()):08x}.lock", "a+b") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def rewind(state: Any, name: str, seq: int = 0) -> None:
    """Hand sink ``name`` the outbox again from ``seq`` on (``cvatcore events resend``); the
    sink drops the ids it holds, so only what it lacks is added."""
    with state.db.unit_of_work() as session:
        row = session.get(SinkCursor, name)
        if row is None:
            session.add(SinkCursor(sink=name, delivered_seq=seq, delivered_count=0,
                                   failures=0, last_error="", updated_date=utcnow()))
        else:
            row.delivered_seq, row.failures, row.last_error = seq, 0, ""


def status(state: Any) -> list[dict[str, Any]]:
    """Each configured sink: events waiting, delivered so far, failures in a row, last error."""
    waiting = pending(state)
    with state.db.unit_of_work(write=False) as session:
        rows = {r.sink: r for r in session.scalars(select(SinkCursor))}
        return [{"sink": name, "pending": waiting[name],
                 "delivered": rows[name].delivered_count if name in rows else 0,
                 "failures": rows[name].failures if name in rows else 0,
                 "last_error": rows[name].last_error if name in rows else ""}
                for name in state.settings.analytics.sinks]
