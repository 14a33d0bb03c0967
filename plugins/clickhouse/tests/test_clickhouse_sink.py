"""The sink against the ClickHouse engine (chDB): CVAT's table, batched inserts, each event
id once, reading back with filters."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from cvatcore_clickhouse import ClickHouseSink

from cvatcore.hooks import EventQuery
from cvatcore.hooks.testing.contracts import StoresEachEventOnceContract


class TestClickHouseSinkContract(StoresEachEventOnceContract):
    @pytest.fixture
    def event_sink(self, sink: ClickHouseSink) -> ClickHouseSink:
        return sink

    @pytest.fixture
    def read_events(self, sink: ClickHouseSink) -> Any:
        def read() -> list[dict[str, Any]]:
            rows = sink.client().query(f"SELECT scope, obj_id FROM {sink.table}").result_rows
            return [{"scope": s, "obj_id": i} for s, i in rows]
        return read


def _event(i: int, **fields: Any) -> dict[str, Any]:
    return {"id": f"ev-{i}", "scope": "update:job", "obj_name": "state", "obj_val": "new",
            "source": "server", "timestamp": f"2026-03-01T10:00:{i % 60:02d}.250Z",
            "duration": 0, "job_id": i % 3, "user_id": 7, "payload": '{"old_value": "x"}',
            **fields}


def test_cvat_columns_and_types(sink: ClickHouseSink) -> None:
    sink.write([_event(1)])
    columns = sink.client().query(
        f"SELECT name, type FROM system.columns WHERE database = 'cvat' AND "
        f"table = '{sink.config.table}' ORDER BY position").result_rows
    assert columns[:6] == [("scope", "String"), ("obj_name", "Nullable(String)"),
                           ("obj_id", "Nullable(UInt64)"), ("obj_val", "Nullable(String)"),
                           ("source", "String"), ("timestamp", "DateTime64(3, 'Etc/UTC')")]
    assert [name for name, _ in columns[-2:]] == ["api_token", "event_id"]


def test_a_batch_handed_again_adds_nothing(sink: ClickHouseSink) -> None:
    batch = [_event(i) for i in range(50)]
    sink.write(batch[:30])
    sink.write(batch)  # a replay of the first 30, plus 20 new ones
    sink.write(batch[10:20])
    count = sink.client().query(f"SELECT count(), uniqExact(event_id) FROM {sink.table}")
    assert count.result_rows == [(50, 50)]


def test_read_filters_and_orders(sink: ClickHouseSink) -> None:
    sink.write([_event(i, org_id=1 if i < 6 else 2) for i in range(10)])
    everything = EventQuery(start=datetime(2026, 1, 1, tzinfo=UTC),
                            end=datetime(2026, 12, 31, tzinfo=UTC))
    rows = list(sink.read(everything))
    assert [r["timestamp"].second for r in rows] == list(range(10))
    assert rows[0]["timestamp"].tzinfo is not None and rows[0]["obj_val"] == "new"
    narrowed = EventQuery(start=everything.start, end=everything.end, org_id=1, job_id=0)
    assert [r["timestamp"].second for r in sink.read(narrowed)] == [0, 3]
    late = EventQuery(start=datetime(2026, 3, 1, 10, 0, 8, tzinfo=UTC), end=everything.end)
    assert len(list(sink.read(late))) == 2


def test_a_full_batch_of_odd_ids_is_checked_and_stored_once(sink: ClickHouseSink) -> None:
    batch = [_event(i, id=f"it's-{i}\\{'x' * 40}") for i in range(1000)]
    sink.write(batch)
    sink.write(batch)
    count = sink.client().query(f"SELECT count(), uniqExact(event_id) FROM {sink.table}")
    assert count.result_rows == [(1000, 1000)]
