"""``GET /api/server/health`` and ``/metrics``: what a load balancer and Prometheus read."""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest

from cvatcore.core.app import create_app
from cvatcore.core.models.jobs import BackgroundJob
from cvatcore.core.plugins import make_plugin_manager
from cvatcore.core.state import AppState
from cvatcore.hooks.testing import ApiClient, build_test_app, test_settings
from cvatcore.hooks.testing.env import no_plugin_autoload
from cvatcore.hooks.testing.live import serve


def _queue_old_job(app, kind="create:task") -> None:
    with app.state.cvatcore.db.unit_of_work() as session:
        session.add(BackgroundJob(id="old-1", kind=kind, args={}, status="queued",
                                  next_run_at=datetime.now(UTC) - timedelta(minutes=30)))


def test_health_without_signing_in(cvatcore_client):
    answer = cvatcore_client.get("/api/server/health")
    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["workers"] == {"status": "ok", "queued": 0, "running": 0,
                                         "oldest_queued_seconds": 0.0}
    assert body["checks"]["sinks"] == {"status": "ok", "sinks": {}}  # none configured


def test_health_and_metrics_show_how_far_each_sink_is_behind(tmp_path):
    """Events wait in the outbox until a drain job hands them to the sink: the backlog is
    shown, a sink whose oldest waiting event is old is stalled, and a drain empties it."""
    from cvatcore.core.jobs.runner import JobRunner
    from cvatcore.core.models.analytics import OutboxEvent

    app = build_test_app(test_settings(tmp_path, jobs={"in_process_workers": 0},
                                       analytics={"sinks": ["sql"]}))
    try:
        with ApiClient(app) as client:
            client.post("/api/auth/register", json={
                "username": "ann", "password1": "Ann-pass-1234", "password2": "Ann-pass-1234",
                "email": "ann@example.com"})
            client.login("ann", "Ann-pass-1234")
            assert client.post("/api/projects", json={"name": "p"}).status_code == 201
            sql = client.get("/api/server/health").json()["checks"]["sinks"]["sinks"]["sql"]
            assert sql["status"] == "ok" and sql["backlog"] >= 2  # register, create:project
            text = client.get("/metrics").text
            assert re.search(r'cvatcore_event_sink_backlog\{sink="sql"\} [1-9]', text), text
            assert 'cvatcore_webhook_deliveries{state="pending"} 0.0' in text
            with app.state.cvatcore.db.unit_of_work() as session:  # an event waiting 30 min
                session.query(OutboxEvent).update(
                    {"created_date": datetime.now(UTC) - timedelta(minutes=30)})
            body = client.get("/api/server/health").json()
            assert body["status"] == "degraded"
            assert body["checks"]["sinks"]["sinks"]["sql"]["status"] == "stalled"
            JobRunner(app.state.cvatcore).run_until_idle()
            sql = client.get("/api/server/health").json()["checks"]["sinks"]["sinks"]["sql"]
            assert (sql["status"], sql["backlog"]) == ("ok", 0)
    finally:
        app.state.cvatcore.db.dispose()


def test_health_says_when_no_worker_takes_the_work(tmp_path):
    app = build_test_app(test_settings(tmp_path, jobs={"in_process_workers": 0}))
    try:
        _queue_old_job(app)
        with ApiClient(app) as client:
            answer = client.get("/api/server/health")
        assert answer.status_code == 200  # the server itself still answers
        workers = answer.json()["checks"]["workers"]
        assert answer.json()["status"] == "degraded"
        assert workers["status"] == "stalled" and workers["queued"] == 1
        assert workers["oldest_queued_seconds"] >= 29 * 60
    finally:
        app.state.cvatcore.db.dispose()


def test_health_is_503_without_a_database_and_shows_no_password(tmp_path):
    url = "postgresql+psycopg://cvat:hunter2-secret@127.0.0.1:1/cvat"
    settings = test_settings(tmp_path, url, jobs={"in_process_workers": 0})
    with no_plugin_autoload():
        state = AppState.build(settings, make_plugin_manager())
    app = create_app(state=state, migrate=False)
    with ApiClient(app) as client:
        answer = client.get("/api/server/health")
    assert answer.status_code == 503
    assert answer.json()["status"] == "failing"
    assert answer.json()["checks"]["database"]["status"] == "failing"
    assert "hunter2" not in answer.text


def test_metrics_count_requests_by_route_template_and_show_the_queue(tmp_path):
    app = build_test_app(test_settings(tmp_path, jobs={"in_process_workers": 0}))
    try:
        _queue_old_job(app)
        with ApiClient(app) as client:
            for n in (1, 2, 3):
                client.get(f"/api/projects/{n}")
            text = client.get("/metrics").text
        counts = re.findall(
            r'cvatcore_http_request_duration_seconds_count\{method="GET",'
            r'route="([^"]+)",status="(\d+)"\} (\S+)', text)
        assert [(route, count) for route, _, count in counts] == [("/api/projects/{id}", "3.0")]
        assert 'cvatcore_jobs{kind="create:task",status="queued"} 1.0' in text
    finally:
        app.state.cvatcore.db.dispose()


def test_json_logs_carry_the_request_id(tmp_path):
    """A real ``cvatcore serve`` with JSON logs and the access log: a request's line is a JSON
    object holding the request's X-Request-Id."""
    config = tmp_path / "cvatcore.toml"
    config.write_text(f'[server]\ndata_dir = "{tmp_path / "data"}"\nlog_format = "json"\n'
                      'access_log = true\n')
    log = tmp_path / "serve.log"
    with serve({**os.environ, "CVATCORE_CONFIG": str(config)}, log) as url:
        request = urllib.request.Request(url + "/api/projects/5",
                                         headers={"X-Request-Id": "trace-me-42"})
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(request, timeout=10)
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    assert lines, log.read_text()
    assert all({"time", "level", "logger", "message", "request_id"} <= set(line)
               for line in lines)
    mine = [line for line in lines if line["request_id"] == "trace-me-42"]
    assert [line["logger"] for line in mine] == ["cvatcore.access"], lines
    assert mine[0]["message"].startswith("GET /api/projects/5 4")
