"""The ``example-memory`` storage provider: fsspec's in-memory filesystem behind cvatcore's
``StorageProvider`` interface.

Swap ``MemoryFileSystem`` for ``s3fs.S3FileSystem`` (or any other fsspec filesystem) and the
options in ``MemoryStorageConfig`` for that service's, and you have a real provider.
"""

from __future__ import annotations

import posixpath

from fsspec.implementations.memory import MemoryFileSystem
from pydantic import field_validator

from cvatcore.hooks import ListingPage, ObjectInfo, ProviderConfig, StorageStatus


class MemoryStorageConfig(ProviderConfig):
    """Options under ``[storage.options.example-memory]``; unknown keys stop start-up."""

    #: Where in the process-wide memory filesystem this provider keeps its objects.
    root: str = "/cvatcore-example"

    @field_validator("root")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith("/") or value.rstrip("/") == "":
            raise ValueError("must be an absolute path below /, such as /my-bucket")
        return value.rstrip("/")


class MemoryStorage:
    """Objects live under ``config.root``; ``..`` cannot reach outside it."""

    def __init__(self, config: MemoryStorageConfig) -> None:
        self.root = config.root
        self.fs = MemoryFileSystem()

    def _path(self, path: str) -> str:
        full = posixpath.normpath(posixpath.join(self.root, path.lstrip("/")))
        if full != self.root and not full.startswith(self.root + "/"):
            raise PermissionError(f"path {path!r} is outside the storage root")
        return full

    def list_page(self, prefix: str, cursor: str | None, page_size: int) -> ListingPage:
        base = self._path(prefix)
        try:
            infos = self.fs.ls(base, detail=True) if self.fs.isdir(base) else []
        except FileNotFoundError:
            infos = []
        entries = sorted(
            (
                ObjectInfo(
                    name=posixpath.basename(info["name"].rstrip("/")),
                    type="DIR" if info["type"] == "directory" else "REG",
                    size=info.get("size") if info["type"] == "file" else None,
                )
                for info in infos
            ),
            key=lambda entry: entry.name,
        )
        start = int(cursor or 0)
        end = start + page_size
        more = end < len(entries)
        return ListingPage(entries=entries[start:end], next=str(end) if more else None)

    def stat(self, path: str) -> ObjectInfo:
        info = self.fs.info(self._path(path))
        kind = "DIR" if info["type"] == "directory" else "REG"
        return ObjectInfo(name=path, type=kind, size=info.get("size"))

    def read(self, path: str, start: int | None = None, end: int | None = None) -> bytes:
        return self.fs.cat_file(self._path(path), start=start, end=end)

    def write(self, path: str, data: bytes) -> None:
        self.fs.pipe_file(self._path(path), data)

    def delete(self, path: str) -> None:
        self.fs.rm_file(self._path(path))

    def status(self) -> str:
        return StorageStatus.AVAILABLE
