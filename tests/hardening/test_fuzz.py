"""Schemathesis over ``/api/schema`` on a real ``cvatcore serve`` (SQLite and PostgreSQL), a
short run of every operation: no answer is a server error. bench/fuzz.py runs the long one."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _bench_fuzz():
    spec = importlib.util.spec_from_file_location("bench_fuzz", ROOT / "bench" / "fuzz.py")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(ROOT / "bench"))
    return module


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_schemathesis_finds_no_server_error(tmp_path, database):
    with ExitStack() as stack:
        url = None
        if database == "postgres":
            from cvatcore.hooks.testing.databases import postgres_database

            url = stack.enter_context(postgres_database())
        output, log = _fuzz_briefly(tmp_path, url)
    assert "Tested:" in output, output[-3000:]
    tested = int(re.search(r"Tested: (\d+)", output).group(1))
    assert tested >= 60, output[-3000:]  # of ~94; fewer only on a very busy machine
    assert "Server error" not in output, output[-5000:]
    assert "not_a_server_error" not in output.split("SUMMARY")[-1], output[-5000:]
    unhandled = [line for line in log.read_text().splitlines() if "unhandled error" in line]
    assert not unhandled, unhandled[:5]


def _fuzz_briefly(tmp_path: Path, database_url: str | None) -> tuple[str, Path]:
    """schemathesis's output and the server log of a 40 s fuzzing run."""
    from cvatcore.hooks.testing.live import serve_with_admin

    fuzz = _bench_fuzz()
    with serve_with_admin(tmp_path, database_url=database_url, username=fuzz.USER[0],
                          password=fuzz.USER[1]) as live:
        run = subprocess.run(
            fuzz.schemathesis_args(live.url, 1, "not_a_server_error", 40, phases="fuzzing"),
            text=True, capture_output=True, timeout=120, cwd=tmp_path)
    return run.stdout + run.stderr, live.log
