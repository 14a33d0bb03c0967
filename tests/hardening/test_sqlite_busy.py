"""A write that waits past SQLite's busy timeout is a 503 with Retry-After, never a 500;
reads go on meanwhile, and the next write succeeds once the lock is free."""

from __future__ import annotations

import sqlite3

from cvatcore.hooks.testing import ApiClient, build_test_app, test_settings


def test_write_past_busy_timeout_is_503(tmp_path):
    settings = test_settings(tmp_path, jobs={"in_process_workers": 0},
                             database={"busy_timeout_seconds": 0.2})
    app = build_test_app(settings)
    path = settings.database_url().split("///", 1)[1]
    try:
        with ApiClient(app) as client:
            client.post("/api/auth/register", json={
                "username": "boss", "password1": "Boss-pass-123",
                "password2": "Boss-pass-123", "email": "b@example.com"})
            client.login("boss", "Boss-pass-123")
            holder = sqlite3.connect(path, isolation_level=None)
            holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
            try:
                r = client.post("/api/projects", json={"name": "p"})
                assert r.status_code == 503, r.text
                assert r.headers["retry-after"] == "1" and "busy" in r.json()["detail"]
                assert client.get("/api/projects").status_code == 200
            finally:
                holder.execute("ROLLBACK")
                holder.close()
            assert client.post("/api/projects", json={"name": "p"}).status_code == 201
    finally:
        app.state.cvatcore.db.dispose()
