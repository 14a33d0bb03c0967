"""Analytics events: ingest rate, drain rate into each sink, latency added to a request.

    python bench/events.py [--batches 30] [--events 40000] [--requests 300]

1. Starts ``cvatcore serve`` (SQLite, ``[analytics] sinks = ["sql"]``, no job threads, so the
   drain runs only when measured) and sends ``--batches`` batches of 1,000 client events to
   ``POST /api/events`` (bodies encoded beforehand), each followed by a raw bulk insert of
   the same records into the same outbox table of the same database file (sqlite3, 1,000
   rows per transaction); prints the events/s of the median batch of each and the ratio
   (target >= 0.5).
2. Fills the outbox to ``--events`` events and drains it into the ``sql`` sink and into the
   ``clickhouse`` sink (the ClickHouse engine, chDB, behind cvatcore-clickhouse's HTTP
   stand-in), each against a raw bulk insert of the same rows into the same store (sqlite3
   ``executemany``; ``clickhouse_connect`` ``insert``) in batches of 1,000; prints the ratios.
3. Runs two servers side by side, one with ``sinks = []`` and one with ``sinks = ["sql"]``,
   and times ``PATCH /api/projects/{id}`` (one change, one event) on each, alternating;
   prints the median added per request (target < 1 ms).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _venv import reexec_in_venv  # noqa: E402

reexec_in_venv("cvatcore_clickhouse")

import httpx  # noqa: E402

from cvatcore.hooks.testing.live import serve_with_admin  # noqa: E402

BATCH = 1000
PASSWORD = "bench-pass-123"


@contextmanager
def server(root: Path, sinks: list[str]) -> Iterator[tuple[httpx.Client, Path]]:
    """A signed-in client of ``cvatcore serve`` with these sinks, and its database file."""
    root.mkdir(parents=True)
    with serve_with_admin(root, f"[jobs]\nin_process_workers = 0\n"
                          f"[analytics]\nsinks = {json.dumps(sinks)}\n", username="bench",
                          password=PASSWORD, email="b@example.com") as live, \
            httpx.Client(base_url=live.url) as client:
        key = client.post("/api/auth/login",
                          json={"username": "bench", "password": PASSWORD}).json()["key"]
        client.headers["Authorization"] = f"Token {key}"
        client.cookies.clear()
        yield client, root / "data" / "cvatcore.db"


def client_batch(n: int) -> dict[str, Any]:
    start = datetime.now(UTC) - timedelta(minutes=30)
    events = [{"scope": "click:element" if i % 5 else "change:frame",
               "timestamp": (start + timedelta(milliseconds=300 * i)).isoformat(),
               "job_id": 1 + i % 7, "task_id": 1, "duration": 200 if i % 5 == 0 else 0,
               "payload": json.dumps({"element": f"button-{i % 13}"})} for i in range(n)]
    return {"events": events, "timestamp": datetime.now(UTC).isoformat()}


def outbox_rows(records: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """Outbox rows as the server writes them: the record carries its event id."""
    now = datetime.now(UTC).isoformat(sep=" ")
    ids = [str(uuid.uuid4()) for _ in records]
    return [(i, now, json.dumps({**r, "id": i}, separators=(",", ":")))
            for i, r in zip(ids, records, strict=True)]


def ingest(client: httpx.Client, db: Path, batches: int) -> None:
    """``batches`` pairs, each one API batch then one raw batch of the same size, so that a
    noisy neighbour on the machine weighs on both sides alike; the ratio of the median
    times. Bodies are encoded before the clock starts: the client's JSON encoding is not
    the server's ingest."""
    body = client_batch(BATCH)
    headers = {"Content-Type": "application/json"}
    client.post("/api/events", content=json.dumps(body), headers=headers).raise_for_status()
    records = [dict(e, source="client", user_id=1) for e in body["events"]]
    con = sqlite3.connect(db)
    apis, raws = [], []
    for _ in range(batches):
        encoded = json.dumps(client_batch(BATCH)).encode()
        started = time.perf_counter()
        client.post("/api/events", content=encoded, headers=headers).raise_for_status()
        apis.append(time.perf_counter() - started)
        started = time.perf_counter()
        with con:
            con.executemany("INSERT INTO analytics_outbox (event_id, created_date, record) "
                            "VALUES (?, ?, ?)", outbox_rows(records))
        raws.append(time.perf_counter() - started)
    con.close()
    api, raw = BATCH / statistics.median(apis), BATCH / statistics.median(raws)
    print(f"POST /api/events, batches of {BATCH}: {api:,.0f} events/s; raw bulk insert into "
          f"the outbox: {raw:,.0f} events/s ({batches} batches each, interleaved; medians); "
          f"ratio {api / raw:.2f} (target >= 0.5)")


def drain(db: Path, config: Path, total: int, clickhouse: Any, rounds: int = 20) -> None:
    """Drain into each sink, against raw bulk inserts of the same rows into the same store;
    ``rounds`` rounds of ``total / rounds`` new events each (many short rounds: a noisy
    neighbour then weighs on a round's both sides alike), the median ratio per sink."""
    import os

    from cvatcore.core.config import load_settings
    from cvatcore.core.services import event_drain
    from cvatcore.core.state import AppState

    os.environ.pop("CVATCORE_DISABLE_PLUGIN_AUTOLOAD", None)
    settings = load_settings(str(config), analytics={
        "sinks": ["sql", "clickhouse"], "options": {"clickhouse": clickhouse.options}})
    state = AppState.build(settings)
    con = sqlite3.connect(db)
    template = [json.loads(r) for (r,) in con.execute(
        "SELECT record FROM analytics_outbox LIMIT ?", (BATCH,))]
    # Everything already there goes first, untimed; then once-per-process costs out of the
    # way (clickhouse-connect imports pandas on its first insert; the sink makes its
    # table): a server pays them once, not per batch.
    for name in ("sql", "clickhouse"):
        event_drain.drain_sink(state, name, event_drain.safe_bound(state))
    raw_clickhouse(clickhouse, template[:10])
    rates: dict[str, list[tuple[float, float]]] = {"sql": [], "clickhouse": []}
    for _ in range(rounds):
        rows = []
        with con:
            for _ in range(max(1, total // rounds // BATCH)):
                fresh = [{**r, "id": str(uuid.uuid4())} for r in template]
                con.executemany("INSERT INTO analytics_outbox (event_id, created_date, record) "
                                "VALUES (?, ?, ?)", [(r["id"], "2026-01-01 00:00:00.000000",
                                                      json.dumps(r)) for r in fresh])
                rows += fresh
        bound = event_drain.safe_bound(state)
        for name in ("sql", "clickhouse"):
            started = time.perf_counter()
            count, failed = event_drain.drain_sink(state, name, bound)
            assert failed is None and count == len(rows), f"{name} failed"
            rate = count / (time.perf_counter() - started)
            raw = raw_sql(con, rows) if name == "sql" else raw_clickhouse(clickhouse, rows)
            rates[name].append((rate, raw))
    for name, pairs in rates.items():
        ratios = [a / b for a, b in pairs]
        low, _, high = statistics.quantiles(ratios, n=4)
        print(f"outbox -> {name}: {statistics.median(a for a, _ in pairs):,.0f} events/s; raw "
              f"bulk insert of the same rows: {statistics.median(b for _, b in pairs):,.0f} "
              f"events/s; ratio over {len(ratios)} rounds: median "
              f"{statistics.median(ratios):.2f}, quartiles {low:.2f}-{high:.2f} "
              f"(target >= 0.5)")
    con.close()
    state.db.dispose()


def raw_sql(con: sqlite3.Connection, rows: list[dict[str, Any]]) -> float:
    from cvatcore.hooks import EVENT_FIELDS

    columns = ("id", *EVENT_FIELDS)
    values = [[str(uuid.uuid4()) if c == "id" else r.get(c) for c in columns] for r in rows]
    marks = ", ".join("?" * len(columns))
    started = time.perf_counter()
    for i in range(0, len(values), BATCH):
        with con:
            con.executemany(f"INSERT INTO analytics_events ({', '.join(columns)}) "
                            f"VALUES ({marks})", values[i:i + BATCH])
    return len(values) / (time.perf_counter() - started)


def raw_clickhouse(clickhouse: Any, rows: list[dict[str, Any]]) -> float:
    from cvatcore_clickhouse.ddl import statements
    from cvatcore_clickhouse.sink import COLUMNS, _row

    client = clickhouse.client()
    for statement in statements("cvat", "raw_events"):
        client.command(statement)
    values = [_row({**r, "id": str(uuid.uuid4())}) for r in rows]
    started = time.perf_counter()
    for i in range(0, len(values), BATCH):
        client.insert("cvat.raw_events", values[i:i + BATCH], column_names=list(COLUMNS))
    return len(values) / (time.perf_counter() - started)


def latency(root: Path, requests: int) -> None:
    with ExitStack() as stack:
        sides = {name: stack.enter_context(server(root / name, sinks))
                 for name, sinks in (("none", []), ("sql", ["sql"]))}
        projects = {}
        for name, (client, _) in sides.items():
            projects[name] = client.post("/api/projects", json={"name": "p"}).json()["id"]
        times: dict[str, list[float]] = {"none": [], "sql": []}
        for i in range(requests + 20):
            for name, (client, _) in sides.items():
                started = time.perf_counter()
                client.patch(f"/api/projects/{projects[name]}",
                             json={"name": f"n{i}"}).raise_for_status()
                if i >= 20:  # warm-up
                    times[name].append(time.perf_counter() - started)
        base, with_events = (statistics.median(times[n]) * 1000 for n in ("none", "sql"))
        print(f"PATCH /api/projects/{{id}} (one event): {base:.2f} ms without sinks, "
              f"{with_events:.2f} ms with the sql sink: {with_events - base:+.2f} ms per "
              f"request (target < 1 ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=30)
    parser.add_argument("--events", type=int, default=40_000)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    from cvatcore_clickhouse.testing import start_clickhouse

    root = Path(tempfile.mkdtemp(prefix="bench-events-"))
    clickhouse = start_clickhouse()
    try:
        with server(root / "ingest", ["sql"]) as (client, db):
            ingest(client, db, args.batches)
        drain(db, root / "ingest" / "cvatcore.toml", args.events, clickhouse)
    finally:
        clickhouse.stop()
    latency(root / "latency", args.requests)


if __name__ == "__main__":
    main()
