"""Deliveries handed to the running drain (``webhooks_handoff``): what is committed in the
drain's process, or on PostgreSQL in any process, is sent without reading the outbox, yet
in commit order even when another process's delivery comes in between, and always signed
with the webhook's secret of the moment (a hand-off from another process carries none)."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from cvatcore.core.jobs.runner import JobRunner
from cvatcore.hooks.testing import build_test_app, test_settings
from cvatcore.hooks.testing.databases import postgres_database
from cvatcore.hooks.testing.harness import signed_in
from cvatcore.hooks.testing.receiver import http_receiver

BIN = Path(sys.executable).parent

# Renames a project as its owner, in a process of its own (another server replica, say).
RENAME = """
import sys
from pathlib import Path
from sqlalchemy import select
from cvatcore.core.models import User
from cvatcore.core.services import projects
from cvatcore.core.services.caller import Caller
from cvatcore.hooks.testing import build_test_app, test_settings
data_dir, url, owner, project_id, name = sys.argv[1:]
state = build_test_app(test_settings(Path(data_dir), url or None)).state.cvatcore
with state.db.unit_of_work() as session:
    user = session.scalar(select(User).where(User.username == owner))
    projects.update(Caller(state, session, user), int(project_id), {"name": name})
state.db.dispose()
"""


def _rename_elsewhere(settings, owner: str, project_id: int, name: str) -> None:
    url = settings.database.url
    subprocess.run([sys.executable, "-c", RENAME, str(settings.server.data_dir),
                    url.get_secret_value() if url else "",
                    owner, str(project_id), name], check=True, timeout=120)


def _names(received) -> list[str]:
    return [json.loads(r.body)["project"]["name"] for r in received]


def test_a_delivery_from_another_process_keeps_its_place(people, receiver, cvatcore_app,
                                                         cvatcore_settings):
    """The drain sends this process's renames as they are handed over; the other process's
    rename in between (SQLite: not handed over; PostgreSQL: by ``NOTIFY``) goes out in its
    place, and so does the rename after it, whichever the drain hears of first."""
    owner, ann = people.user()
    project = ann.post("/api/projects", json={"name": "p"}).json()
    hook = ann.post("/api/webhooks", json={
        "target_url": f"{receiver.url}/h", "type": "project", "project_id": project["id"],
        "events": ["update:project"]}).json()
    state = cvatcore_app.state.cvatcore
    state.settings.webhooks.linger_seconds = 6.0  # one drain, across the other process
    try:
        ann.patch(f"/api/projects/{project['id']}", json={"name": "a0"})
        worker = threading.Thread(target=JobRunner(state).run_one)  # that drain, and no other
        worker.start()
        receiver.wait_for(1)
        ann.patch(f"/api/projects/{project['id']}", json={"name": "a1"})
        _rename_elsewhere(cvatcore_settings, owner.username, project["id"], "x2")
        ann.patch(f"/api/projects/{project['id']}", json={"name": "a3"})
        ann.patch(f"/api/projects/{project['id']}", json={"name": "a4"})
        received = receiver.wait_for(5)
        worker.join(timeout=20)
        assert not worker.is_alive()
    finally:
        state.settings.webhooks.linger_seconds = 0.0
    assert _names(received) == ["a0", "a1", "x2", "a3", "a4"]
    deliveries = ann.get(f"/api/webhooks/{hook['id']}/deliveries").json()["results"]
    assert sorted(d["status_code"] for d in deliveries) == [200] * 5


def _signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@pytest.mark.postgres
def test_a_worker_process_signs_with_the_secret_of_the_moment(tmp_path):
    """A ``cvatcore worker`` hears this process's deliveries by ``NOTIFY`` (no secret in
    them): after the secret changes, the next delivery is signed with the new one."""
    data_dir = tmp_path / "data"
    with postgres_database() as db_url, http_receiver() as receiver:
        app = build_test_app(test_settings(data_dir, db_url, jobs={"in_process_workers": 0}))
        config = tmp_path / "worker.toml"
        config.write_text(
            f'[server]\ndata_dir = "{data_dir}"\n\n[database]\nurl = "{db_url}"\n\n'
            '[outbound]\nallow = ["127.0.0.1"]\n\n[analytics]\nsinks = []\n\n'
            '[jobs]\nin_process_workers = 0\npoll_seconds = 0.1\n')
        log = tmp_path / "worker.log"
        with log.open("wb") as out:
            worker = subprocess.Popen(
                [str(BIN / "cvatcore"), "worker", "--threads", "1"], stdout=out,
                stderr=subprocess.STDOUT, env={**os.environ, "CVATCORE_CONFIG": str(config)})
        try:
            with signed_in(app) as ann:
                project = ann.post("/api/projects", json={"name": "p"}).json()
                hook = ann.post("/api/webhooks", json={
                    "target_url": f"{receiver.url}/h", "type": "project",
                    "project_id": project["id"], "events": ["update:project"],
                    "secret": "first-secret"}).json()
                for name in ("a0", "a1", "a2"):
                    ann.patch(f"/api/projects/{project['id']}", json={"name": name})
                receiver.wait_for(3, timeout=30)
                assert ann.patch(f"/api/webhooks/{hook['id']}",
                                 json={"secret": "second-secret"}).status_code == 200
                for name in ("b0", "b1"):
                    ann.patch(f"/api/projects/{project['id']}", json={"name": name})
                received = receiver.wait_for(5, timeout=30)
        finally:
            worker.terminate()
            worker.wait(timeout=30)
    assert _names(received) == ["a0", "a1", "a2", "b0", "b1"], log.read_text()
    secrets = ["first-secret"] * 3 + ["second-secret"] * 2
    assert [r.headers["X-Signature-256"] for r in received] == [
        _signature(secret, r.body) for secret, r in zip(secrets, received, strict=True)]
