"""The project backup part of ``bench/backup.py``: a project of ``--project-gb`` GB of JPEG
frames (four tasks, 1 MB frames, made through cvat-sdk), then, with a fresh ``cvatcore serve``
and a fresh ``cvatcore worker`` (so their peak memory is that of the backup alone):

- ``zip -r`` of the same files (the baseline: a plain zip, deflate as ``zip`` does by
  default), ``zip -0 -r`` (stored, the bytes only: a stricter floor) and ``unzip``;
- the backup: ``POST /api/projects/{id}/backup/export``, the job, and the download;
- the restore: the SDK's ``create_from_backup`` (TUS upload, the ``import:backup`` job);

and prints MB/s of each against the plain zip, and the peak resident memory (``VmHWM``) of the
server and the worker."""

from __future__ import annotations

import io
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CVATCORE = Path(sys.executable).parent / "cvatcore"
ADMIN = ("admin", "bench-Backup-123")
FRAME_BYTES = 1 << 20
TASKS = 4


def _frame_source() -> bytes:
    """One JPEG of random noise near 1 MB (already compressed, as camera frames are)."""
    from PIL import Image

    side = 600
    noise = Image.frombytes("RGB", (side, side), random.randbytes(side * side * 3))
    out = io.BytesIO()
    noise.save(out, format="JPEG", quality=92)
    return out.getvalue()


def write_frames(folder: Path, gb: float) -> list[list[Path]]:
    """Frames for each task: the same JPEG with a different trailer after its end marker (a
    different file each, decoded the same)."""
    jpeg = _frame_source()
    count = max(TASKS, int(gb * 1e9 / len(jpeg)))
    groups: list[list[Path]] = [[] for _ in range(TASKS)]
    for n in range(count):
        task = folder / f"task{n % TASKS}"
        task.mkdir(parents=True, exist_ok=True)
        path = task / f"frame_{n:06d}.jpg"
        path.write_bytes(jpeg + n.to_bytes(8, "big"))
        groups[n % TASKS].append(path)
    return groups


@contextmanager
def _cluster(env: dict[str, str], logs: Path) -> Iterator[tuple[str, int, int]]:
    """``(url, server pid, worker pid)`` of a fresh server and worker, their output in
    ``logs/server.log`` (the last server's) and ``logs/worker.log``."""
    from cvatcore.hooks.testing.live import serve_process

    with (logs / "worker.log").open("ab") as out:
        worker = subprocess.Popen([str(CVATCORE), "worker"], env=env, stdout=out,
                                  stderr=subprocess.STDOUT)
    try:
        with serve_process(env, logs / "server.log") as (url, server_pid):
            yield url, server_pid, worker.pid
    finally:
        worker.terminate()
        worker.wait(timeout=60)


def peak_mib(pid: int) -> float:
    """The process's peak resident set (``VmHWM``), children included."""
    total = 0.0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for one in pids:
        for line in Path(f"/proc/{one}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                total += int(line.split()[1]) / 1024
    return total


def _client(url: str) -> Any:
    from cvatcore.hooks.testing.live import sdk_client

    return sdk_client(url, ADMIN, status_check_period=0.2)


def _make_project(url: str, groups: list[list[Path]]) -> int:
    from cvat_sdk import models
    from cvat_sdk.core.proxies.tasks import ResourceType

    with _client(url) as sdk:
        project = sdk.projects.create(models.ProjectWriteRequest(
            name="bench", labels=[{"name": "car"}]))
        for n, paths in enumerate(groups):
            sdk.tasks.create_from_data(
                models.TaskWriteRequest(name=f"part {n}", project_id=project.id,
                                        segment_size=100),
                resource_type=ResourceType.LOCAL, resources=[str(p) for p in paths])
        return project.id


def _timed(args: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(args, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def run(work: Path, gb: float) -> None:
    frames = work / "frames"
    groups = write_frames(frames, gb)
    mb = sum(p.stat().st_size for g in groups for p in g) / 1e6
    from cvatcore.hooks.testing.live import create_admin, settings_env

    env = settings_env(work, "[jobs]\nin_process_workers = 0\npoll_seconds = 0.2\n")
    create_admin(env, *ADMIN, email="a@b.c")
    with _cluster(env, work) as (url, _, _):
        project_id = _make_project(url, groups)
    zip_s = _timed(["zip", "-q", "-r", str(work / "plain.zip"), "."], frames)
    store_s = _timed(["zip", "-q", "-0", "-r", str(work / "stored.zip"), "."], frames)
    (work / "stored.zip").unlink()
    unzip_s = _timed(["unzip", "-q", "-d", str(work / "unzipped"), str(work / "plain.zip")],
                     work)
    archive = work / "project_backup.zip"
    with _cluster(env, work) as (url, server_pid, worker_pid), _client(url) as sdk:
        started = time.perf_counter()
        sdk.projects.retrieve(project_id).download_backup(archive)
        backup_s = time.perf_counter() - started
        started = time.perf_counter()
        restored = sdk.projects.create_from_backup(archive)
        restore_s = time.perf_counter() - started
        sizes = sorted(t.size for t in restored.get_tasks())
        server_mem, worker_mem = peak_mib(server_pid), peak_mib(worker_pid)
    assert sizes == sorted(len(g) for g in groups), sizes
    print(f"project: {mb:,.0f} MB of frames in {TASKS} tasks, archive "
          f"{archive.stat().st_size / 1e6:,.0f} MB")
    print(f"{'run':<34}{'seconds':>9}{'MB/s':>9}{'vs zip':>8}")
    zip_rate = mb / zip_s
    for name, seconds in (("zip -r (baseline)", zip_s), ("zip -0 -r (no compression)", store_s),
                          ("unzip", unzip_s),
                          ("backup: export job + download", backup_s),
                          ("restore: upload + import job", restore_s)):
        rate = mb / seconds
        print(f"{name:<34}{seconds:>9.1f}{rate:>9.0f}{rate / zip_rate:>8.2f}")
    print(f"peak RSS during backup and restore: server {server_mem:.0f} MiB, "
          f"worker {worker_mem:.0f} MiB (target < 300 MiB each)")
