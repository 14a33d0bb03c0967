"""``cvatcore worker``: runs queued jobs from the shared database, outside the server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from cvatcore.core.config import load_settings
from cvatcore.core.jobs.queue import enqueue
from cvatcore.core.models import BackgroundJob
from cvatcore.core.state import AppState
from cvatcore.hooks.testing.harness import invoke_cli

CVATCORE = Path(sys.executable).parent / "cvatcore"


def _setup(tmp_path: Path) -> tuple[Path, AppState]:
    config = tmp_path / "cvatcore.toml"
    config.write_text(f'[server]\ndata_dir = "{tmp_path / "data"}"\n')
    assert invoke_cli(["db", "upgrade"], env={"CVATCORE_CONFIG": str(config)}).exit_code == 0
    return config, AppState.build(load_settings(config))


def _queue(state: AppState, job_id: str) -> None:
    with state.db.unit_of_work() as session:  # removing media that is not there: a no-op job
        enqueue(session, job_id=job_id, kind="delete:media", args={"data_ids": [999]})


def _status(state: AppState, job_id: str) -> str:
    with state.db.unit_of_work(write=False) as session:
        return session.get(BackgroundJob, job_id).status


def test_worker_once_runs_what_is_queued(tmp_path):
    config, state = _setup(tmp_path)
    _queue(state, "one")
    _queue(state, "two")
    result = invoke_cli(["worker", "--once"], env={"CVATCORE_CONFIG": str(config)})
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == "ran 2 job(s)"
    assert _status(state, "one") == _status(state, "two") == "finished"
    state.db.dispose()


def test_worker_process_takes_new_work_and_stops_on_sigterm(tmp_path):
    config, state = _setup(tmp_path)
    env = {**os.environ, "CVATCORE_CONFIG": str(config)}
    env.pop("CVATCORE_DISABLE_PLUGIN_AUTOLOAD", None)
    proc = subprocess.Popen([str(CVATCORE), "worker", "--threads", "2"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        _queue(state, "later")
        deadline = time.monotonic() + 30
        while _status(state, "later") != "finished":
            assert time.monotonic() < deadline, "the worker did not run the job"
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        state.db.dispose()
