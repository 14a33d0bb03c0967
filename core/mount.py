"""Mounting a storage through FUSE (``cvatcore mount``): any provider built on fsspec
(``cvatcore.hooks.FsspecStorage``: local, S3, Azure, GCS, Google Drive), one command.

Reads go straight to the provider's filesystem (ranged reads). Object stores cannot write at
an offset, so in read-write mode a file opened for writing is staged in a local temporary
file and uploaded whole when it is closed; that is how a copy, an editor's save or
``rsync`` behave on the mount. Read-only mode (the default) refuses every change with
``EROFS``. Mounts run in the foreground; libfuse unmounts on SIGINT/SIGTERM.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
import tempfile
import threading
import time
from typing import Any

from fuse import FUSE, FuseOSError, Operations

logger = logging.getLogger("cvatcore.mount")


class _Staged:
    """A file open for writing: a local copy uploaded on close."""

    def __init__(self, path: str, tmp: Any) -> None:
        self.path, self.tmp, self.dirty, self.refs = path, tmp, False, 1


class StorageOperations(Operations):
    """FUSE operations over an fsspec filesystem rooted at ``root``."""

    def __init__(self, fs: Any, root: str, writable: bool = False) -> None:
        self.fs, self.root, self.writable = fs, root.rstrip("/"), writable
        self._lock = threading.Lock()
        self._next = 0
        self._readers: dict[int, Any] = {}
        self._staged: dict[int, _Staged] = {}
        self._uid, self._gid = os.getuid(), os.getgid()

    def _full(self, path: str) -> str:
        rel = path.lstrip("/")
        return f"{self.root}/{rel}" if rel else self.root

    def _handle(self) -> int:
        with self._lock:
            self._next += 1
            return self._next

    def _refuse_if_read_only(self) -> None:
        if not self.writable:
            raise FuseOSError(errno.EROFS)

    def _staged_for(self, path: str) -> _Staged | None:
        for staged in list(self._staged.values()):
            if staged.path == path:
                return staged
        return None

    # -- reading --------------------------------------------------------------------------

    def getattr(self, path: str, fh: int | None = None) -> dict[str, Any]:
        now = time.time()
        base = {"st_uid": self._uid, "st_gid": self._gid, "st_atime": now, "st_ctime": now,
                "st_mtime": now}
        staged = self._staged_for(path)
        if staged is not None:
            size = os.fstat(staged.tmp.fileno()).st_size
            return {**base, "st_mode": stat.S_IFREG | 0o644, "st_size": size, "st_nlink": 1}
        if path == "/":
            return {**base, "st_mode": stat.S_IFDIR | 0o755, "st_nlink": 2}
        try:
            info = self.fs.info(self._full(path))
        except FileNotFoundError:
            raise FuseOSError(errno.ENOENT) from None
        except PermissionError:
            raise FuseOSError(errno.EACCES) from None
        mtime = info.get("mtime") or info.get("LastModified") or info.get("last_modified")
        if hasattr(mtime, "timestamp"):
            base["st_mtime"] = mtime.timestamp()
        elif isinstance(mtime, int | float):
            base["st_mtime"] = float(mtime)
        if info.get("type") == "directory":
            return {**base, "st_mode": stat.S_IFDIR | 0o755, "st_nlink": 2}
        mode = 0o644 if self.writable else 0o444
        return {**base, "st_mode": stat.S_IFREG | mode, "st_size": int(info.get("size") or 0),
                "st_nlink": 1}

    def readdir(self, path: str, fh: int) -> list[str]:
        try:
            names = self.fs.ls(self._full(path), detail=False)
        except FileNotFoundError:
            raise FuseOSError(errno.ENOENT) from None
        entries = {os.path.basename(n.rstrip("/")) for n in names}
        prefix = path.rstrip("/") + "/"
        entries |= {s.path[len(prefix):] for s in self._staged.values()
                    if s.path.startswith(prefix) and "/" not in s.path[len(prefix):]}
        return [".", "..", *sorted(e for e in entries if e)]

    def open(self, path: str, flags: int) -> int:
        if flags & (os.O_WRONLY | os.O_RDWR):
            self._refuse_if_read_only()
            return self._stage(path, keep=not flags & os.O_TRUNC)
        handle = self._handle()
        try:
            self._readers[handle] = self.fs.open(self._full(path), "rb")
        except FileNotFoundError:
            raise FuseOSError(errno.ENOENT) from None
        return handle

    def read(self, path: str, size: int, offset: int, fh: int) -> bytes:
        staged = self._staged.get(fh)
        source = staged.tmp if staged is not None else self._readers[fh]
        source.seek(offset)
        return source.read(size)

    # -- writing (read-write mounts only) ---------------------------------------------------

    def _stage(self, path: str, keep: bool) -> int:
        tmp = tempfile.TemporaryFile()  # noqa: SIM115 (closed in release)
        if keep:
            try:
                with self.fs.open(self._full(path), "rb") as src:
                    while chunk := src.read(8 << 20):
                        tmp.write(chunk)
            except FileNotFoundError:
                pass
        handle = self._handle()
        self._staged[handle] = _Staged(path, tmp)
        return handle

    def create(self, path: str, mode: int, fi: Any = None) -> int:
        self._refuse_if_read_only()
        handle = self._stage(path, keep=False)
        self._staged[handle].dirty = True
        return handle

    def write(self, path: str, data: bytes, offset: int, fh: int) -> int:
        staged = self._staged[fh]
        staged.tmp.seek(offset)
        staged.tmp.write(data)
        staged.dirty = True
        return len(data)

    def truncate(self, path: str, length: int, fh: int | None = None) -> None:
        self._refuse_if_read_only()
        staged = self._staged.get(fh) if fh is not None else self._staged_for(path)
        if staged is None:
            handle = self._stage(path, keep=True)
            staged = self._staged[handle]
            staged.tmp.truncate(length)
            staged.dirty = True
            self.release(path, handle)
            return
        staged.tmp.truncate(length)
        staged.dirty = True

    def flush(self, path: str, fh: int) -> None:
        staged = self._staged.get(fh)
        if staged is not None and staged.dirty:
            self._upload(staged)

    def release(self, path: str, fh: int) -> int:
        reader = self._readers.pop(fh, None)
        if reader is not None:
            reader.close()
        staged = self._staged.pop(fh, None)
        if staged is not None:
            try:
                if staged.dirty:
                    self._upload(staged)
            finally:
                staged.tmp.close()
        return 0

    def _upload(self, staged: _Staged) -> None:
        staged.tmp.flush()
        staged.tmp.seek(0)
        try:
            with self.fs.open(self._full(staged.path), "wb") as dst:
                while chunk := staged.tmp.read(8 << 20):
                    dst.write(chunk)
        except PermissionError:
            raise FuseOSError(errno.EACCES) from None
        staged.dirty = False

    def unlink(self, path: str) -> None:
        self._refuse_if_read_only()
        try:
            self.fs.rm_file(self._full(path))
        except FileNotFoundError:
            raise FuseOSError(errno.ENOENT) from None

    def mkdir(self, path: str, mode: int) -> None:
        self._refuse_if_read_only()
        self.fs.makedirs(self._full(path), exist_ok=True)

    def rmdir(self, path: str) -> None:
        self._refuse_if_read_only()
        try:
            self.fs.rmdir(self._full(path))
        except (FileNotFoundError, OSError):
            raise FuseOSError(errno.ENOTEMPTY) from None

    def rename(self, old: str, new: str) -> None:
        self._refuse_if_read_only()
        self.fs.mv(self._full(old), self._full(new))

    def chmod(self, path: str, mode: int) -> None:
        return None  # object stores have no modes; accept so that cp -p works

    def chown(self, path: str, uid: int, gid: int) -> None:
        return None

    def utimens(self, path: str, times: Any = None) -> None:
        return None


def mount(provider: Any, mountpoint: str, writable: bool = False,
          allow_other: bool = False) -> None:
    """Mount ``provider`` at ``mountpoint`` in the foreground until unmounted or signalled."""
    fs, root = getattr(provider, "fs", None), getattr(provider, "root", None)
    if fs is None or root is None:
        raise ValueError("this storage provider is not built on fsspec and cannot be mounted")
    options: dict[str, Any] = {"foreground": True, "nothreads": False, "ro": not writable,
                               "fsname": f"cvatcore:{getattr(provider, 'label', root)}"}
    if allow_other:
        options["allow_other"] = True
    FUSE(StorageOperations(fs, root, writable), mountpoint, **options)
