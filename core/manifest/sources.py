"""Where manifest input comes from: a local directory, file or glob, or the same in a bucket.

A bucket URL (``s3://``, ``az://``, ``gs://``, ``memory://``, ...) goes through fsspec, whose
backends come from the installed libraries (s3fs, adlfs, gcsfs); this module never imports them.
Local paths are read with ``os`` exactly as CVAT's ``create.py`` reads them, so walking order
(the ``predefined`` sorting) and symlink handling stay the same.
"""

from __future__ import annotations

import glob as pyglob
import os
import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from fsspec.core import url_to_fs

_WILDCARD = re.compile(r"[*?\[\]]")


class SourceError(Exception):
    """The source cannot be read (missing, not allowed, nothing in it)."""


@dataclass
class Source:
    """Files under ``root`` named by ``/``-separated paths relative to it.

    ``kind`` is ``"dir"``, ``"glob"`` or ``"file"``; for ``"file"`` the one file is ``file``.
    """

    kind: str
    root: str
    fs: Any = None  # an fsspec filesystem; None for the local disk
    pattern: str = ""
    file: str = ""
    _dirs: dict[str, list[str]] | None = field(default=None, repr=False)
    _listing: list[tuple[str, int]] | None = field(default=None, repr=False)

    @property
    def is_local(self) -> bool:
        return self.fs is None

    def walk(self) -> Iterator[tuple[str, int]]:
        """``(relative path, size)`` of every file, in listing order (what ``predefined`` keeps)."""
        if self.kind == "glob":
            yield from self._glob()
        elif self.is_local:
            for top, _dirs, files in os.walk(self.root):
                for name in files:
                    path = os.path.join(top, name)
                    yield _relative(path, self.root), _local_size(path)
        else:
            yield from self._bucket_listing()

    def _bucket_listing(self) -> list[tuple[str, int]]:
        """Every object under the root, listed once (``listdir`` answers from it too)."""
        if self._listing is None:
            found = self.fs.find(self.root, withdirs=False, detail=True)
            self._listing = [(_relative(path, self.root, posixpath), int(info.get("size") or 0))
                             for path, info in found.items()]
        return self._listing

    def _glob(self) -> Iterator[tuple[str, int]]:
        if self.is_local:
            for path in pyglob.glob(self.pattern, recursive=True):
                if os.path.isfile(path):
                    yield _relative(path, self.root), _local_size(path)
            return
        for path, info in self.fs.glob(self.pattern, detail=True).items():
            if info.get("type") != "directory":
                yield _relative(path, self.root, posixpath), int(info.get("size") or 0)

    def listdir(self, rel_dir: str) -> list[str] | None:
        """Relative paths of the entries directly in ``rel_dir``; None when it is no directory."""
        if self.is_local:
            path = os.path.join(self.root, rel_dir)
            if not os.path.isdir(path):
                return None
            return [posixpath.join(rel_dir, name) for name in os.listdir(path)]
        if self._dirs is None:
            self._dirs = self._bucket_dirs()
        return self._dirs.get(rel_dir)

    def _bucket_dirs(self) -> dict[str, list[str]]:
        """A bucket has no directories, only key prefixes: derive them from one listing."""
        dirs: dict[str, list[str]] = {}
        for rel, _ in self._bucket_listing():
            parent = posixpath.dirname(rel)
            dirs.setdefault(parent, []).append(rel)
            while parent:
                grand = posixpath.dirname(parent)
                siblings = dirs.setdefault(grand, [])
                if parent in siblings:
                    break
                siblings.append(parent)
                parent = grand
        return dirs

    def local_path(self, rel: str) -> str | None:
        return os.path.join(self.root, rel) if self.is_local else None

    def path(self, rel: str) -> str:
        """The full path of ``rel`` (for a bucket: without the protocol, as fsspec takes it)."""
        if self.is_local:
            return os.path.join(self.root, rel)
        return posixpath.join(self.root, rel) if rel else self.root

    def read(self, rel: str) -> bytes:
        if self.is_local:
            with open(self.path(rel), "rb") as f:
                return f.read()
        return self.fs.cat_file(self.path(rel))

    def open(self, rel: str) -> IO[bytes]:
        if self.is_local:
            return open(self.path(rel), "rb")  # noqa: SIM115 - the caller closes it
        return self.fs.open(self.path(rel), "rb")


def _local_size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def _relative(path: str, root: str, mod: Any = os.path) -> str:
    rel = mod.relpath(path, root)
    return rel.replace(os.sep, "/") if mod is os.path else rel


def is_url(spec: str) -> bool:
    """True for ``proto://...`` other than ``file://``."""
    proto, sep, _ = spec.partition("://")
    return bool(sep) and proto not in ("", "file", "local")


def open_source(spec: str, storage_options: dict[str, Any] | None = None) -> Source:
    """The source ``spec`` names: a directory, one file, or a glob, local or in a bucket."""
    if is_url(spec):
        return _bucket_source(spec, storage_options or {})
    if spec.startswith("file://"):
        spec = spec[len("file://"):]
    path = os.path.abspath(os.path.expanduser(spec))
    if os.path.isfile(path):
        return Source("file", os.path.dirname(path), file=os.path.basename(path))
    if os.path.isdir(path):
        return Source("dir", path)
    if _WILDCARD.search(path):
        return Source("glob", _glob_root(path, os.path), pattern=path)
    raise SourceError(f"{spec}: no such file or directory")


def _glob_root(pattern: str, mod: Any) -> str:
    """The fixed part before the first wildcard (CVAT requires one: ``/data/*.jpg``, not ``*``)."""
    root = pattern
    while root and _WILDCARD.search(root):
        root = mod.split(root)[0]
    if root in ("", "/", mod.sep):
        raise SourceError(f"{pattern}: a pattern needs a fixed directory before the first wildcard")
    return root


def display_url(url: str) -> str:
    """``url`` without any ``user:password@`` part, for messages."""
    scheme, sep, rest = url.partition("://")
    netloc, slash, path = rest.partition("/")
    return f"{scheme}{sep}{netloc.rpartition('@')[2]}{slash}{path}" if sep else url


def _bucket_source(url: str, options: dict[str, Any]) -> Source:
    try:
        fs, path = url_to_fs(url, **options)
    except (ImportError, ValueError, TypeError) as exc:  # TypeError: an unknown option name
        raise SourceError(
            f"{display_url(url)}: {_scheme(url)} is not available here ({exc})"
        ) from None
    url = display_url(url)
    path = path.rstrip("/")
    try:
        if _WILDCARD.search(path):
            return Source("glob", _glob_root(path, posixpath), fs=fs, pattern=path)
        if fs.isfile(path):
            return Source("file", posixpath.dirname(path), fs=fs, file=posixpath.basename(path))
        if fs.isdir(path):
            return Source("dir", path, fs=fs)
    except PermissionError:
        raise SourceError(f"{url}: access denied") from None
    except (FileNotFoundError, OSError) as exc:
        raise SourceError(f"{url}: cannot be read ({type(exc).__name__})") from None
    raise SourceError(f"{url}: no such object or prefix")


def _scheme(url: str) -> str:
    return url.partition("://")[0] + "://"
