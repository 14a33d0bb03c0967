"""``FolderStorage``: ``cvatcore.hooks.StorageProvider`` over a local folder, by hand.

What the protocol asks, and how it is done here:

* paths are relative and "/"-separated; ``..``, ``.``, empty segments, a leading "/" and NUL
  raise ``StoragePathError`` -- ``_checked``;
* no path leaves the root, symlinks included -- every path is resolved (``realpath``) and
  must stay under the root's real path, before anything is opened; listings skip links that
  lead out;
* ``open_read``/``write_stream`` stream: a plain file object, and writes go to a temporary
  file renamed over the object at the end (a failed stream leaves the old object);
* failures are ``FileNotFoundError``, ``PermissionError`` or ``ValueError``.
"""

from __future__ import annotations

import contextlib
import heapq
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from cvatcore.hooks import (
    ListingPage,
    ObjectInfo,
    ProviderConfig,
    StoragePathError,
    StorageStatus,
)

PIECE = 1 << 20


class FolderConfig(ProviderConfig):
    """``[storage.options.folderstore]``: ``root``, the folder that holds the objects."""

    root: Path


class FolderStorage:
    def __init__(self, config: FolderConfig) -> None:
        self.root = os.path.realpath(config.root)

    def __repr__(self) -> str:
        return f"<FolderStorage {self.root}>"

    # -- paths --------------------------------------------------------------------------------

    def _checked(self, path: str, *, prefix: bool = False) -> str:
        """The local path for ``path`` (a prefix may end with "/" or be ""), refused with
        ``StoragePathError`` when malformed or when its real location is outside the root."""
        if not isinstance(path, str) or "\x00" in path or path.startswith("/"):
            raise StoragePathError(f"bad storage path {str(path)[:100]!r}")
        body = path[:-1] if prefix and path.endswith("/") else path
        if body == "" and prefix:
            return self.root
        if any(part in ("", ".", "..") for part in body.split("/")):
            raise StoragePathError(f"bad storage path {path[:100]!r}")
        full = os.path.join(self.root, *body.split("/"))
        if not self._inside(full):
            raise StoragePathError(f"path {path[:100]!r} leads outside the storage root")
        return full

    def _inside(self, full: str) -> bool:
        real = os.path.realpath(full)
        return os.path.commonpath([self.root, real]) == self.root

    # -- the protocol -------------------------------------------------------------------------

    def list_page(self, prefix: str, cursor: str | None, page_size: int) -> ListingPage:
        if not isinstance(page_size, int) or page_size < 1:
            raise ValueError("page_size must be a positive integer")
        self._checked(prefix, prefix=True)
        level, _, stem = prefix.rpartition("/")
        folder = self._checked(level, prefix=True) if level else self.root
        try:
            scan = os.scandir(folder)
        except (FileNotFoundError, NotADirectoryError):
            return ListingPage(entries=[], next=None)
        with scan:
            entries = heapq.nsmallest(page_size + 1, self._entries(scan, level, stem, cursor),
                                      key=_sort_key)
        page = entries[:page_size]
        more = len(entries) > page_size
        return ListingPage(entries=page, next=_sort_key(page[-1]) if more else None)

    def _entries(self, scan: Iterable[os.DirEntry[str]], level: str, stem: str,
                 cursor: str | None) -> Iterator[ObjectInfo]:
        for entry in scan:
            if not entry.name.startswith(stem):
                continue
            if entry.is_symlink() and not self._inside(entry.path):
                continue  # a link out of the root is not part of this storage
            name = f"{level}/{entry.name}" if level else entry.name
            try:
                info = self._info(name, entry.path)
            except OSError:
                continue  # vanished while we looked
            if cursor is None or _sort_key(info) > cursor:
                yield info

    def _info(self, name: str, full: str) -> ObjectInfo:
        st = os.stat(full)
        if os.path.isdir(full):
            return ObjectInfo(name=name, type="DIR", modified=st.st_mtime)
        return ObjectInfo(name=name, type="REG", size=st.st_size, modified=st.st_mtime)

    def stat(self, path: str) -> ObjectInfo:
        full = self._checked(path.rstrip("/") if path.endswith("/") and path != "/" else path)
        return self._info(path.rstrip("/"), full)

    def read(self, path: str, start: int | None = None, end: int | None = None) -> bytes:
        if (start is not None and start < 0) or (end is not None and end < 0):
            raise ValueError("byte offsets must not be negative")
        with self.open_read(path) as handle:
            handle.seek(start or 0)
            if end is None:
                return handle.read()
            return handle.read(max(end - (start or 0), 0))

    def open_read(self, path: str) -> BinaryIO:
        full = self._checked(path)
        if os.path.isdir(full):
            raise IsADirectoryError(f"{path!r} is a folder")
        return open(full, "rb")  # noqa: SIM115 (the caller closes it)

    def write(self, path: str, data: bytes) -> None:
        self.write_stream(path, [bytes(data)])

    def write_stream(self, path: str, source: BinaryIO | Iterable[bytes]) -> int:
        full = self._checked(path)
        folder = os.path.dirname(full)
        os.makedirs(folder, exist_ok=True)
        if not self._inside(folder):  # made through a link that appeared meanwhile
            raise StoragePathError(f"path {path[:100]!r} leads outside the storage root")
        fd, temporary = tempfile.mkstemp(dir=folder, prefix=".folderstore-")
        written = 0
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in _pieces(source):
                    out.write(chunk)
                    written += len(chunk)
            os.replace(temporary, full)
        except BaseException:
            with contextlib.suppress(OSError):
                os.remove(temporary)
            raise
        return written

    def delete(self, path: str) -> None:
        full = self._checked(path)
        if os.path.isdir(full):
            raise IsADirectoryError(f"{path!r} is a folder")
        os.remove(full)

    def status(self) -> str:
        if not os.path.isdir(self.root):
            return StorageStatus.NOT_FOUND
        if not os.access(self.root, os.R_OK | os.X_OK):
            return StorageStatus.FORBIDDEN
        return StorageStatus.AVAILABLE


def _sort_key(info: ObjectInfo) -> str:
    return info.name + "/" if info.type == "DIR" else info.name


def _pieces(source: BinaryIO | Iterable[bytes]) -> Iterator[bytes]:
    read = getattr(source, "read", None)
    if read is None:
        yield from (bytes(chunk) for chunk in source)  # type: ignore[union-attr]
        return
    while chunk := read(PIECE):
        yield chunk
