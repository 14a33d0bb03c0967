"""API throughput of ``cvatcore serve`` against a bare Starlette baseline, on SQLite and PostgreSQL.

For each database (a SQLite file, and a throw-away PostgreSQL database on 127.0.0.1:5432
that the script creates and drops) it seeds the same data (one admin who signs in, plus
enough users for a full 100-row page), then runs ``cvatcore serve`` and ``bench/bare_app.py``
side by side (one uvicorn worker each, loopback only) and drives them in turn with ``wrk``
(2 threads, 32 connections, a warm-up and then a measured run) on ``GET /api/users/self`` and
``GET /api/users?page_size=100``. It checks first that both apps answer the same JSON, then
prints one table. Every process it starts is stopped by PID, also on errors or Ctrl-C.

Each endpoint is measured in ``--rounds`` rounds (3 by default), each round one run of
cvatcore and then one of the baseline, back to back: the table shows each app's median
run and the median of the rounds' ratios, so a noisy neighbour on the machine during one
round weighs on both sides of that round's ratio and one bad round does not count.

Usage: ``.venv/bin/python bench/api.py [--duration 10] [--warmup 2] [--rounds 3]
[--only sqlite|postgres] [--keep]``
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _venv import reexec_in_venv

from cvatcore.core.services.caller import Caller

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
ADMIN, ADMIN_PASSWORD = "bench-admin", "bench-admin-password"
EXTRA_USERS = 150
ENDPOINTS = (("users/self", "/api/users/self"), ("users?page_size=100", "/api/users?page_size=100"))
THREADS, CONNECTIONS = 2, 32
START_TIMEOUT = 60.0


# --- processes ------------------------------------------------------------------------------


class Processes:
    """Every child this script starts; ``stop_all`` ends each by its PID."""

    def __init__(self) -> None:
        self.children: list[subprocess.Popen[bytes]] = []

    def start(self, argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
        with log.open("wb") as out:
            proc = subprocess.Popen(
                argv, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                cwd=ROOT,
            )
        self.children.append(proc)
        return proc

    @staticmethod
    def stop(proc: subprocess.Popen[bytes]) -> None:
        if proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)

    def stop_all(self) -> None:
        for proc in reversed(self.children):
            with contextlib.suppress(Exception):
                self.stop(proc)
        self.children.clear()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http(
    method: str, url: str, body: dict[str, Any] | None = None, token: str | None = None
) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Token {token}"
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


def wait_ready(proc: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answers: a 401 is ready enough
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server not ready after {START_TIMEOUT}s:\n{log.read_text()[-3000:]}")


# --- databases ------------------------------------------------------------------------------


@dataclass
class Target:
    name: str  # "sqlite" or "postgres"
    cvatcore_url: str | None  # [database] url for cvatcore; None is SQLite in data_dir
    bare_url: str  # what bare_app.py takes
    data_dir: Path


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A new, empty database; dropped (connections and all) when the block ends."""
    import psycopg

    name = f"cvatcore_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def write_config(target: Target, path: Path) -> None:
    lines = ["[server]", f'data_dir = "{target.data_dir}"']
    if target.cvatcore_url:
        lines += ["[database]", f'url = "{target.cvatcore_url}"']
    path.write_text("\n".join(lines) + "\n")


def seed(config: Path) -> None:
    """Migrate, then add the admin through cvatcore's own service and the other users with
    one INSERT (they share one precomputed argon2 hash), so both apps read the same rows."""
    from sqlalchemy import insert

    from cvatcore.core.config import load_settings
    from cvatcore.core.db.migrate import upgrade
    from cvatcore.core.models import User
    from cvatcore.core.services.accounts import create_user
    from cvatcore.core.services.passwords import hash_password
    from cvatcore.core.state import AppState

    state = AppState.build(load_settings(config))
    try:
        upgrade(state.db.engine, state.pm)
        shared_hash = hash_password("bench-user-password")
        with state.db.unit_of_work() as session:
            caller = Caller.system(state, session)
            create_user(caller, ADMIN, ADMIN_PASSWORD, email="admin@example.com",
                        first_name="Bench", last_name="Admin", is_superuser=True)
            session.execute(
                insert(User),
                [
                    {
                        "username": f"user{i:04d}", "email": f"user{i:04d}@example.com",
                        "first_name": f"First{i}", "last_name": f"Last{i}",
                        "password": shared_hash, "groups": ["user"],
                    }
                    for i in range(EXTRA_USERS)
                ],
            )
    finally:
        state.db.dispose()


# --- wrk ------------------------------------------------------------------------------------


@dataclass
class Result:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def wrk(url: str, lua: Path, seconds: float) -> Result:
    argv = ["wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds:g}s", "--latency",
            "-s", str(lua), url]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=True)
    text = out.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", text, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", text, re.M).group(1))  # type: ignore[union-attr]
    errors = 0
    for pattern in (r"Non-2xx or 3xx responses:\s+(\d+)",
                    r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)"):
        match = re.search(pattern, text)
        if match:
            errors += sum(int(g) for g in match.groups())
    return Result(rps, p50, p99, errors)


def lua_script(token: str, path: Path) -> Path:
    path.write_text(f'wrk.headers["Authorization"] = "Token {token}"\n')
    return path


def answers(base: str, token: str) -> dict[str, Any]:
    """Both endpoints' JSON, with this server's address taken out so two servers compare."""
    found = {}
    for name, path in ENDPOINTS:
        status, body = http("GET", base + path, token=token)
        if status != 200:
            raise RuntimeError(f"GET {base + path}: {status} {body}")
        found[name] = json.loads(json.dumps(body).replace(base, "BASE"))
    return found


# --- one database ---------------------------------------------------------------------------


def start_server(kind: str, target: Target, procs: Processes, work: Path,
                 env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str, Path]:
    port = free_port()
    log = work / f"{target.name}-{kind}.log"
    if kind == "cvatcore":
        cvatcore_bin = Path(sys.executable).with_name("cvatcore")
        argv = [str(cvatcore_bin), "serve", "--host", "127.0.0.1", "--port", str(port),
                "--workers", "1"]
    else:
        argv = [sys.executable, str(HERE / "bare_app.py"), "--db", target.bare_url,
                "--port", str(port)]
    return procs.start(argv, env, log), f"http://127.0.0.1:{port}", log


def run_target(target: Target, procs: Processes, work: Path, args: argparse.Namespace
               ) -> dict[str, dict[str, list[Result]]]:
    """Both servers run side by side (the idle one costs nothing) and the measurements of one
    endpoint alternate between them, so that a noisy neighbour on the machine hits both."""
    config = work / f"{target.name}.toml"
    write_config(target, config)
    seed(config)
    env = {**os.environ, "CVATCORE_CONFIG": str(config)}
    env.pop("CVATCORE_DATABASE__URL", None)

    servers = {kind: start_server(kind, target, procs, work, env) for kind in ("cvatcore", "bare")}
    for proc, base, log in servers.values():
        wait_ready(proc, base + "/api/users/self", log)
    base = servers["cvatcore"][1]
    status, body = http("POST", base + "/api/auth/login",
                        {"username": ADMIN, "password": ADMIN_PASSWORD})
    if status != 200:
        raise RuntimeError(f"login failed: {status} {body}")
    token = body["key"]
    expected = answers(base, token)
    if len(expected["users?page_size=100"]["results"]) != 100:
        raise RuntimeError("cvatcore's list did not return 100 rows")
    got = answers(servers["bare"][1], token)
    if got != expected:
        raise RuntimeError(
            "the baseline's answers differ from cvatcore's:\n"
            f"cvatcore: {json.dumps(expected)[:1500]}\nbare:     {json.dumps(got)[:1500]}"
        )

    lua = lua_script(token, work / "auth.lua")
    runs: dict[str, dict[str, list[Result]]] = {"cvatcore": {}, "bare": {}}
    for name, path in ENDPOINTS:
        for _ in range(args.rounds):
            for kind, (_, base, _) in servers.items():
                if args.warmup > 0:
                    wrk(base + path, lua, args.warmup)
                res = wrk(base + path, lua, args.duration)
                runs[kind].setdefault(name, []).append(res)
                print(f"  [{target.name}] {kind:<8} {name:<20} {res.rps:9.0f} req/s  "
                      f"p50 {res.p50_ms:7.2f} ms  p99 {res.p99_ms:7.2f} ms"
                      + (f"  ERRORS {res.errors}" if res.errors else ""), flush=True)
    for proc, _, _ in servers.values():
        procs.stop(proc)
    return runs


def median(results: list[Result]) -> Result:
    """The run with the median throughput (its own latencies come with it)."""
    ordered = sorted(results, key=lambda r: r.rps)
    return ordered[len(ordered) // 2]


def median_ratio(cvatcore: list[Result], bare: list[Result]) -> float:
    """The median of the rounds' ratios (round i: cvatcore's run i against the baseline's)."""
    ratios = sorted(c.rps / b.rps if b.rps else 0.0 for c, b in zip(cvatcore, bare, strict=True))
    return ratios[len(ratios) // 2]


def print_table(all_results: dict[str, dict[str, dict[str, list[Result]]]]) -> None:
    header = (f"{'database':<9} {'endpoint':<20} {'cvatcore req/s':>14} {'bare req/s':>10} "
              f"{'ratio':>6}  {'cvatcore p50/p99 ms':>20}  {'bare p50/p99 ms':>16}")
    print()
    print(header)
    print("-" * len(header))
    misses = 0
    for db, per_app in all_results.items():
        for name, _ in ENDPOINTS:
            ratio = median_ratio(per_app["cvatcore"][name], per_app["bare"][name])
            c, b = median(per_app["cvatcore"][name]), median(per_app["bare"][name])
            mark = "" if ratio >= 0.5 else "  < 0.5"
            misses += ratio < 0.5
            print(f"{db:<9} {name:<20} {c.rps:>14.0f} {b.rps:>10.0f} {ratio:>6.2f}  "
                  f"{c.p50_ms:>9.2f} /{c.p99_ms:>8.2f}  {b.p50_ms:>7.2f} /{b.p99_ms:>7.2f}"
                  f"{mark}")
    errors = sum(r.errors for per_app in all_results.values() for per in per_app.values()
                 for rs in per.values() for r in rs)
    rounds = min((len(rs) for per_app in all_results.values() for per in per_app.values()
                  for rs in per.values()), default=0)
    print(f"\nuvicorn {uvicorn_impls()}, one worker, no access log, for both apps")
    print(f"\nwrk -t{THREADS} -c{CONNECTIONS}, {rounds} round(s): req/s and latencies of each "
          "app's median run, ratio the median of the rounds' ratios")
    print(f"target ratio >= 0.5: "
          f"{'met' if not misses else f'missed on {misses} row(s)'}"
          + (f"; {errors} non-2xx/socket errors" if errors else ""))


def uvicorn_impls() -> str:
    """What uvicorn's "auto" loop and http settings pick here (both apps use "auto")."""
    from uvicorn.loops.auto import auto_loop_factory
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    loop = auto_loop_factory()()
    try:
        loop_name = type(loop).__module__.split(".")[0]
    finally:
        loop.close()
    return f"loop={loop_name} http={AutoHTTPProtocol.__name__}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up")
    parser.add_argument("--rounds", type=int, default=3,
                        help="measurements per app and endpoint (alternating); the median counts")
    parser.add_argument("--only", choices=("sqlite", "postgres"))
    parser.add_argument("--keep", action="store_true", help="keep the work dir (server logs)")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("wrk is missing: apt-get install -y wrk", file=sys.stderr)
        return 2
    reexec_in_venv("cvatcore.core")

    # SIGTERM/SIGHUP become exceptions, so the finally blocks stop children and drop the DB.
    def _raise(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, _raise)
    signal.signal(signal.SIGHUP, _raise)

    procs = Processes()
    work = Path(tempfile.mkdtemp(prefix="cvatcore-bench-"))
    all_results: dict[str, dict[str, dict[str, list[Result]]]] = {}
    try:
        if args.only in (None, "sqlite"):
            data = work / "sqlite-data"
            target = Target("sqlite", None, f"sqlite:///{data / 'cvatcore.db'}", data)
            all_results["sqlite"] = run_target(target, procs, work, args)
        if args.only in (None, "postgres"):
            with postgres_database() as url:
                target = Target("postgres", url, url, work / "pg-data")
                try:
                    all_results["postgres"] = run_target(target, procs, work, args)
                finally:
                    procs.stop_all()  # before the database is dropped
    finally:
        procs.stop_all()
        if args.keep:
            print(f"work dir kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print_table(all_results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
