"""Writing ``manifest.jsonl`` and its ``index.json`` byte for byte as CVAT does.

Each line is ``json.dumps(obj, separators=(",", ":"))`` (ASCII-escaped, keys in insertion
order) plus ``\\n``. The index maps item number to the byte offset of its line, skipping the
header lines, dumped the same compact way (``{"0":36,"1":171}``). Both are written to temporary
files next to the target and renamed into place only when complete, so a failed run never
leaves a half-written manifest behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from types import TracebackType
from typing import IO, Any

MANIFEST_NAME = "manifest.jsonl"
INDEX_NAME = "index.json"
VERSION = "1.1"


def dump_line(obj: dict[str, Any]) -> bytes:
    return (json.dumps(obj, separators=(",", ":")) + "\n").encode("ascii")


class ManifestWriter:
    """``with ManifestWriter(dir) as w: w.header(...); w.item(...)``; committed on success."""

    def __init__(self, output_dir: str, with_index: bool = True) -> None:
        self.output_dir = output_dir
        self.path = os.path.join(output_dir, MANIFEST_NAME)
        self.index_path = os.path.join(output_dir, INDEX_NAME)
        self._with_index = with_index
        self._files: list[tuple[IO[bytes], str]] = []
        self._manifest: IO[bytes] | None = None
        self._index: IO[bytes] | None = None
        self._offset = 0
        self.count = 0

    def __enter__(self) -> ManifestWriter:
        os.makedirs(self.output_dir, exist_ok=True)
        self._manifest = self._temp(MANIFEST_NAME)
        if self._with_index:
            self._index = self._temp(INDEX_NAME)
            self._index.write(b"{")
        return self

    def _temp(self, name: str) -> IO[bytes]:
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=self.output_dir)
        f = os.fdopen(fd, "wb")
        self._files.append((f, tmp))
        return f

    def header(self, **fields: Any) -> None:
        """One line per field, in the given order: ``version``, ``type``, ``properties``."""
        assert self._manifest is not None and self.count == 0
        for key, value in fields.items():
            self._write(dump_line({key: value}))

    def item(self, obj: dict[str, Any]) -> None:
        assert self._manifest is not None
        if self._index is not None:
            sep = b"," if self.count else b""
            self._index.write(b'%s"%d":%d' % (sep, self.count, self._offset))
        self._write(dump_line(obj))
        self.count += 1

    def _write(self, data: bytes) -> None:
        assert self._manifest is not None
        self._manifest.write(data)
        self._offset += len(data)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._index is not None:
            self._index.write(b"}")
        for f, _ in self._files:
            f.close()
        if exc_type is not None:
            for _, tmp in self._files:
                _unlink(tmp)
            return
        targets = [self.path, self.index_path][: len(self._files)]
        mode = 0o666 & ~_umask()
        for (_, tmp), target in zip(self._files, targets, strict=True):
            os.chmod(tmp, mode)
            os.replace(tmp, target)
        if not self._with_index:
            _unlink(self.index_path)  # an index of an older manifest would now be wrong


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _unlink(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
