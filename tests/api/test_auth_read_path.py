"""Signing in per request writes nothing: reads answer while another writer holds SQLite's
write lock (a task's data being created), and leave the account untouched."""

from __future__ import annotations

import base64
import io
import sqlite3
import time
from contextlib import contextmanager

import pytest
from PIL import Image
from sqlalchemy import select

from cvatcore.core.models import AccessToken, User
from cvatcore.hooks.testing import ApiClient, build_test_app, test_settings


@pytest.fixture
def app(tmp_path):
    app = build_test_app(test_settings(tmp_path, jobs={"in_process_workers": 0}))
    with app.state.cvatcore.db.unit_of_work() as session:
        from cvatcore.core.services.accounts import create_user
        from cvatcore.core.services.caller import Caller

        create_user(Caller.system(app.state.cvatcore, session), "alice", "alice-pass-1")
    return app


@contextmanager
def write_lock_held(app):
    """Another connection in the middle of a long write transaction, as a task-data job is."""
    conn = sqlite3.connect(app.state.cvatcore.db.engine.url.database, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("UPDATE users SET first_name = first_name WHERE id < 0")
    try:
        yield
    finally:
        conn.execute("ROLLBACK")
        conn.close()


def _credentials(app, password="alice-pass-1"):
    """Headers for each way a client signs in: Basic, Token, Bearer, session cookie."""
    with ApiClient(app) as client:
        key = client.login("alice", password)["key"]
        token = client.post("/api/auth/access_tokens", json={"name": "ci"}).json()["value"]
        session = client.cookies["sessionid"]
    basic = base64.b64encode(f"alice:{password}".encode()).decode()
    return {
        "basic": {"Authorization": f"Basic {basic}"},
        "token": {"Authorization": f"Token {key}"},
        "bearer": {"Authorization": f"Bearer {token}"},
        "session": {"Cookie": f"sessionid={session}"},
    }


def _user_row(app):
    with app.state.cvatcore.db.unit_of_work(write=False) as session:
        user = session.scalar(select(User).where(User.username == "alice"))
        return {c.key: getattr(user, c.key) for c in User.__table__.columns}


def _queued_task_data_request(app):
    """The ``rq_id`` of a task's data creation, queued (no worker runs in this app)."""
    image = io.BytesIO()
    Image.new("RGB", (8, 8)).save(image, format="PNG")
    with ApiClient(app) as client:
        client.login("alice", "alice-pass-1")
        task = client.post("/api/tasks", json={"name": "t", "labels": [{"name": "car"}]})
        r = client.post(f"/api/tasks/{task.json()['id']}/data", data={"image_quality": "70"},
                        files=[("client_files[0]", ("a.png", image.getvalue()))])
        assert r.status_code == 202, r.text
        return r.json()["rq_id"]


def test_reads_answer_while_another_writer_holds_the_lock(app):
    credentials = _credentials(app)
    rq_id = _queued_task_data_request(app)
    paths = ("/api/users/self", f"/api/requests/{rq_id}", "/api/requests",
             "/api/auth/access_tokens")
    with ApiClient(app) as client, write_lock_held(app):
        for how, headers in credentials.items():
            for path in paths:
                started = time.monotonic()
                r = client.get(path, headers=headers)
                took = time.monotonic() - started
                assert r.status_code == 200, (how, path, r.text)
                assert took < 2, (how, path, took)


def test_signing_in_per_request_leaves_the_account_unchanged(cvatcore_app, make_user):
    app = cvatcore_app  # SQLite and PostgreSQL
    make_user("alice")
    credentials = _credentials(app, "alice-pass")
    before = _user_row(app)
    with ApiClient(app) as client:
        for _ in range(2):
            for headers in credentials.values():
                assert client.get("/api/users/self", headers=headers).status_code == 200
    assert _user_row(app) == before
    assert before["last_login"] is not None  # set once, by /api/auth/login, as CVAT does


def test_token_last_use_is_recorded_but_never_waited_for(app):
    credentials = _credentials(app)
    with ApiClient(app) as client:
        with write_lock_held(app):  # given up at once: the lock is taken
            assert client.get("/api/users/self", headers=credentials["bearer"]).status_code == 200
        with app.state.cvatcore.db.unit_of_work(write=False) as session:
            assert session.scalar(select(AccessToken.last_used_date)) is None
        assert client.get("/api/users/self", headers=credentials["bearer"]).status_code == 200
        with app.state.cvatcore.db.unit_of_work(write=False) as session:
            assert session.scalar(select(AccessToken.last_used_date)) is not None
