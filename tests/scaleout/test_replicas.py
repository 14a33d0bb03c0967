"""Scale-out shown, not claimed: two ``cvatcore serve`` replicas and two ``cvatcore worker``
processes, each with its own empty data directory, over one PostgreSQL database with the
media store in S3 (a moto server). A task made through one replica is served by the other;
the workers share the background jobs and none runs twice; a worker killed in the middle of
a job leaves it to the other."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from PIL import Image

from cvatcore.hooks.testing.databases import postgres_database
from cvatcore.hooks.testing.live import BIN, serve_with_admin, settings_env

pytestmark = pytest.mark.postgres

PASSWORD = "Sc4le-Out-Replicas"


def _settings(endpoint: str, bucket: str, key: str) -> str:
    """What every process shares besides the database: the secrets, the jobs' timing and
    the media bucket."""
    return f"""
[secrets]
keys = ["{key}"]
[jobs]
in_process_workers = 0
lease_seconds = 3
poll_seconds = 0.2
[outbound]
allow = ["127.0.0.1"]
[storage.media]
provider = "s3"
[storage.media.options]
bucket = "{bucket}"
endpoint_url = "{endpoint}"
region = "us-east-1"
credentials_type = "KEY_SECRET_KEY_PAIR"
key = "testing-key"
secret_key = "testing-secret"
"""


class Cluster:
    def __init__(self, stack: ExitStack, root: Path, url: str, moto: Any) -> None:
        bucket = f"media-{os.getpid()}-{time.monotonic_ns()}"
        moto.client().create_bucket(Bucket=bucket)
        settings = _settings(moto.endpoint_url, bucket, Fernet.generate_key().decode())
        self.live = stack.enter_context(serve_with_admin(
            root, settings, database_url=url, password=PASSWORD, replicas=2))
        self.urls = list(self.live.urls)
        self.workers: list[subprocess.Popen[bytes]] = []
        for n in (2, 3):  # each in a folder of its own too
            env = settings_env(root / f"worker{n}", settings, database_url=url)
            log = (root / f"worker{n}.log").open("wb")
            stack.callback(log.close)
            proc = subprocess.Popen([str(BIN / "cvatcore"), "worker"], env=env,
                                    stdout=log, stderr=subprocess.STDOUT)
            stack.callback(_stop, proc)
            self.workers.append(proc)
        self.clients = [stack.enter_context(httpx.Client(base_url=u, auth=self.live.credentials,
                                                         timeout=60)) for u in self.urls]
        self.engine = sa.create_engine(url)
        stack.callback(self.engine.dispose)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    from cvatcore_s3.testing import start_moto

    moto = start_moto()
    try:
        with postgres_database() as url, ExitStack() as stack:
            yield Cluster(stack, tmp_path_factory.mktemp("cluster"), url, moto)
    finally:
        moto.stop()


def _png(n: int, size: int = 64) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (size, size), (n * 37 % 256, n * 11 % 256, 90)).save(out, format="PNG")
    return out.getvalue()


def _task_with_images(client: httpx.Client, name: str, count: int, size: int = 64) -> tuple:
    task = client.post("/api/tasks", json={"name": name, "labels": [{"name": "car"}],
                                           "segment_size": 4})
    assert task.status_code == 201, task.text
    files = [(f"client_files[{n}]", (f"{n:04d}.png", _png(n, size))) for n in range(count)]
    upload = client.post(f"/api/tasks/{task.json()['id']}/data", files=files,
                         data={"image_quality": "80"})
    assert upload.status_code == 202, upload.text
    return task.json()["id"], upload.json()["rq_id"]


def _wait(client: httpx.Client, rq_id: str, timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(f"/api/requests/{rq_id}").json()
        if body["status"] in ("finished", "failed"):
            return body
        time.sleep(0.2)
    raise AssertionError(f"{rq_id} did not finish")


def test_a_task_made_on_one_replica_is_served_by_the_other(cluster):
    a, b = cluster.clients
    task_id, rq_id = _task_with_images(a, "across replicas", 8)
    assert _wait(b, rq_id)["status"] == "finished"
    meta_a = a.get(f"/api/tasks/{task_id}/data/meta").json()
    meta_b = b.get(f"/api/tasks/{task_id}/data/meta").json()
    assert meta_a == meta_b and meta_b["size"] == 8
    for n in (0, 7):
        frame_a = a.get(f"/api/tasks/{task_id}/data", params={
            "type": "frame", "number": n, "quality": "original"})
        frame_b = b.get(f"/api/tasks/{task_id}/data", params={
            "type": "frame", "number": n, "quality": "original"})
        assert frame_b.status_code == 200 and frame_a.content == frame_b.content
        assert Image.open(io.BytesIO(frame_b.content)).getpixel((5, 5))[:2] == (
            n * 37 % 256, n * 11 % 256)
    chunks = [client.get(f"/api/tasks/{task_id}/data", params={
        "type": "chunk", "number": 0, "quality": "compressed"}) for client in (b, a)]
    assert chunks[0].status_code == 200 and chunks[0].content == chunks[1].content
    label = b.get("/api/labels", params={"task_id": task_id}).json()["results"][0]["id"]
    shapes = [{"type": "rectangle", "frame": 3, "label_id": label, "points": [1, 2, 30, 40],
               "attributes": []}]
    put = a.put(f"/api/tasks/{task_id}/annotations/",
                json={"version": 0, "tags": [], "shapes": shapes, "tracks": []})
    assert put.status_code == 200, put.text
    got = b.get(f"/api/tasks/{task_id}/annotations/").json()["shapes"]
    assert [(s["frame"], s["points"]) for s in got] == [(3, [1.0, 2.0, 30.0, 40.0])]
    for root in cluster.live.roots:  # nothing of the task landed in a replica's own directory
        assert not list((root / "data").rglob("*.png"))


def test_a_backup_made_on_one_replica_is_downloaded_and_restored_on_the_other(cluster,
                                                                             tmp_path):
    from urllib.parse import urlsplit

    from cvat_sdk import make_client

    a, b = cluster.clients
    task_id, rq_id = _task_with_images(a, "backed up across replicas", 6)
    assert _wait(a, rq_id)["status"] == "finished"
    label = a.get("/api/labels", params={"task_id": task_id}).json()["results"][0]["id"]
    shapes = [{"type": "rectangle", "frame": 5, "label_id": label, "points": [1, 2, 3, 4],
               "attributes": []}]
    assert a.put(f"/api/tasks/{task_id}/annotations/", json={
        "version": 0, "tags": [], "shapes": shapes, "tracks": []}).status_code == 200
    export = a.post(f"/api/tasks/{task_id}/backup/export")
    assert export.status_code == 202, export.text
    done = _wait(b, export.json()["rq_id"])
    assert done["status"] == "finished", done["message"]
    url = urlsplit(done["result_url"])
    archive = b.get(f"{url.path}?{url.query}")
    assert archive.status_code == 200 and archive.content[:2] == b"PK"
    path = tmp_path / "across.zip"
    path.write_bytes(archive.content)
    host, port = cluster.urls[1].rsplit(":", 1)
    with make_client(host, port=int(port), credentials=("admin", PASSWORD)) as sdk:
        sdk.config.status_check_period = 0.2
        restored = sdk.tasks.create_from_backup(path)
    assert restored.size == 6 and restored.id != task_id
    for n in (0, 5):
        frames = [c.get(f"/api/tasks/{t}/data", params={
            "type": "frame", "number": n, "quality": "original"}).content
            for c, t in ((a, task_id), (b, restored.id))]
        assert frames[0] == frames[1]
    got = a.get(f"/api/tasks/{restored.id}/annotations/").json()["shapes"]
    assert [(s["frame"], s["points"]) for s in got] == [(5, [1.0, 2.0, 3.0, 4.0])]


def test_workers_share_the_jobs_and_run_none_twice(cluster):
    a, b = cluster.clients
    made = [_task_with_images((a, b)[n % 2], f"shared {n}", 6) for n in range(8)]
    results = [_wait(a, rq_id) for _, rq_id in made]
    assert [r["status"] for r in results] == ["finished"] * 8
    ids = [rq_id for _, rq_id in made]
    with cluster.engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT id, attempts, lease_owner FROM background_jobs WHERE id = ANY(:ids)"),
            {"ids": ids}).all()
    assert sorted(r.attempts for r in rows) == [1] * 8  # none ran twice
    pids = {r.lease_owner.split(":")[1] for r in rows}
    assert pids == {str(w.pid) for w in cluster.workers}, "both workers took jobs"


def test_a_killed_worker_leaves_its_job_to_the_other(cluster):
    a, _ = cluster.clients
    task_id, rq_id = _task_with_images(a, "killed worker", 160, size=384)
    deadline, owner = time.monotonic() + 60, None
    while owner is None and time.monotonic() < deadline:
        with cluster.engine.connect() as conn:
            owner = conn.execute(sa.text(
                "SELECT lease_owner FROM background_jobs WHERE id = :id AND status = 'started'"),
                {"id": rq_id}).scalar()
        time.sleep(0.05)
    assert owner, "the job never started"
    victim = next(w for w in cluster.workers if str(w.pid) == owner.split(":")[1])
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    assert _wait(a, rq_id, timeout=120)["status"] == "finished"
    with cluster.engine.connect() as conn:
        job = conn.execute(sa.text(
            "SELECT attempts, lease_owner FROM background_jobs WHERE id = :id"),
            {"id": rq_id}).one()
    survivor = next(w for w in cluster.workers if w is not victim)
    assert job.lease_owner.split(":")[1] == str(survivor.pid) and job.attempts == 2
    assert a.get(f"/api/tasks/{task_id}/data/meta").json()["size"] == 160
