"""SQLite under concurrent writers: two HTTP Basic clients (create a project with 30 labels,
rename it, list, delete, over and over) and a third client creating tasks with data (so the
``create:task`` background job writes too), against a real ``cvatcore serve`` on one SQLite
file. Prints requests, 5xx answers, reset connections and finished jobs; the suite runs the
same for a few seconds (tests/hardening/test_sqlite_writers.py).

Usage: ``.venv/bin/python bench/writers.py [--seconds 30]``
"""

from __future__ import annotations

import argparse
import collections
import importlib.util
import sys
import tempfile
import time
from pathlib import Path

from _venv import ROOT, reexec_in_venv


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    reexec_in_venv("cvatcore")
    from cvatcore.hooks.testing.live import serve_with_admin

    writers = _load("writers_test", ROOT / "tests/hardening/test_sqlite_writers.py")
    with tempfile.TemporaryDirectory() as tmp, serve_with_admin(Path(tmp)) as live:
        started = time.monotonic()
        out = writers.run_writers(live.url, live.credentials, args.seconds)
        took = time.monotonic() - started
    codes = collections.Counter(out["status"])
    print(f"{args.seconds:.0f} s (ran {took:.1f} s), SQLite, 2 Basic clients + a task-data job")
    print(f"  requests        {len(out['status'])}")
    print(f"  5xx answers     {sum(n for code, n in codes.items() if code >= 500)}")
    print(f"  reset/failed connections {len(out['errors'])}")
    jobs = out["jobs"]
    print(f"  jobs finished   {jobs.count('finished')} (failed {jobs.count('failed')})")
    print(f"  status codes    {dict(sorted(codes.items()))}")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
