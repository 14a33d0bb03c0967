"""``cvatcore backup create|verify|restore``: the administrator's backup of the database and
the data directory (``core/services/admin_backup.py`` describes the archive)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from cvatcore.cli.state import state_or_exit


@contextmanager
def _bar(description: str) -> Iterator[object]:
    from tqdm import tqdm

    with tqdm(desc=description, unit="B", unit_scale=True, file=sys.stderr,
              mininterval=0.5, disable=None) as bar:
        yield bar.update


@click.group()
def backup() -> None:
    """Back up and restore the database and the data directory (while the server runs)."""


@backup.command("create")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def backup_create(path: Path) -> None:
    """Write a backup archive to PATH (gzip-compressed if PATH ends in .gz or .tgz)."""
    from cvatcore.core.services.admin_backup import create_backup

    state = state_or_exit()
    try:
        with _bar("backing up") as progress:
            manifest = create_backup(state, path, progress)
    finally:
        state.db.dispose()
    rows = sum(manifest["database"]["rows"].values())
    files = sum(1 for name in manifest["files"] if name.startswith("data/"))
    click.echo(f"{path}: {rows} rows, {files} files, schema "
               + ", ".join(manifest["database"]["revisions"]))


@backup.command("verify")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def backup_verify(path: Path) -> None:
    """Check every checksum of the archive at PATH without restoring it."""
    from cvatcore.core.services.admin_backup import BackupError
    from cvatcore.core.services.admin_restore import verify_backup

    try:
        with _bar("verifying") as progress:
            manifest = verify_backup(path, progress)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{path}: intact ({len(manifest['files'])} members)")


@backup.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def backup_restore(path: Path) -> None:
    """Restore the archive at PATH into an empty database and data directory.

    The archive is checked first; a damaged, truncated or foreign one changes nothing. The
    database may be of the other kind than the backed-up one (SQLite into PostgreSQL).
    """
    from cvatcore.core.services.admin_backup import BackupError
    from cvatcore.core.services.admin_restore import restore_backup

    state = state_or_exit()
    try:
        with _bar("restoring") as progress:
            manifest = restore_backup(state, path, progress)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        state.db.dispose()
    rows = sum(manifest["database"]["rows"].values())
    click.echo(f"restored {rows} rows and "
               f"{sum(1 for n in manifest['files'] if n.startswith('data/'))} files")
