"""``cvatcore events``: tail, export a time range as CSV, re-send the outbox to a sink."""

from __future__ import annotations

import csv
import io
import json
from contextlib import ExitStack
from pathlib import Path

from sqlalchemy import delete

from cvatcore.core.config import load_settings
from cvatcore.core.models import StoredEvent
from cvatcore.hooks.testing.harness import build_test_app, invoke_cli

from .support import Analytics


def test_tail_export_and_resend(tmp_path: Path) -> None:
    config = tmp_path / "cvatcore.toml"
    config.write_text(f'[server]\ndata_dir = "{tmp_path / "data"}"\n'
                      '[jobs]\nin_process_workers = 0\n[analytics]\nsinks = ["sql"]\n')
    env = {"CVATCORE_CONFIG": str(config)}
    assert invoke_cli(["db", "upgrade"], env=env).exit_code == 0
    app = build_test_app(load_settings(str(config)))
    with ExitStack() as stack:
        analytics = Analytics(app, stack)
        _, client = analytics.user()
        for name in ("one", "two"):
            client.post("/api/projects", json={"name": name})
        analytics.drain()

        tail = invoke_cli(["events", "tail", "-n", "1", "--scope", "create:project"], env=env)
        assert tail.exit_code == 0, tail.stderr
        assert [json.loads(line)["obj_name"] for line in tail.stdout.splitlines()] == ["two"]

        out = tmp_path / "events.csv"
        result = invoke_cli(["events", "export", "-o", str(out)], env=env)
        assert result.exit_code == 0, result.stderr
        rows = list(csv.DictReader(io.StringIO(out.read_text())))
        assert [r["obj_name"] for r in rows if r["scope"] == "create:project"] == ["one", "two"]
        future = invoke_cli(["events", "export", "--from", "2999-01-01"], env=env)
        assert future.stdout.count("\n") == 1  # the header only

        with analytics.db.unit_of_work() as session:  # the sink's store lost its rows
            session.execute(delete(StoredEvent))
        result = invoke_cli(["events", "resend", "sql"], env=env)
        assert result.exit_code == 0 and "handed" in result.stdout, result.stderr
        assert analytics.stored_count() == len(analytics.outbox())
        again = invoke_cli(["events", "resend", "sql"], env=env)  # nothing doubles
        assert again.exit_code == 0 and analytics.stored_count() == len(analytics.outbox())
        status = invoke_cli(["events", "status"], env=env)
        assert json.loads(status.stdout)["pending"] == 0
        assert invoke_cli(["events", "resend", "nope"], env=env).exit_code == 1
    app.state.cvatcore.db.dispose()
