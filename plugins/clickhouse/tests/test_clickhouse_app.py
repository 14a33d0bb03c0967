"""cvatcore with the clickhouse sink: ClickHouse down for a while loses no event and doubles
none; the CSV export reads ClickHouse."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import cvatcore_clickhouse
import pytest
from cvatcore_clickhouse.testing import ClickHouseServer

from cvatcore.core.jobs.runner import JobRunner
from cvatcore.hooks.testing.harness import ApiClient, build_test_app, signed_in, test_settings


@pytest.fixture
def app_with(tmp_path: Path, table_options: dict[str, Any]) -> Iterator[Any]:
    """``app_with(sinks)``: an app (SQLite) whose events go to ``sinks``, the ClickHouse
    table being this test's own, and a signed-in client; no job threads."""
    apps: list[Any] = []

    def make(sinks: list[str]) -> tuple[Any, ApiClient]:
        settings = test_settings(tmp_path / str(len(apps)), jobs={"in_process_workers": 0},
                                 analytics={"sinks": sinks, "retry_max_seconds": 0.2,
                                            "options": {"clickhouse": table_options}})
        app = build_test_app(settings, plugins=[(cvatcore_clickhouse, "clickhouse")])
        client = stack.enter_context(signed_in(app, email="ann@example.com"))
        apps.append(app)
        return app, client

    with ExitStack() as stack:
        yield make


def _change(client: ApiClient, n: int) -> None:
    for i in range(n):
        r = client.post("/api/projects", json={"name": f"p{time.monotonic_ns()}-{i}"})
        assert r.status_code == 201
        assert client.patch(f"/api/projects/{r.json()['id']}",
                            json={"name": f"q{i}"}).status_code == 200


def _outbox_ids(app: Any) -> list[str]:
    from sqlalchemy import select

    from cvatcore.core.models import OutboxEvent

    with app.state.cvatcore.db.unit_of_work(write=False) as session:
        return list(session.scalars(select(OutboxEvent.event_id)))


def test_clickhouse_down_for_a_while_loses_and_doubles_nothing(
        app_with: Any, clickhouse: ClickHouseServer, table_options: dict[str, Any]) -> None:
    app, client = app_with(["sql", "clickhouse"])
    runner = JobRunner(app.state.cvatcore)
    _change(client, 5)
    runner.run_until_idle()
    clickhouse.stop()
    try:
        started = time.monotonic()
        _change(client, 10)  # clients keep working while ClickHouse is down...
        assert time.monotonic() - started < 5  # ...and the API does not wait for it
        runner.run_until_idle()
        runner.run_until_idle()
    finally:
        clickhouse.start()
    deadline = time.monotonic() + 20
    table = f"cvat.{table_options['table']}"
    expected = sorted(_outbox_ids(app))
    while True:
        runner.run_until_idle()  # the queued retry delivers once the back-off has passed
        rows = clickhouse.client().query(f"SELECT event_id FROM {table}").result_rows
        if len(rows) >= len(expected) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert sorted(r[0] for r in rows) == expected  # every event, each once


def test_export_reads_clickhouse(app_with: Any) -> None:
    app, client = app_with(["clickhouse"])
    _change(client, 3)
    r = client.post("/api/events/export")
    assert r.status_code == 202
    JobRunner(app.state.cvatcore).run_until_idle()
    request = client.get(f"/api/requests/{r.json()['rq_id']}").json()
    assert request["status"] == "finished", request
    rows = list(csv.DictReader(io.StringIO(client.get(request["result_url"]).text)))
    assert [r["scope"] for r in rows].count("create:project") == 3
    assert [r["scope"] for r in rows].count("update:project") == 3
    assert {r["user_name"] for r in rows} == {"ann"}
    assert rows[0]["timestamp"][:2] == "20" and "T" not in rows[0]["timestamp"]


def test_a_drain_taken_over_after_the_insert_adds_nothing(
        app_with: Any, clickhouse: ClickHouseServer, table_options: dict[str, Any]) -> None:
    """The worker died after ClickHouse took the batch and before the cursor moved: the job's
    next attempt checks the ids."""
    from types import SimpleNamespace

    from cvatcore.core.services import event_drain

    app, client = app_with(["clickhouse"])
    _change(client, 3)
    state = app.state.cvatcore
    bound = event_drain.safe_bound(state)
    event_drain.drain_sink(state, "clickhouse", bound)
    event_drain.rewind(state, "clickhouse", 0)  # as if the cursor had never moved
    retry = SimpleNamespace(attempt=2, lost=SimpleNamespace(is_set=lambda: False),
                            check=lambda: None)
    assert event_drain.drain_sink(state, "clickhouse", bound, retry)[1] is None
    rows = clickhouse.client().query(
        f"SELECT count(), uniqExact(event_id) FROM cvat.{table_options['table']}").result_rows
    assert rows == [(len(_outbox_ids(app)), len(_outbox_ids(app)))]
