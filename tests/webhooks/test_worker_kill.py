"""Durability: ``cvatcore worker`` processes on PostgreSQL share the deliveries; one killed
with SIGKILL in the middle of a delivery loses nothing (its drain is taken over when the
lease runs out and the delivery is sent again: at least once, in order)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import httpx
import pytest
from sqlalchemy import create_engine, text

from cvatcore.hooks.testing.databases import postgres_database
from cvatcore.hooks.testing.live import BIN, serve_with_admin
from cvatcore.hooks.testing.receiver import http_receiver


def _worker(env, log):
    with log.open("ab") as out:
        return subprocess.Popen([str(BIN / "cvatcore"), "worker", "--threads", "1"], env=env,
                                stdout=out, stderr=subprocess.STDOUT)


def _holder(url: str) -> int | None:
    """The pid of the worker holding a started drain job, from its lease owner."""
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            owner = conn.scalar(text("SELECT lease_owner FROM background_jobs WHERE kind = "
                                     "'deliver:webhook' AND status = 'started'"))
    finally:
        engine.dispose()
    return int(owner.split(":")[1]) if owner else None


@pytest.mark.postgres
def test_killed_worker_loses_no_delivery(tmp_path):
    with postgres_database() as db_url, http_receiver() as receiver:
        settings = ('\n[outbound]\nallow = ["127.0.0.1"]\n\n'
                    '[jobs]\nin_process_workers = 0\npoll_seconds = 0.1\nlease_seconds = 1.0\n')
        log = tmp_path / "workers.log"
        with serve_with_admin(tmp_path, settings, database_url=db_url) as live, \
                httpx.Client(base_url=live.url, auth=live.credentials, timeout=30) as api:
            project = api.post("/api/projects", json={"name": "p"}).json()
            assert api.post("/api/webhooks", json={
                "target_url": receiver.url, "type": "project", "project_id": project["id"],
                "events": ["create:task"]}).status_code == 201
            receiver.delay = 2.0  # the first delivery hangs at the receiver
            names = [f"t{i}" for i in range(5)]
            for name in names:
                api.post("/api/tasks", json={"name": name, "project_id": project["id"]})
            workers = [_worker(live.env, log), _worker(live.env, log)]
            try:
                receiver.wait_for(1, timeout=30)
                pid = _holder(db_url)
                victim = next(w for w in workers if w.pid == pid)
                os.kill(victim.pid, signal.SIGKILL)
                victim.wait(timeout=10)
                receiver.delay = 0.0
                received = receiver.wait_for(len(names) + 1, timeout=30)
            finally:
                for worker in workers:
                    if worker.poll() is None:
                        worker.send_signal(signal.SIGTERM)
                        worker.wait(timeout=15)
            got = [json.loads(r.body)["task"]["name"] for r in received]
            assert got[0] == got[1] == names[0]  # sent again after the kill: at least once
            assert got[1:] == names  # then every event, in order
            time.sleep(0.3)
            hooks = api.get("/api/webhooks").json()["results"]
            deliveries = api.get(f"/api/webhooks/{hooks[0]['id']}/deliveries").json()
            assert deliveries["count"] == len(names)
            assert {d["state"] for d in deliveries["results"]} == {"delivered"}
