"""Leases with a heartbeat, between real ``cvatcore worker`` processes sharing a real database
(SQLite and PostgreSQL): a job that runs longer than its lease keeps its worker, and the job of
a worker killed with SIGKILL is taken over by another within about a lease and finishes once.

The job kind comes from a test plugin installed for the worker processes only (a module and
its ``.dist-info`` on ``PYTHONPATH``, found through the ``cvatcore`` entry point as any
installed plugin is)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cvatcore.core.config import load_settings
from cvatcore.core.jobs.queue import enqueue
from cvatcore.core.models import BackgroundJob
from cvatcore.core.state import AppState
from cvatcore.hooks.testing.harness import invoke_cli

CVATCORE = Path(sys.executable).parent / "cvatcore"
LEASE, POLL = 1.5, 0.1

PLUGIN = '''
import os
import time
from pathlib import Path

from cvatcore.hooks import hookimpl


def note(job, what):
    with Path(job.args["log"]).open("a") as log:
        log.write(f"{what} {os.getpid()}\\n")


def slow(job):
    # No progress reports: only the heartbeat keeps the lease.
    note(job, "start")
    end = time.monotonic() + job.args["seconds"]
    gate = Path(job.args["gate"]) if job.args.get("gate") else None
    while time.monotonic() < end or (gate is not None and not gate.exists()):
        job.check()
        time.sleep(0.05)
    with job.state.db.unit_of_work() as session:
        job.guard(session)
        note(job, "done")


@hookimpl
def register_job_kinds(register):
    register("test:slow", slow)
'''


@pytest.fixture
def setup(tmp_path, cvatcore_database_url):
    site = tmp_path / "site"
    dist = site / "cvatcore_test_slowjob-0.1.dist-info"
    dist.mkdir(parents=True)
    (site / "cvatcore_test_slowjob.py").write_text(PLUGIN)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: cvatcore-test-slowjob\n"
                                   "Version: 0.1\n")
    (dist / "entry_points.txt").write_text("[cvatcore]\nslowjob = cvatcore_test_slowjob\n")
    config = tmp_path / "cvatcore.toml"
    database = f'[database]\nurl = "{cvatcore_database_url}"\n' if cvatcore_database_url else ""
    config.write_text(f'[server]\ndata_dir = "{tmp_path / "data"}"\n{database}'
                      f"[jobs]\nin_process_workers = 0\nlease_seconds = {LEASE}\n"
                      f"poll_seconds = {POLL}\n")
    env = {**os.environ, "CVATCORE_CONFIG": str(config), "PYTHONPATH": str(site),
           "CVATCORE_LOAD_PLUGINS": "cvatcore-test-slowjob", "PYTHONUNBUFFERED": "1"}
    env.pop("CVATCORE_DISABLE_PLUGIN_AUTOLOAD", None)
    assert invoke_cli(["db", "upgrade"], env={"CVATCORE_CONFIG": str(config)}).exit_code == 0
    state = AppState.build(load_settings(config))
    workers: list[subprocess.Popen] = []

    def start_worker() -> subprocess.Popen:
        out = (tmp_path / f"worker-{len(workers)}.log").open("w")
        proc = subprocess.Popen([str(CVATCORE), "worker"], env=env, stdout=out,
                                stderr=subprocess.STDOUT)
        out.close()
        proc.output = Path(out.name)  # type: ignore[attr-defined]
        workers.append(proc)
        return proc

    yield state, tmp_path / "runs.log", start_worker
    for proc in workers:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    state.db.dispose()


def _until(check, timeout: float, what: str, procs=()):
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            logs = "\n".join(p.output.read_text() for p in procs)
            raise AssertionError(f"{what} (after {timeout} s)\n{logs}")
        time.sleep(0.05)


def _ready(proc) -> bool:
    assert proc.poll() is None, proc.output.read_text()
    return "worker running" in proc.output.read_text()


def _runs(log: Path) -> list[tuple[str, int]]:
    if not log.exists():
        return []
    return [(what, int(pid)) for what, pid in (line.split() for line in log.read_text().split("\n")
                                               if line)]


def _row(state: AppState, job_id: str) -> tuple[str, int, str | None]:
    with state.db.unit_of_work(write=False) as session:
        row = session.get(BackgroundJob, job_id)
        return row.status, row.attempts, row.lease_owner


def _queue(state: AppState, job_id: str, log: Path, seconds: float = 0.0,
           gate: Path | None = None) -> None:
    """A job that runs ``seconds``, and at least until the file ``gate`` exists."""
    with state.db.unit_of_work() as session:
        enqueue(session, job_id=job_id, kind="test:slow",
                args={"log": str(log), "seconds": seconds, "gate": gate and str(gate)})


def test_a_job_longer_than_its_lease_stays_with_its_worker(setup):
    state, log, start_worker = setup
    first, second = start_worker(), start_worker()
    _until(lambda: _ready(first) and _ready(second), 60, "the workers did not start",
           (first, second))
    _queue(state, "long", log, seconds=4 * LEASE)  # four leases long
    _until(lambda: _row(state, "long")[0] == "finished", 30, "the job did not finish",
           (first, second))
    runs = _runs(log)
    # One run, by one worker, from start to end: nobody took the job while it ran.
    assert [what for what, _ in runs] == ["start", "done"], runs
    assert runs[0][1] == runs[1][1] in (first.pid, second.pid)
    assert _row(state, "long")[:2] == ("finished", 1)


def test_the_job_of_a_killed_worker_is_taken_over_within_a_lease_and_finishes_once(setup):
    state, log, start_worker = setup
    gate = log.with_name("gate")
    doomed = start_worker()
    _until(lambda: _ready(doomed), 60, "the worker did not start", (doomed,))
    _queue(state, "orphan", log, gate=gate)  # runs until the gate opens
    _until(lambda: _runs(log) == [("start", doomed.pid)], 30,
           "the worker did not start the job", (doomed,))
    survivor = start_worker()  # a worker started again, while the job still runs
    _until(lambda: _ready(survivor), 60, "the second worker did not start", (survivor,))
    time.sleep(2 * LEASE)  # the heartbeat keeps the job with its worker meanwhile
    assert _runs(log) == [("start", doomed.pid)]
    doomed.send_signal(signal.SIGKILL)
    killed_at = time.monotonic()
    doomed.wait()
    _until(lambda: len(_runs(log)) > 1, 30, "nobody took the job over", (survivor,))
    taken_after = time.monotonic() - killed_at
    # At most a lease plus a poll, with some slack for a loaded machine.
    assert taken_after < LEASE + POLL + 2.0, taken_after
    gate.touch()
    _until(lambda: _row(state, "orphan")[0] == "finished", 30, "the job did not finish",
           (survivor,))
    assert _runs(log) == [("start", doomed.pid), ("start", survivor.pid),
                          ("done", survivor.pid)]
    assert _row(state, "orphan")[:2] == ("finished", 2)
    print(f"taken over {taken_after:.2f} s after SIGKILL (lease {LEASE} s)")
