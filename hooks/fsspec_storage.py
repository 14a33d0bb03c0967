"""``FsspecStorage``: the ``StorageProvider`` protocol over any fsspec filesystem.

A storage plugin gives it a filesystem (or a function that builds one on first use) and a root
(``"bucket"``, ``"bucket/some/prefix"`` or an absolute local directory) and gets, in one place:

* path checks: every path is relative to the root; ``..``, ``.``, empty segments, a leading
  "/" and NUL raise ``StoragePathError`` before any request is made;
* error mapping: library exceptions become ``FileNotFoundError``, ``PermissionError``,
  ``StorageUnavailableError`` or ``OSError`` with a message naming the storage, the action and
  the path; the secrets the subclass declares are scrubbed from every message, and the
  library's exception is not chained (its text and arguments stay out of logs);
* ``status()`` that never raises, ``delete`` that reports a missing object, byte ranges;
* streaming: ``open_read`` and ``write_stream`` move objects of any size in blocks of
  ``stream_block_size`` (multipart uploads and ranged reads on buckets);
* the root: on a local filesystem, a path whose real location (symlinks followed) is outside
  the root raises ``StoragePathError``, and listings leave such links out.

Subclasses override ``list_native`` to use the backend's own paginated listing (S3
``ListObjectsV2``, GCS ``objects.list``), ``check_status`` to ask the backend about the bucket,
and ``classify`` to recognise their library's exceptions. ``fs`` and ``root`` stay public so
that other tools (FUSE mounts, manifest readers) can reuse the same filesystem.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import heapq
import json
import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from typing import Any, BinaryIO

from fsspec import AbstractFileSystem
from fsspec.exceptions import FSTimeoutError
from fsspec.spec import AbstractBufferedFile

from cvatcore.hooks.types import (
    ListingPage,
    ObjectInfo,
    StoragePathError,
    StorageStatus,
    StorageUnavailableError,
)

log = logging.getLogger("cvatcore.storage")

#: What ``classify`` returns: the exception class to raise and a short reason for the message.
Classified = tuple[type[Exception], str]


def clean_path(path: str, *, trailing_slash: bool = False) -> str:
    """``path`` itself when it is a safe relative path, else ``StoragePathError``.

    ``trailing_slash`` allows one final "/" (prefixes and folders); ``""`` is allowed only
    together with it (the root).
    """
    if not isinstance(path, str):
        raise StoragePathError(f"a path must be a string, not {type(path).__name__}")
    shown = repr(path[:200])
    if "\x00" in path:
        raise StoragePathError(f"path {shown} contains a NUL byte")
    if path.startswith("/"):
        raise StoragePathError(f"path {shown} is absolute; paths are relative to the storage")
    body = path[:-1] if trailing_slash and path.endswith("/") else path
    if body == "" and path == "" and trailing_slash:
        return path
    if any(segment in ("", ".", "..") for segment in body.split("/")):
        raise StoragePathError(f"path {shown} has an empty, '.' or '..' segment")
    return path


class FsspecStorage:
    """A ``StorageProvider`` over an fsspec filesystem and a root inside it.

    ``fs`` is a filesystem or a zero-argument callable that builds one; a callable runs on
    first use, inside the error mapping, so that bad credentials found while connecting turn
    into ``PermissionError``/``FORBIDDEN`` instead of failing the provider's constructor.
    ``label`` names the storage in messages (``"s3://bucket"``); ``secrets`` are strings that
    must never appear in a message (they are replaced by ``***``).
    """

    #: Largest page ``list_page`` accepts; bigger requests are cut to it.
    max_page_size = 10_000
    #: Bytes per block of ``open_read`` and ``write_stream``: what one ranged read fetches
    #: and one part of a multipart upload holds (S3 wants at least 5 MiB per part). Without
    #: it some filesystems buffer 50 MiB per open file.
    stream_block_size = 8 * 2**20

    def __init__(
        self,
        fs: AbstractFileSystem | Callable[[], AbstractFileSystem],
        root: str,
        *,
        label: str | None = None,
        secrets: Iterable[str | None] = (),
    ) -> None:
        self._fs = fs if isinstance(fs, AbstractFileSystem) else None
        self._make_fs = None if isinstance(fs, AbstractFileSystem) else fs
        self._fs_lock = threading.Lock()
        self.root = root.rstrip("/") or root
        self.label = label or root
        self._secrets = [s for s in secrets if s and len(s) >= 4]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.label}>"

    @property
    def fs(self) -> AbstractFileSystem:
        """The filesystem, built on first use when the constructor was given a factory."""
        if self._fs is None:
            with self._fs_lock:
                if self._fs is None:
                    assert self._make_fs is not None
                    self._fs = self._make_fs()
        return self._fs

    # -- paths -------------------------------------------------------------------------------

    def full_path(self, key: str) -> str:
        """The filesystem path of ``key`` (already checked by ``clean_path``); on a local
        filesystem, ``StoragePathError`` when symlinks lead it out of the root."""
        full = f"{self.root}/{key}" if key else self.root
        if key and self.is_local() and not self.inside_root(full):
            raise StoragePathError(f"path {key[:200]!r} leads outside the storage root")
        return full

    def is_local(self) -> bool:
        """Whether the filesystem is this machine's own (symlinks exist there)."""
        protocol = self.fs.protocol
        return (protocol if isinstance(protocol, str) else protocol[0]) in ("file", "local")

    def inside_root(self, full: str) -> bool:
        """Whether a local path's real location (every symlink followed) is in the root."""
        root = self._real_root
        return os.path.commonpath([root, os.path.realpath(full)]) == root

    @functools.cached_property
    def _real_root(self) -> str:
        # Resolved once: every local read and write checks its path against it.
        return os.path.realpath(self.root)

    def relative_name(self, full: str) -> str:
        """The inverse of ``full_path`` for names the filesystem returns."""
        name = full[len(self.root) + 1 :] if full.startswith(self.root + "/") else full
        return name.rstrip("/")

    # -- errors ------------------------------------------------------------------------------

    def classify(self, exc: BaseException) -> Classified | None:
        """Map one library exception to ``(exception class, reason)``, or ``None`` to let it
        propagate unchanged (programming errors). Subclasses handle their library's types
        first and end with ``return super().classify(exc)``."""
        if isinstance(exc, StorageUnavailableError):
            return StorageUnavailableError, str(exc)
        for kind, reason in (
            (FileNotFoundError, "not found"),
            (PermissionError, "access denied"),
            (IsADirectoryError, "is a directory"),
            (NotADirectoryError, "a parent is not a directory"),
            (FileExistsError, "already exists"),
        ):
            if isinstance(exc, kind):
                return kind, reason
        if isinstance(exc, (ConnectionError, TimeoutError, asyncio.TimeoutError, FSTimeoutError)):
            return StorageUnavailableError, f"cannot reach the storage ({type(exc).__name__})"
        if isinstance(exc, OSError):
            return OSError, str(exc) or type(exc).__name__
        return None

    def redact(self, text: str) -> str:
        """``text`` with every declared secret replaced by ``***``."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    @contextmanager
    def errors(self, action: str, path: str) -> Iterator[None]:
        """Run a block with library exceptions translated (see ``classify``)."""
        try:
            yield
        except StoragePathError:
            raise
        except Exception as exc:
            classified = self.classify(exc)
            if classified is None:
                raise
            kind, reason = classified
            where = f" {path!r}" if path else ""
            message = self.redact(f"{self.label}: cannot {action}{where}: {reason}")
            log.debug("%s (%s)", message, type(exc).__name__)
            raise kind(message) from None

    # -- the protocol ------------------------------------------------------------------------

    def list_page(self, prefix: str, cursor: str | None, page_size: int) -> ListingPage:
        """One page of the entries one level below ``prefix``; see ``StorageProvider``."""
        clean_path(prefix, trailing_slash=True)
        if not isinstance(page_size, int) or page_size < 1:
            raise ValueError("page_size must be a positive integer")
        page_size = min(page_size, self.max_page_size)
        with self.errors("list", prefix):
            return self.list_native(prefix, cursor or None, page_size)

    def list_native(self, prefix: str, cursor: str | None, page_size: int) -> ListingPage:
        """The generic listing: one ``fs.ls`` of the level, cut after the cursor.

        It reads the whole level on every page (fine for small local folders); backends with
        a paginated API override it. The cursor is the sort key of the last entry returned.
        """
        level, _, _ = prefix.rpartition("/")
        try:
            listing = self.fs.ls(self.full_path(level), detail=True)
        except FileNotFoundError:
            listing = []
        if self.is_local():  # a link out of the root is not part of this storage
            listing = [i for i in listing if self.inside_root(i["name"])]
        infos = (self.object_info(self.relative_name(i["name"]), i) for i in listing)
        return page_after(
            (info for info in infos if info.name.startswith(prefix) and info.name != level),
            cursor,
            page_size,
        )

    def stat(self, path: str) -> ObjectInfo:
        """Size and type of one object or folder; ``FileNotFoundError`` when absent."""
        key = clean_path(path, trailing_slash=True)
        with self.errors("stat", path):
            info = self.fs.info(self.full_path(key.rstrip("/")))
        return self.object_info(key.rstrip("/"), info)

    def read(self, path: str, start: int | None = None, end: int | None = None) -> bytes:
        """The object's bytes, or ``[start, end)`` of them (cut at the object's end)."""
        key = clean_path(path)
        if (start is not None and start < 0) or (end is not None and end < 0):
            raise ValueError("byte offsets must not be negative")
        if start is not None and end is not None and end <= start:
            self.stat(path)
            return b""
        with self.errors("read", path):
            return self.read_native(key, start, end)

    def read_native(self, key: str, start: int | None, end: int | None) -> bytes:
        """Read a checked key; backends override it to save a request (s3fs asks for the
        size with a HEAD before a whole-object GET)."""
        return self.fs.cat_file(self.full_path(key), start=start, end=end)

    def write(self, path: str, data: bytes) -> None:
        """Create or replace one object."""
        key = clean_path(path)
        with self.errors("write", path):
            self.fs.pipe_file(self.full_path(key), bytes(data))

    def open_read(self, path: str) -> BinaryIO:
        """A seekable binary file over the object, read in ``stream_block_size`` blocks."""
        key = clean_path(path)
        with self.errors("read", path):
            return self.fs.open(self.full_path(key), "rb", block_size=self.stream_block_size)

    def write_stream(self, path: str, source: BinaryIO | Iterable[bytes]) -> int:
        """Create or replace one object from a binary file or an iterable of ``bytes``,
        ``stream_block_size`` at a time; returns the byte count. When ``source`` (or the
        upload) fails, the upload is abandoned (``discard``: a multipart upload is aborted)
        and the partly written object removed where the backend left one."""
        key = clean_path(path)
        with self.errors("write", path):
            full = self.full_path(key)
            if self.is_local():
                self.fs.makedirs(full.rpartition("/")[0] or "/", exist_ok=True)
            handle = self.fs.open(full, "wb", block_size=self.stream_block_size)
        written = 0
        try:
            for chunk in _chunks(source, self.stream_block_size):
                with self.errors("write", path):
                    handle.write(chunk)
                written += len(chunk)
        except BaseException:
            self._abandon(handle, full)
            raise
        with self.errors("write", path):
            handle.close()
        return written

    def _abandon(self, handle: Any, full: str) -> None:
        """Drop a failed upload: a buffered upload (buckets) is discarded before it commits
        (a multipart upload is aborted; the old object stays); a file written in place (a
        local file, fsspec's memory filesystem) is closed and removed, never left partial."""
        if isinstance(handle, AbstractBufferedFile):
            with suppress(Exception):
                handle.discard()
            # A discarded buffered file would otherwise try to commit itself when collected.
            handle.closed = True
            return
        with suppress(Exception):
            handle.close()
        with suppress(Exception):
            self.fs.rm_file(full)

    def delete(self, path: str) -> None:
        """Remove one object: ``FileNotFoundError`` when absent (object stores would not say),
        ``IsADirectoryError`` for a folder."""
        info = self.stat(path)
        if info.type == "DIR":
            raise IsADirectoryError(f"{self.label}: cannot delete {path!r}: is a directory")
        with self.errors("delete", path):
            self.fs.rm_file(self.full_path(clean_path(path)))

    def status(self) -> str:
        """``AVAILABLE``, ``FORBIDDEN`` or ``NOT_FOUND``; never raises."""
        try:
            with self.errors("check", ""):
                return self.check_status()
        except PermissionError:
            return StorageStatus.FORBIDDEN
        except Exception as exc:  # a status check must answer, whatever went wrong
            log.info("%s: status NOT_FOUND: %s", self.label, self.redact(str(exc)))
            return StorageStatus.NOT_FOUND

    def check_status(self) -> str:
        """Ask the backend whether the root exists; raising is fine (``status`` maps it)."""
        info = self.fs.info(self.root)
        return StorageStatus.AVAILABLE if info["type"] == "directory" else StorageStatus.NOT_FOUND

    # -- helpers for subclasses --------------------------------------------------------------

    def object_info(self, name: str, info: dict[str, Any]) -> ObjectInfo:
        """An ``ObjectInfo`` from one fsspec info dict."""
        if info.get("type") == "directory":
            return ObjectInfo(name=name, type="DIR", modified=modified_time(info))
        return ObjectInfo(name=name, type="REG", size=info.get("size"),
                          modified=modified_time(info))


def _chunks(source: BinaryIO | Iterable[bytes], size: int) -> Iterator[bytes]:
    """The pieces of a file (read ``size`` at a time) or of an iterable of ``bytes``."""
    read = getattr(source, "read", None)
    if read is None:
        for chunk in source:  # type: ignore[union-attr]
            if chunk:
                yield bytes(chunk) if not isinstance(chunk, bytes) else chunk
        return
    while chunk := read(size):
        yield chunk


def sort_key(info: ObjectInfo) -> str:
    """Where an entry falls in a delimited listing: folders sort as ``name/``, as on S3."""
    return info.name + "/" if info.type == "DIR" else info.name


def page_after(entries: Iterable[ObjectInfo], cursor: str | None, page_size: int) -> ListingPage:
    """The ``page_size`` first entries (by ``sort_key``) after ``cursor``, keeping at most one
    page in memory however many entries stream past; the cursor is the last sort key."""
    after = (e for e in entries if cursor is None or sort_key(e) > cursor)
    chosen = heapq.nsmallest(page_size + 1, after, key=sort_key)
    page = chosen[:page_size]
    more = len(chosen) > page_size
    return ListingPage(entries=page, next=sort_key(page[-1]) if more and page else None)


def modified_time(info: dict[str, Any]) -> float | None:
    """A POSIX timestamp from whichever field the backend fills (local, S3, GCS)."""
    for field in ("mtime", "LastModified", "updated", "last_modified"):
        value = info.get(field)
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, datetime):
            return value.timestamp()
        if isinstance(value, str):
            try:
                return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
            except ValueError:
                continue
    return None


# -- opaque listing cursors ----------------------------------------------------------------


def pack_cursor(values: dict[str, Any]) -> str:
    """An opaque cursor holding ``values`` (JSON, URL-safe base64 without padding)."""
    raw = json.dumps(values, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def unpack_cursor(cursor: str) -> dict[str, Any]:
    """The values of a ``pack_cursor`` cursor; ``ValueError`` for anything else."""
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError):
        data = None
    if not isinstance(data, dict):
        raise ValueError("the listing cursor was not made by this storage")
    return data


def bound_cursor(token: str | None, prefix: str) -> str | None:
    """A backend's page token bound to the prefix it lists (None at the end), so that a
    cursor from another listing is refused instead of silently misread."""
    return pack_cursor({"p": prefix, "t": token}) if token else None


def bound_token(cursor: str | None, prefix: str) -> str | None:
    """The page token of a ``bound_cursor`` made for ``prefix``; ``ValueError`` otherwise."""
    if cursor is None:
        return None
    data = unpack_cursor(cursor)
    if data.get("p") != prefix or not isinstance(data.get("t"), str):
        raise ValueError("the listing cursor is not one this storage gave out for this prefix")
    return data["t"]
