"""The drain: a sink that is down loses nothing and gets each event once when it is back;
the other sinks go on meanwhile; a replayed batch adds nothing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import update

from cvatcore.core.jobs.runner import JobRunner
from cvatcore.core.models import SinkCursor
from cvatcore.core.services import event_drain
from cvatcore.hooks import Register, hookimpl
from cvatcore.hooks.testing import ApiClient
from cvatcore.hooks.testing.databases import postgres_database
from cvatcore.hooks.testing.harness import build_test_app, test_settings

from .support import Analytics, unique


class Flaky:
    """A sink that refuses every batch while ``down``; remembers what it stored by id."""

    down = False
    stored: dict[str, dict[str, Any]] = {}
    writes = 0

    def __init__(self, config: Any) -> None:
        pass

    def write(self, events: list[dict[str, Any]]) -> None:
        Flaky.writes += 1
        if Flaky.down:
            raise ConnectionRefusedError("the sink is down")
        for event in events:
            Flaky.stored.setdefault(event["id"], event)


class FlakyPlugin:
    @staticmethod
    @hookimpl
    def register_event_sinks(register: Register) -> None:
        register("flaky", Flaky)


@pytest.fixture
def flaky_app(tmp_path: Path, cvatcore_database_url: str | None) -> Iterator[Analytics]:
    """A fresh database of the module's kind, with the ``flaky`` sink beside ``sql``."""
    Flaky.down, Flaky.stored, Flaky.writes = False, {}, 0
    with ExitStack() as stack:
        url = stack.enter_context(postgres_database()) if cvatcore_database_url else None
        settings = test_settings(tmp_path, url, jobs={"in_process_workers": 0},
                                 analytics={"sinks": ["sql", "flaky"], "batch_size": 7,
                                            "retry_max_seconds": 0.2})
        app = build_test_app(settings, plugins=[(FlakyPlugin, "flaky")])
        stack.callback(app.state.cvatcore.db.dispose)
        yield Analytics(app, stack)


def _changes(client: ApiClient, n: int) -> None:
    for _ in range(n):
        pid = client.post("/api/projects", json={"name": unique("p")}).json()["id"]
        client.patch(f"/api/projects/{pid}", json={"name": unique("q")})


def test_a_sink_down_for_a_while_gets_every_event_once(flaky_app: Analytics) -> None:
    _, client = flaky_app.user()
    Flaky.down = True
    _changes(client, 10)
    flaky_app.drain()
    assert Flaky.stored == {} and Flaky.writes >= 1
    sql_count = flaky_app.stored_count()
    assert sql_count == len(flaky_app.outbox())  # the healthy sink did not wait
    _changes(client, 5)  # changes go on while the sink is down
    flaky_app.drain()
    Flaky.down = False
    time.sleep(0.3)  # the retry's back-off
    flaky_app.drain()
    ids = [e["id"] for e in flaky_app.outbox()]
    assert sorted(Flaky.stored) == sorted(ids) and len(ids) == flaky_app.stored_count()
    assert event_drain.pending(flaky_app.state) == {"sql": 0, "flaky": 0}


def test_a_replayed_batch_adds_nothing(flaky_app: Analytics) -> None:
    _, client = flaky_app.user()
    _changes(client, 3)
    flaky_app.drain()
    count = flaky_app.stored_count()
    with flaky_app.db.unit_of_work() as session:  # as if the worker died before recording
        session.execute(update(SinkCursor).values(delivered_seq=0))
    state = flaky_app.state
    for name in ("sql", "flaky"):
        # a drain job taken over after a dead worker runs as a replay (its attempt > 1)
        event_drain.drain_sink(state, name, event_drain.safe_bound(state), replay=True)
    assert flaky_app.stored_count() == count and len(Flaky.stored) == count


def test_the_retry_is_queued_when_nothing_else_happens(flaky_app: Analytics) -> None:
    _, client = flaky_app.user()
    Flaky.down = True
    _changes(client, 2)
    runner = JobRunner(flaky_app.state)
    runner.run_until_idle()
    Flaky.down = False
    deadline = time.monotonic() + 5
    while not Flaky.stored and time.monotonic() < deadline:
        runner.run_until_idle()  # only the queued retry can deliver now
        time.sleep(0.05)
    assert len(Flaky.stored) == len(flaky_app.outbox())


def test_failures_are_recorded_per_sink(flaky_app: Analytics) -> None:
    _, client = flaky_app.user()
    Flaky.down = True
    _changes(client, 1)
    flaky_app.drain()
    with flaky_app.db.unit_of_work(write=False) as session:
        cursor = session.get(SinkCursor, "flaky")
        assert cursor is not None and cursor.failures >= 1
        assert cursor.last_error == "ConnectionRefusedError"
    assert SimpleNamespace(**event_drain.pending(flaky_app.state)).sql == 0


def test_drains_leave_no_rows_and_are_not_users_requests(flaky_app: Analytics) -> None:
    from sqlalchemy import func, select

    from cvatcore.core.models import BackgroundJob

    _, admin = flaky_app.user(("admin",))
    for _ in range(4):
        _changes(admin, 1)
        flaky_app.drain()
    with flaky_app.db.unit_of_work(write=False) as session:
        drains = session.scalar(select(func.count()).select_from(BackgroundJob)
                                .where(BackgroundJob.kind == "drain:events"))
    assert drains <= 1  # the last one's row, until the next drain
    assert admin.get("/api/requests").json()["count"] == 0


def test_the_sql_sink_stores_a_batch_only_with_its_cursor(
        flaky_app: Analytics, monkeypatch: pytest.MonkeyPatch) -> None:
    """The sql sink's rows and its cursor commit together: a drain that dies between the
    two (here: recording the cursor fails) leaves no row, and the next one stores each
    event once with a plain insert (no duplicate check to lean on)."""
    _, client = flaky_app.user()
    _changes(client, 3)  # 6 events, batches of 7 with the user's: one or two batches
    state = flaky_app.state
    move = event_drain._move_cursor

    def broken(session: Any, name: str, seq: int, count: int) -> None:
        if name == "sql":
            raise OSError("the worker died before recording the batch")
        move(session, name, seq, count)

    monkeypatch.setattr(event_drain, "_move_cursor", broken)
    delivered, retry = event_drain.drain_sink(state, "sql", event_drain.safe_bound(state))
    assert (delivered, flaky_app.stored_count()) == (0, 0) and retry is not None
    monkeypatch.setattr(event_drain, "_move_cursor", move)
    with flaky_app.db.unit_of_work() as session:  # no back-off: as if the job ran again
        session.execute(update(SinkCursor).values(failures=0))
    inserts: list[str] = []
    monkeypatch.setattr(type(event_drain.build_sink(state, "sql")), "write_in",
                        _spy(inserts, type(event_drain.build_sink(state, "sql")).write_in))
    delivered, retry = event_drain.drain_sink(state, "sql", event_drain.safe_bound(state))
    assert retry is None and delivered == len(flaky_app.outbox()) == flaky_app.stored_count()
    assert inserts and set(inserts) == {"plain"}
    assert event_drain.pending(state)["sql"] == 0


def _spy(calls: list[str], write_in: Any) -> Any:
    def spied(self: Any, conn: Any, events: list[dict[str, Any]], dedupe: bool = False) -> None:
        calls.append("dedupe" if dedupe else "plain")
        write_in(self, conn, events, dedupe)
    return spied
