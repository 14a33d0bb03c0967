"""Task media in the media store (``AppState.media``, any storage provider).

Layout, per ``TaskData`` row (``data/<data_id>/`` as CVAT's data directory):

* ``raw/``       uploaded files (CVAT's upload directory) and copies of server files;
* ``tus/``       TUS uploads in progress (a ``.json`` state and numbered parts per file);
* ``extracted/`` members of an uploaded archive;
* ``cache/``     derived files built on demand: compressed frames, chunks, previews.

Large objects (videos, archives, uploads) stream: reads through the provider's
``open_read``, copies through its ``write_stream`` (``cvatcore.hooks.StorageProvider``), and
writers that push bytes through the provider's fsspec filesystem (``fs``/``full_path``, as
``FsspecStorage`` has), with whole ``bytes`` as the fallback for providers without them.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
from collections.abc import Iterator
from typing import IO, Any

from cvatcore.hooks import ObjectInfo

COPY_BUFFER = 1 << 20


def data_prefix(data_id: int) -> str:
    return f"data/{data_id}/"


def raw_prefix(data_id: int) -> str:
    return f"data/{data_id}/raw/"


def tus_prefix(data_id: int) -> str:
    return f"data/{data_id}/tus/"


def extracted_prefix(data_id: int) -> str:
    return f"data/{data_id}/extracted/"


def cache_prefix(data_id: int) -> str:
    return f"data/{data_id}/cache/"


def _fs_path(store: Any, key: str) -> tuple[Any, str] | None:
    fs, full_path = getattr(store, "fs", None), getattr(store, "full_path", None)
    if fs is None or full_path is None:
        return None
    from cvatcore.hooks.fsspec_storage import clean_path

    return fs, full_path(clean_path(key))


def _errors(store: Any, action: str, key: str) -> Any:
    errors = getattr(store, "errors", None)
    return errors(action, key) if errors is not None else contextlib.nullcontext()


@contextlib.contextmanager
def open_write(store: Any, key: str) -> Iterator[IO[bytes]]:
    """A writable binary file that becomes object ``key`` (streamed where the provider can)."""
    located = _fs_path(store, key)
    if located is None:
        buffer = io.BytesIO()
        yield buffer
        store.write(key, buffer.getvalue())
        return
    fs, path = located
    with _errors(store, "write", key):
        if _is_local(fs):
            fs.makedirs(path.rpartition("/")[0] or "/", exist_ok=True)
        handle = fs.open(path, "wb")
    try:
        yield handle
    finally:
        with _errors(store, "write", key):
            handle.close()


@contextlib.contextmanager
def open_read(store: Any, key: str) -> Iterator[IO[bytes]]:
    """A seekable binary file reading object ``key`` (streamed where the provider can)."""
    if callable(getattr(store, "open_read", None)):
        with store.open_read(key) as handle:
            yield handle
        return
    located = _fs_path(store, key)
    if located is None:
        yield io.BytesIO(store.read(key))
        return
    fs, path = located
    with _errors(store, "read", key):
        handle = fs.open(path, "rb")
    try:
        yield handle
    finally:
        handle.close()


def put_stream(store: Any, key: str, source: IO[bytes], limit: int | None = None) -> int:
    """Copy ``source`` into object ``key``; returns the byte count."""
    if callable(getattr(store, "write_stream", None)):
        return int(store.write_stream(key, _pieces(source, limit)))
    copied = 0
    with open_write(store, key) as target:
        while True:
            chunk = source.read(COPY_BUFFER if limit is None else min(COPY_BUFFER, limit - copied))
            if not chunk:
                break
            target.write(chunk)
            copied += len(chunk)
    return copied


def _pieces(source: IO[bytes], limit: int | None) -> Iterator[bytes]:
    """``source`` in ``COPY_BUFFER`` pieces, at most ``limit`` bytes in all."""
    left = limit
    while left is None or left > 0:
        chunk = source.read(COPY_BUFFER if left is None else min(COPY_BUFFER, left))
        if not chunk:
            return
        if left is not None:
            left -= len(chunk)
        yield chunk


def copy_object(source_store: Any, source_key: str, store: Any, key: str) -> int:
    with open_read(source_store, source_key) as source:
        return put_stream(store, key, source)


def walk(store: Any, prefix: str) -> Iterator[ObjectInfo]:
    """Every file below ``prefix`` (which ends with "/"), names relative to the storage root;
    a missing prefix is empty. A local directory is walked with ``os.walk`` (one pass, no
    page bookkeeping)."""
    base = local_path(store, prefix.rstrip("/"))
    if base is not None:
        for folder, _, files in os.walk(base):
            relative = os.path.relpath(folder, base).replace(os.sep, "/")
            inner = "" if relative == "." else relative + "/"
            for name in sorted(files):
                yield ObjectInfo(name=f"{prefix}{inner}{name}", type="REG")
        return
    cursor: str | None = None
    folders: list[str] = []
    while True:
        try:
            page = store.list_page(prefix, cursor, 10_000)
        except FileNotFoundError:
            return
        for entry in page.entries:
            if entry.type == "DIR":
                folders.append(entry.name + "/")
            else:
                yield entry
        cursor = page.next
        if cursor is None:
            break
    for folder in folders:
        yield from walk(store, folder)


def remove_prefix(store: Any, prefix: str) -> None:
    """Delete everything below ``prefix`` (missing is fine)."""
    located = _fs_path(store, prefix.rstrip("/"))
    if located is not None:
        fs, path = located
        with contextlib.suppress(FileNotFoundError), _errors(store, "delete", prefix):
            if fs.exists(path):
                fs.rm(path, recursive=True)
        return
    for info in list(walk(store, prefix)):
        with contextlib.suppress(FileNotFoundError):
            store.delete(info.name)


def exists(store: Any, key: str) -> bool:
    try:
        store.stat(key)
    except FileNotFoundError:
        return False
    return True


def local_path(store: Any, key: str) -> str | None:
    """The file's path on this machine when the store is a local directory (PyAV and zipfile
    then read it directly), else None."""
    located = _fs_path(store, key)
    if located is None:
        return None
    fs, path = located
    return path if _is_local(fs) else None


def _is_local(fs: Any) -> bool:
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    return protocol in ("file", "local")


def copy_file_to(store: Any, key: str, target: IO[bytes]) -> None:
    with open_read(store, key) as source:
        shutil.copyfileobj(source, target, COPY_BUFFER)
