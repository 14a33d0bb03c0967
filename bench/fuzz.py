"""Schemathesis over ``/api/schema`` against a real ``cvatcore serve`` (SQLite, or
PostgreSQL with ``--postgres``), signed in as an administrator with HTTP Basic: every
operation, ``--checks all``, at least 30 examples an operation. Left out: the operations
that would lock the fuzzing user out (changing or deleting users, changing the password), and
the failed sign-in throttle (``--keep-throttle`` keeps it: it then answers most requests 429).
Prints schemathesis's report and the server's unhandled errors (there should be none).

Usage: ``.venv/bin/python bench/fuzz.py [--examples 30] [--postgres] [--max-time S]
[--checks all]``
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

from _venv import reexec_in_venv

#: What would sign the fuzzing administrator out for the rest of the run.
LOCKOUT_OPERATIONS = ("users_partial_update", "users_destroy", "auth_create_password_change",
                      "auth_create_logout")
USER = ("fuzz", "fuzz-pass-123")


def schemathesis_args(url: str, examples: int, checks: str, max_time: float | None,
                      phases: str = "examples,coverage,fuzzing") -> list[str]:
    args = [str(Path(sys.executable).parent / "schemathesis"), "run", f"{url}/api/schema",
            "--auth", ":".join(USER), "--max-examples", str(examples), "--checks", checks,
            "--phases", phases, "--workers", "2", "--request-timeout", "30", "--no-color",
            "--suppress-health-check", "too_slow,filter_too_much,data_too_large",
            "--seed", "20261207", "--generation-database", "none"]
    for operation in LOCKOUT_OPERATIONS:
        args += ["--exclude-operation-id", operation]
    if max_time:
        args += ["--max-time", str(int(max_time))]
    return args


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=30)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--max-time", type=float, default=None)
    parser.add_argument("--keep-throttle", action="store_true",
                        help="keep the failed sign-in throttle on (it answers 429s)")
    parser.add_argument("--checks", default="all",
                        help="schemathesis checks, e.g. negative_data_rejection")
    args = parser.parse_args()
    reexec_in_venv("schemathesis")
    from cvatcore.hooks.testing.databases import postgres_database
    from cvatcore.hooks.testing.live import serve_with_admin

    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        root = Path(tmp)
        text = ""
        if not args.keep_throttle:
            # schemathesis's invalid-credential checks would lock the fuzzing user out
            # (429 for a minute at a time) and leave most operations untested.
            text += "[auth]\nfailed_sign_ins_per_user = 0\nfailed_sign_ins_per_address = 0\n"
        database_url = stack.enter_context(postgres_database()) if args.postgres else None
        with serve_with_admin(root, text, username=USER[0], password=USER[1],
                              email="f@example.com", database_url=database_url) as live:
            run = subprocess.run(schemathesis_args(live.url, args.examples, args.checks,
                                                   args.max_time),
                                 text=True, capture_output=True, cwd=root)
        log = live.log
        report = Path(tempfile.gettempdir()) / f"cvatcore-fuzz-{os.getpid()}.txt"
        report.write_text(run.stdout + run.stderr)  # every case, with its curl line
        server_log = report.with_suffix(".server.log")  # kept: 503s and slow writes show here
        server_log.write_bytes(log.read_bytes())
        summary = run.stdout.rsplit("SUMMARY", 1)[-1]
        print(summary[-6000:] + run.stderr[-3000:])
        print(f"full report: {report}; server log: {server_log}")
        unhandled = [line for line in log.read_text().splitlines() if "unhandled error" in line]
        print(f"schemathesis exit code {run.returncode}; server: {len(unhandled)} unhandled "
              f"errors (5xx)")
        for line in unhandled[:20]:
            print("  " + line)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
