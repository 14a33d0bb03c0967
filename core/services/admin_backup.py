"""Administrator backup and restore: the database and the data directory in one archive.

The archive is a tar (gzip-compressed when its name ends in ``.gz``/``.tgz``), written and
read as a stream, so its size is limited by disk, not memory:

* ``cvatcore-backup.json``: what this is (format, version), first, so that a wrong file is
  refused at once;
* ``database/NNN-<table>.jsonl``: every table as a logical dump (``core/db/dump.py``), in the
  order rows can be inserted; restores on SQLite or PostgreSQL whichever the source was;
* ``data/...``: the data directory (local media, the key file of stored secrets), without
  the SQLite database files, which are captured consistently through the dump instead;
* ``manifest.json``, last: the SHA-256 and size of every other member, the schema revisions
  and the row counts. A restore checks all of it before it writes anything.

The database is read in one transaction (a snapshot on SQLite's WAL and PostgreSQL's
REPEATABLE READ), so the server keeps running while a backup is made.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from cvatcore.core.db import dump
from cvatcore.core.db.migrate import current_heads

FORMAT = "cvatcore-backup"
VERSION = 1
HEADER = "cvatcore-backup.json"
MANIFEST = "manifest.json"
CHUNK = 1 << 20

Progress = Callable[[int], None]


class BackupError(Exception):
    """The archive cannot be restored (damaged, foreign, mismatched) or the target is not
    empty; nothing was changed."""


@dataclass
class _Writer:
    tar: tarfile.TarFile
    progress: Progress
    files: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add_stream(self, name: str, stream: IO[bytes], size: int, mtime: float) -> None:
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = size, int(mtime), 0o600
        hashing = _Hashing(stream, self.progress)
        self.tar.addfile(info, hashing)
        self.files[name] = {"sha256": hashing.digest.hexdigest(), "size": size}

    def add_bytes(self, name: str, data: bytes) -> None:
        self.add_stream(name, io.BytesIO(data), len(data), time.time())


class _Hashing(io.RawIOBase):
    """A reader that hashes (and reports) what passes through it."""

    def __init__(self, stream: IO[bytes], progress: Progress) -> None:
        self.stream, self.progress, self.digest = stream, progress, hashlib.sha256()

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        self.digest.update(data)
        self.progress(len(data))
        return data


def tar_mode(path: Path, write: bool) -> str:
    # "w:"/"r:" rather than the pipe modes: an archive is a regular file, and tarfile's pipe
    # mode re-slices its buffer in 10 KiB steps (a third of the throughput lost).
    compressed = path.name.endswith((".gz", ".tgz"))
    return ("w:" if write else "r:") + ("gz" if compressed else "")


def sqlite_files(state: Any) -> set[Path]:
    engine = state.db.engine
    if engine.dialect.name != "sqlite" or not engine.url.database:
        return set()
    db = Path(engine.url.database).resolve()
    return {db, *(db.with_name(db.name + s) for s in ("-wal", "-shm", "-journal"))}


def create_backup(state: Any, target: Path, progress: Progress = lambda n: None) -> dict:
    """Write an archive of the database and the data directory to ``target``; return its
    manifest."""
    data_dir = Path(state.settings.server.data_dir).resolve()
    skip = sqlite_files(state) | {target.resolve()}
    partial = target.with_name(target.name + ".partial")
    with open(partial, "wb") as raw, tarfile.open(fileobj=raw, mode=tar_mode(target, True)) as tar:
        tar.copybufsize = CHUNK  # tarfile copies in 16 KiB steps by default
        writer = _Writer(tar, progress)
        writer.add_bytes(HEADER, json.dumps({"format": FORMAT, "version": VERSION}).encode())
        database = _write_database(state, writer)
        for path in _data_files(data_dir, skip):
            _add_file(writer, data_dir, path)
        manifest = {"format": FORMAT, "version": VERSION, "created": time.time(),
                    "database": database, "files": writer.files}
        info = tarfile.TarInfo(MANIFEST)
        body = json.dumps(manifest, indent=1).encode()
        info.size, info.mtime = len(body), int(time.time())
        tar.addfile(info, io.BytesIO(body))
    os.replace(partial, target)
    return manifest


def _write_database(state: Any, writer: _Writer) -> dict[str, Any]:
    engine = state.db.engine
    heads = sorted(current_heads(engine, state.pm))
    options = {"isolation_level": "REPEATABLE READ"} if engine.dialect.name == "postgresql" \
        else {}
    counts = {}
    with engine.connect().execution_options(**options) as conn, conn.begin():
        for number, table in enumerate(dump.tables_in_order(dump.reflect(conn))):
            with tempfile.TemporaryFile() as spool:  # tar needs the size before the data
                rows = -1
                for line in dump.dump_table(conn, table):
                    spool.write(line)
                    rows += 1
                size = spool.tell()
                spool.seek(0)
                writer.add_stream(f"database/{number:03d}-{table.name}.jsonl", spool, size,
                                  time.time())
            counts[table.name] = rows
    return {"dialect": engine.dialect.name, "revisions": heads, "rows": counts}


def _data_files(data_dir: Path, skip: set[Path]) -> Iterator[Path]:
    if not data_dir.is_dir():
        return
    for root, dirs, files in os.walk(data_dir):
        dirs.sort()
        for name in sorted(files):
            path = Path(root, name)
            if path.resolve() not in skip and not name.endswith(".partial") and \
                    not path.is_symlink():
                yield path


def _add_file(writer: _Writer, data_dir: Path, path: Path) -> None:
    try:
        stream = open(path, "rb")  # noqa: SIM115 (closed below; a vanished file is skipped)
    except FileNotFoundError:  # removed since the walk (a task deleted meanwhile)
        return
    with stream:
        stat = os.fstat(stream.fileno())
        name = "data/" + path.relative_to(data_dir).as_posix()
        writer.add_stream(name, stream, stat.st_size, stat.st_mtime)
