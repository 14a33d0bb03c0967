"""Restoring an administrator backup (``admin_backup.py`` describes the archive).

Two passes over the archive stream: the first checks every member against the manifest
(SHA-256, size, nothing missing, nothing extra, no path leaving the data directory) and the
schema revisions against the installed code; only then the second writes. The data files go
first, then all rows in one transaction, so a failure leaves the database without a row of
the archive and removes the files it wrote.
"""

from __future__ import annotations

import hashlib
import json
import os
import tarfile
from pathlib import Path, PurePosixPath
from typing import IO, Any

from cvatcore.core.db import dump
from cvatcore.core.db.migrate import revisions, upgrade
from cvatcore.core.services.admin_backup import (
    CHUNK,
    FORMAT,
    HEADER,
    MANIFEST,
    VERSION,
    BackupError,
    Progress,
    tar_mode,
)


def verify_backup(path: Path, progress: Progress = lambda n: None) -> dict:
    """The archive's manifest once every member matches it; else ``BackupError``."""
    seen: dict[str, dict[str, Any]] = {}
    manifest = None
    with _open(path) as tar:
        for number, member in enumerate(tar):
            if number == 0 and member.name != HEADER:
                raise BackupError(f"{path.name} is not a cvatcore backup (no {HEADER} first)")
            if member.name == MANIFEST:
                manifest = json.load(tar.extractfile(member))
                continue
            if not member.isfile():
                raise BackupError(f"unexpected entry {member.name!r} in the archive")
            seen[member.name] = {"sha256": _digest(tar.extractfile(member), progress),
                                 "size": member.size}
    if manifest is None:
        raise BackupError(f"{path.name} has no {MANIFEST}: the archive is truncated")
    if (manifest.get("format"), manifest.get("version")) != (FORMAT, VERSION):
        raise BackupError(f"{path.name} is a {manifest.get('format')} archive of version "
                          f"{manifest.get('version')}; this cvatcore reads {FORMAT} {VERSION}")
    expected = manifest["files"]
    for name in sorted(set(expected) | set(seen)):
        if name not in seen:
            raise BackupError(f"{name} is listed in the manifest but missing: truncated archive")
        if name not in expected:
            raise BackupError(f"{name} is in the archive but not in its manifest")
        if seen[name] != expected[name]:
            raise BackupError(f"{name} does not match its checksum: the archive is damaged")
        _check_member_name(name)
    return manifest


def _check_member_name(name: str) -> None:
    pure = PurePosixPath(name)
    if pure.is_absolute() or ".." in pure.parts or pure.parts[0] not in (
            "data", "database", HEADER):
        raise BackupError(f"refusing archive entry {name!r}: it leaves the data directory")


def _digest(stream: IO[bytes], progress: Progress) -> str:
    digest = hashlib.sha256()
    while chunk := stream.read(CHUNK):
        digest.update(chunk)
        progress(len(chunk))
    return digest.hexdigest()


def _open(path: Path) -> tarfile.TarFile:
    try:
        return tarfile.open(path, mode=tar_mode(path, False))
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise BackupError(f"{path.name} cannot be read as an archive: {exc}") from None


def restore_backup(state: Any, path: Path, progress: Progress = lambda n: None) -> dict:
    """Restore ``path`` into the (empty) database and data directory of ``state``."""
    try:
        manifest = verify_backup(path, progress)
    except (tarfile.TarError, EOFError, OSError, ValueError) as exc:
        raise BackupError(f"{path.name} is damaged: {exc}") from None
    engine, pm = state.db.engine, state.pm
    wanted = manifest["database"]["revisions"]
    unknown = sorted(set(wanted) - set(revisions(engine, pm)))
    if unknown:
        raise BackupError(f"the backup's schema is at {', '.join(unknown)}, which this "
                          "cvatcore does not know: install the version (and plugins) that made it")
    _require_empty(state)
    for rev in wanted:
        upgrade(engine, pm, rev)
    written: list[Path] = []
    try:
        _restore_stream(state, path, written)
    except BaseException:
        for file in written:
            file.unlink(missing_ok=True)
        raise
    upgrade(engine, pm)  # an older backup comes up to this version's schema
    return manifest


def _require_empty(state: Any) -> None:
    with state.db.engine.connect() as conn:
        filled = dump.has_rows(conn, dump.reflect(conn))
    if filled:
        raise BackupError("the database already holds data (" + ", ".join(filled[:5]) +
                          "): restore into an empty database")
    media = Path(state.settings.server.data_dir) / "media"
    if media.is_dir() and any(media.iterdir()):
        raise BackupError(f"{media} is not empty: restore into an empty data directory")


def _restore_stream(state: Any, path: Path, written: list[Path]) -> None:
    data_dir = Path(state.settings.server.data_dir).resolve()
    with state.db.engine.connect() as conn, conn.begin(), _open(path) as tar:
        meta = dump.reflect(conn)
        for member in tar:
            if member.name.startswith("data/"):
                written.append(_write_file(data_dir, member, tar.extractfile(member)))
            elif member.name.startswith("database/"):
                dump.load_table(conn, meta, tar.extractfile(member))
        dump.reset_sequences(conn, meta)


def _write_file(data_dir: Path, member: tarfile.TarInfo, stream: IO[bytes]) -> Path:
    target = data_dir / PurePosixPath(member.name).relative_to("data")
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "wb") as out:
        while chunk := stream.read(CHUNK):
            out.write(chunk)
    os.utime(target, (member.mtime, member.mtime))
    return target
