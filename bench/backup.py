"""Speed and memory of ``cvatcore backup create`` and ``backup restore`` against ``tar``.

It fills a data directory with ``--gb`` GiB of incompressible media files (8 MiB each, like
video chunks and originals) and a SQLite database with ``--rows`` annotation-sized rows, then
runs, one after the other:

- ``tar``: GNU tar of the same data directory (the floor: reading and writing the bytes);
- ``cvatcore backup create`` (uncompressed tar with checksums and a logical database dump);
- ``cvatcore backup restore`` of that archive into a fresh data directory and database;

and prints wall time, MB/s, the ratio of cvatcore's MB/s to tar's, and each process's peak
resident memory (which must not grow with the archive: everything is streamed).

Then the project backup (``bench/backup_project.py``): a project of ``--project-gb`` GB
backed up and restored through the API, against a plain ``zip`` of the same files, with the
peak memory of the server and the worker.

Usage: ``python bench/backup.py [--gb 2] [--rows 200000] [--project-gb 0.2]
[--only admin|project]`` (``--project-gb 5`` for the issue's figure)
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _venv import reexec_in_venv

reexec_in_venv("cvatcore.core")

CVATCORE = Path(sys.executable).parent / "cvatcore"
FILE_MIB = 8


def _fill(data: Path, gib: float, rows: int) -> int:
    media = data / "media" / "data" / "1"
    media.mkdir(parents=True)
    block = os.urandom(FILE_MIB << 20)
    count = max(1, int(gib * 1024 / FILE_MIB))
    for n in range(count):
        (media / f"{n:05d}.bin").write_bytes(block[n % 4096:] + block[: n % 4096])
    import sqlite3

    with sqlite3.connect(data / "cvatcore.db") as db:  # migrated below by the CLI
        pass
    env = _env(data)
    subprocess.run([str(CVATCORE), "db", "upgrade"], env=env, check=True,
                   capture_output=True)
    with sqlite3.connect(data / "cvatcore.db") as db:
        db.execute("INSERT INTO users (id, username, email, first_name, last_name, password, "
                   "is_staff, is_superuser, is_active, groups, created_via, date_joined) "
                   "VALUES (1, 'admin', 'a@b.c', '', '', NULL, 1, 1, 1, '[]', 'local', "
                   "'2026-01-01 00:00:00')")
        db.executemany("INSERT INTO sign_in_failures (key_hash, failures, first_at, last_at, "
                       "lockouts) VALUES (?, 1, '2026-01-01 00:00:00', '2026-01-01 00:00:00', "
                       "0)", ((f"{n:064x}",) for n in range(rows)))
    return sum(p.stat().st_size for p in data.rglob("*") if p.is_file())


def _env(data: Path) -> dict[str, str]:
    config = data.parent / f"{data.name}.toml"
    config.write_text(f'[server]\ndata_dir = "{data}"\n')
    return {**os.environ, "CVATCORE_CONFIG": str(config)}


def _timed(args: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one child process (its own rusage, from wait4)."""
    started = time.perf_counter()
    child = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - started
    if child.returncode:
        raise SystemExit(f"{' '.join(args)} exited with {child.returncode}")
    return elapsed, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gb", type=float, default=2.0)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--project-gb", type=float, default=0.2)
    parser.add_argument("--only", choices=("admin", "project"))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cvatcore-bench-backup-"))
    try:
        if args.only != "admin":
            from backup_project import run as run_project

            run_project(work / "project", args.project_gb)
        if args.only == "project":
            return
        data = work / "data"
        size = _fill(data, args.gb, args.rows)
        mb = size / 1e6
        print(f"data directory: {mb:,.0f} MB in files, {args.rows:,} rows")
        tar_s, tar_mem = _timed(["tar", "-cf", str(work / "plain.tar"), "-C", str(data), "."])
        (work / "plain.tar").unlink()
        archive = work / "backup.tar"
        create_s, create_mem = _timed([str(CVATCORE), "backup", "create", str(archive)],
                                      _env(data))
        restored = work / "restored"
        restore_s, restore_mem = _timed([str(CVATCORE), "backup", "restore", str(archive)],
                                        _env(restored))
        print(f"{'run':<24}{'seconds':>9}{'MB/s':>9}{'vs tar':>8}{'peak MiB':>10}")
        for name, seconds, mem in (("tar -cf", tar_s, tar_mem),
                                   ("cvatcore backup create", create_s, create_mem),
                                   ("cvatcore backup restore", restore_s, restore_mem)):
            rate = mb / seconds
            print(f"{name:<24}{seconds:>9.1f}{rate:>9.0f}{rate / (mb / tar_s):>8.2f}"
                  f"{mem:>10.0f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
