"""Built-in storage provider ``local``: a directory on this machine, through fsspec.

Paths are resolved inside ``root``; ``..`` and symlinks that lead outside it are refused.
"""

from __future__ import annotations

import os
from pathlib import Path

from fsspec.implementations.local import LocalFileSystem

from cvatcore.hooks import ListingPage, ObjectInfo, ProviderConfig, StorageStatus, hookimpl


class LocalStorageConfig(ProviderConfig):
    root: Path = Path("data/share")


class LocalStorage:
    def __init__(self, config: LocalStorageConfig) -> None:
        self.root = config.root.resolve()
        self.fs = LocalFileSystem()

    def _path(self, path: str) -> str:
        full = (self.root / path.lstrip("/")).resolve()
        if full != self.root and self.root not in full.parents:
            raise PermissionError(f"path {path!r} is outside the storage root")
        return str(full)

    def list_page(self, prefix: str, cursor: str | None, page_size: int) -> ListingPage:
        base = self._path(prefix)
        names = sorted(os.listdir(base)) if os.path.isdir(base) else []
        start = int(cursor or 0)
        entries = []
        for name in names[start : start + page_size]:
            full = os.path.join(base, name)
            kind = "DIR" if os.path.isdir(full) else "REG"
            entries.append(ObjectInfo(name=name, type=kind))
        nxt = str(start + page_size) if start + page_size < len(names) else None
        return ListingPage(entries=entries, next=nxt)

    def stat(self, path: str) -> ObjectInfo:
        info = self.fs.info(self._path(path))
        kind = "DIR" if info["type"] == "directory" else "REG"
        return ObjectInfo(name=path, type=kind, size=info["size"], modified=info.get("mtime"))

    def read(self, path: str, start: int | None = None, end: int | None = None) -> bytes:
        return self.fs.cat_file(self._path(path), start=start, end=end)

    def write(self, path: str, data: bytes) -> None:
        full = self._path(path)
        self.fs.makedirs(os.path.dirname(full), exist_ok=True)
        self.fs.pipe_file(full, data)

    def delete(self, path: str) -> None:
        self.fs.rm_file(self._path(path))

    def status(self) -> str:
        if not self.root.is_dir():
            return StorageStatus.NOT_FOUND
        return StorageStatus.AVAILABLE if os.access(self.root, os.R_OK) else StorageStatus.FORBIDDEN


@hookimpl
def register_storage_providers(register):
    register(
        "local",
        LocalStorage,
        config_model=LocalStorageConfig,
        description="A directory on the server's own disk",
    )
