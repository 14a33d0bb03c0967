"""Built-in storage provider ``local``: a directory on this machine, through fsspec.

Every path is checked twice: ``FsspecStorage`` refuses ``..``, absolute paths and NUL before
anything touches the disk, and this provider resolves symlinks and refuses any path whose
real location is outside ``root``. Listings stream ``os.scandir`` and keep one page in memory,
so a folder of 100,000 files costs one pass and no more memory than a small one.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from fsspec.implementations.local import LocalFileSystem

from cvatcore.hooks import (
    FsspecStorage,
    ListingPage,
    ObjectInfo,
    ProviderConfig,
    Register,
    StoragePathError,
    StorageStatus,
    hookimpl,
)
from cvatcore.hooks.fsspec_storage import page_after


class LocalStorageConfig(ProviderConfig):
    """``root``: the directory this storage serves; nothing outside it is ever read. Unset,
    the application gives the share ``<data_dir>/share`` and media ``<data_dir>/media``
    (``AppState.configured_storage`` and ``AppState.media``): never a directory that depends
    on where the process was started."""

    root: Path | None = None


class LocalStorage(FsspecStorage):
    """A directory as a storage provider (``[storage]`` media, CVAT's share)."""

    def __init__(self, config: LocalStorageConfig) -> None:
        if config.root is None:
            raise ValueError("the local storage needs a root directory")
        root = os.path.realpath(config.root)
        super().__init__(LocalFileSystem(auto_mkdir=True), root, label=f"local:{root}")

    def _inside(self, real: str) -> bool:
        return os.path.commonpath([self.root, real]) == self.root

    def full_path(self, key: str) -> str:
        """The path under ``root``; ``StoragePathError`` when its real location (symlinks
        followed) is outside the root."""
        full = os.path.join(self.root, key) if key else self.root
        if not self._inside(os.path.realpath(full)):
            raise StoragePathError(f"path {key[:200]!r} leads outside the storage root")
        return full

    def list_native(self, prefix: str, cursor: str | None, page_size: int) -> ListingPage:
        level, _, stem = prefix.rpartition("/")
        try:
            scan = os.scandir(self.full_path(level))
        except (FileNotFoundError, NotADirectoryError):
            return ListingPage(entries=[], next=None)
        with scan:
            page = page_after(self._entries(scan, level, stem), cursor, page_size)
        return ListingPage(entries=[self._with_size(e) for e in page.entries], next=page.next)

    def _entries(self, scan: Iterator[os.DirEntry[str]], level: str, stem: str
                 ) -> Iterator[ObjectInfo]:
        for entry in scan:
            if not entry.name.startswith(stem):
                continue
            try:
                if entry.is_symlink() and not self._inside(os.path.realpath(entry.path)):
                    continue  # a link out of the root is not part of this storage
                kind = "DIR" if entry.is_dir() else "REG"
            except OSError:
                continue  # vanished or unreadable while we looked
            yield ObjectInfo(name=f"{level}/{entry.name}" if level else entry.name, type=kind)

    def _with_size(self, info: ObjectInfo) -> ObjectInfo:
        """Sizes and times only for the entries of the page (one ``stat`` each)."""
        try:
            st = os.stat(os.path.join(self.root, info.name))
        except OSError:
            return info
        size = st.st_size if info.type == "REG" else None
        return ObjectInfo(name=info.name, type=info.type, size=size, modified=st.st_mtime)

    def check_status(self) -> str:
        if not os.path.isdir(self.root):
            return StorageStatus.NOT_FOUND
        if not os.access(self.root, os.R_OK | os.X_OK):
            return StorageStatus.FORBIDDEN
        return StorageStatus.AVAILABLE


@hookimpl
def register_storage_providers(register: Register) -> None:
    register(
        "local",
        LocalStorage,
        config_model=LocalStorageConfig,
        description="A directory on the server's own disk",
    )
