"""Every panel of deploy/grafana's dashboards runs on the ClickHouse engine against the table
the sink writes, and returns the columns the panel plots."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cvatcore_clickhouse import ClickHouseSink

DASHBOARDS = Path(__file__).resolve().parents[3] / "deploy" / "grafana" / "dashboards"
NOW = datetime.now(UTC)


def _panels() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted(DASHBOARDS.glob("*.json")):
        dashboard = json.loads(path.read_text())
        found += [(f"{dashboard['title']}: {p['title']}", p) for p in dashboard["panels"]]
    return found


def _sql(raw: str, table: str) -> str:
    """The grafana-clickhouse-datasource macros, expanded as the plugin does for a range."""
    start = (NOW - timedelta(days=7)).strftime("%Y-%m-%d %H:%M:%S")
    end = (NOW + timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M:%S")
    sql = re.sub(r"\$__timeFilter\((\w+)\)",
                 rf"\1 >= toDateTime('{start}') AND \1 <= toDateTime('{end}')", raw)
    sql = re.sub(r"\$__timeInterval\((\w+)\)", r"toStartOfInterval(\1, INTERVAL 60 second)", sql)
    assert "$" not in sql, f"an unexpanded macro or variable in {raw}"
    return sql.replace("cvat.events", table)


@pytest.fixture(scope="module")
def filled(clickhouse: Any) -> str:
    """A table with server and client events, working time and exceptions."""
    from cvatcore_clickhouse import ClickHouseConfig

    sink = ClickHouseSink(ClickHouseConfig(**clickhouse.options, table="grafana_events"))
    stamp = NOW - timedelta(hours=1)
    events = []
    for i in range(40):
        base = {"id": f"g-{i}", "timestamp": (stamp + timedelta(seconds=i)).isoformat(),
                "user_id": i % 3, "user_name": f"user{i % 3}", "org_id": 1, "org_slug": "acme",
                "project_id": 1, "task_id": 2, "job_id": 3 + i % 2}
        scope, source, payload, duration = "create:task", "server", "{}", 0
        if i % 4 == 1:
            scope, source, duration = "send:working_time", "client", 1000 * i
            payload = json.dumps({"working_time": 1000 * i})
        elif i % 4 == 2:
            scope, source = "send:exception", "client"
            payload = json.dumps({"message": "boom", "stack": "at x", "status_code": 500})
        elif i % 4 == 3:
            scope, source, duration = "change:frame", "client", 120
        events.append({**base, "scope": scope, "source": source, "payload": payload,
                       "duration": duration})
    sink.write(events)
    sink.close()
    return "cvat.grafana_events"


@pytest.mark.parametrize("title, panel", _panels(), ids=[t for t, _ in _panels()])
def test_panel_sql_returns_what_the_panel_plots(clickhouse: Any, filled: str, title: str,
                                                panel: dict[str, Any]) -> None:
    client = clickhouse.client()
    for target in panel["targets"]:
        result = client.query(_sql(target["rawSql"], filled))
        columns = list(result.column_names)
        assert result.result_rows, f"{title}: no rows"
        if panel["type"] == "timeseries":
            assert columns[0] == "time" and len(columns) >= 2, columns
            assert isinstance(result.result_rows[0][0], datetime)
        else:
            (organize,) = [t for t in panel["transformations"] if t["id"] == "organize"]
            assert columns == list(organize["options"]["indexByName"]), columns


def test_the_three_dashboards_are_provisioned() -> None:
    titles = {json.loads(p.read_text())["title"] for p in DASHBOARDS.glob("*.json")}
    assert titles == {"All events", "Management", "Monitoring"}
    provisioning = DASHBOARDS.parent / "provisioning"
    assert "grafana-clickhouse-datasource" in (
        provisioning / "datasources" / "clickhouse.yaml").read_text()
    assert "/var/lib/grafana/dashboards" in (
        provisioning / "dashboards" / "cvat.yaml").read_text()
