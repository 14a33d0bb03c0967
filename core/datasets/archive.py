"""Archives of datasets: a zip written member by member into any binary stream, and an
uploaded zip (or a single file) read back after checking it against zip bombs, absolute
paths and ``..``."""

from __future__ import annotations

import io
import posixpath
import tempfile
import zipfile
import zlib
from typing import IO, Any

from cvatcore.core.media import limits
from cvatcore.hooks.datasets import DatasetFormatError

#: Annotation files an importer may read whole (images in an archive are never read).
MAX_MEMBER_READ = 2 * limits.GiB
#: Members stored as they are: compressing compressed images again costs time for nothing.
STORED = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif", ".mp4", ".zip"})


class ZipArchiveWriter:
    """``ArchiveWriter`` over a ``zipfile.ZipFile`` opened for writing.

    A zip takes one member at a time; members written while one is open (images next to the
    annotation file being streamed) wait in a temporary file and follow when it closes."""

    def __init__(self, target: IO[bytes]) -> None:
        self.zip = zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED,
                                   compresslevel=6, allowZip64=True)
        self.written: set[str] = set()
        self._open: IO[bytes] | None = None
        self._waiting: list[tuple[str, int]] = []
        self._spool: IO[bytes] | None = None

    def _name(self, name: str) -> str:
        clean = posixpath.normpath(name.replace("\\", "/")).lstrip("/")
        if clean.startswith("..") or clean in self.written:
            raise ValueError(f"bad or repeated archive member {name!r}")
        self.written.add(clean)
        return clean

    def write(self, name: str, data: bytes | str) -> None:
        if isinstance(data, str):
            data = data.encode()
        clean = self._name(name)
        if self._open is not None and not self._open.closed:
            if self._spool is None:
                self._spool = tempfile.TemporaryFile(prefix="cvatcore-zip-")  # noqa: SIM115
            self._spool.write(data)
            self._waiting.append((clean, len(data)))
            return
        self._flush()
        stored = posixpath.splitext(clean)[1].lower() in STORED
        self.zip.writestr(clean, data,
                          compress_type=zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED)

    def open(self, name: str) -> IO[bytes]:
        self._flush()
        self._open = self.zip.open(self._name(name), "w", force_zip64=True)
        return self._open

    def _flush(self) -> None:
        """Members that waited for the open one, in the order they came."""
        if self._open is not None and not self._open.closed:
            return
        self._open = None
        if self._spool is None:
            return
        spool, waiting = self._spool, self._waiting
        self._spool, self._waiting = None, []
        spool.seek(0)
        with spool:
            for name, size in waiting:
                self.zip.writestr(name, spool.read(size))

    def close(self) -> None:
        if self._open is not None and not self._open.closed:
            self._open.close()
        self._flush()
        self.zip.close()


def _unsafe(member: str) -> bool:
    parts = member.replace("\\", "/").split("/")
    return (member.startswith(("/", "\\")) or ".." in parts or "\x00" in member
            or (len(member) > 1 and member[1] == ":"))


class ZipArchiveReader:
    """``ArchiveReader`` over an uploaded zip; every member was checked on opening."""

    def __init__(self, stream: IO[bytes], filename: str) -> None:
        self.filename = filename
        try:
            self.zip = zipfile.ZipFile(stream)
            infos = self.zip.infolist()
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            raise DatasetFormatError(f"{filename}: not a valid zip archive ({exc})") from None
        check_members(infos, filename)
        self.infos = {i.filename: i for i in infos if not i.is_dir()}

    def names(self) -> list[str]:
        return list(self.infos)

    def open(self, name: str) -> IO[bytes]:
        info = self.infos.get(name)
        if info is None:
            raise DatasetFormatError(f"{self.filename}: there is no {name!r} in the archive")
        try:
            return io.BufferedReader(_Member(self.zip.open(info), f"{self.filename}: {name}"),
                                     1 << 16)
        except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError) as exc:
            raise DatasetFormatError(f"{self.filename}: {name}: cannot be read ({exc})") from None

    def read(self, name: str) -> bytes:
        info = self.infos.get(name)
        if info is not None and info.file_size > MAX_MEMBER_READ:
            raise DatasetFormatError(f"{self.filename}: {name} is {info.file_size} bytes; "
                                     f"annotation files of at most {MAX_MEMBER_READ} are read")
        with self.open(name) as member:
            try:
                data = member.read(MAX_MEMBER_READ + 1)
            except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
                raise DatasetFormatError(f"{self.filename}: {name}: the archive is damaged "
                                         f"({exc})") from None
        return data


class _Member(io.RawIOBase):
    """A zip member being read: a damaged archive (bad CRC, broken deflate data, cut short)
    shows while reading, as a ``DatasetFormatError`` naming the member."""

    def __init__(self, member: IO[bytes], where: str) -> None:
        self.member, self.where = member, where

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        try:
            return self.member.read(-1 if size is None else size)
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError) as exc:
            raise DatasetFormatError(f"{self.where}: the archive is damaged ({exc})") from None

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def close(self) -> None:
        self.member.close()
        super().close()


def check_members(infos: list[zipfile.ZipInfo], filename: str) -> None:
    """Refuse unsafe paths, too many members and zip bombs before anything is unpacked."""
    if len(infos) > limits.MAX_ARCHIVE_MEMBERS:
        raise DatasetFormatError(f"{filename}: the archive has {len(infos)} members; at most "
                                 f"{limits.MAX_ARCHIVE_MEMBERS} are allowed")
    total = packed = 0
    for info in infos:
        if _unsafe(info.filename):
            raise DatasetFormatError(f"{filename}: member {info.filename!r} has an unsafe path "
                                     "(absolute, or with '..'); the archive is refused")
        total += info.file_size
        packed += info.compress_size
        if (info.file_size > limits.RATIO_MIN_SIZE
                and info.file_size > limits.MAX_MEMBER_RATIO * max(info.compress_size, 1)):
            raise DatasetFormatError(
                f"{filename}: member {info.filename!r} declares {info.file_size} bytes from "
                f"{info.compress_size}; the archive looks like a zip bomb and is refused")
    if total > limits.MAX_ARCHIVE_UNPACKED:
        raise DatasetFormatError(f"{filename}: the archive unpacks to {total} bytes; at most "
                                 f"{limits.MAX_ARCHIVE_UNPACKED} are allowed")


class SingleFileReader:
    """A single uploaded file (``annotations.xml``, ``instances.json``) as a one-member
    archive, read from ``stream`` as an archive member is: ``open`` streams it from the start
    (an importer reads it a chunk at a time), only ``read`` takes it whole."""

    def __init__(self, stream: IO[bytes], filename: str) -> None:
        self.filename = filename
        self.name = posixpath.basename(filename.replace("\\", "/")) or "annotations"
        self.stream = stream
        size = stream.seek(0, io.SEEK_END)
        stream.seek(0)
        if size > MAX_MEMBER_READ:
            raise DatasetFormatError(f"{filename}: {size} bytes; annotation files of at most "
                                     f"{MAX_MEMBER_READ} bytes are read")

    def names(self) -> list[str]:
        return [self.name]

    def read(self, name: str) -> bytes:
        with self.open(name) as member:
            return member.read()

    def open(self, name: str) -> IO[bytes]:
        if name != self.name:
            raise DatasetFormatError(f"{self.filename}: there is no {name!r}")
        self.stream.seek(0)
        return io.BufferedReader(_Unclosed(self.stream), 1 << 16)


class _Unclosed(io.RawIOBase):
    """The upload's stream for one reading: closing it leaves the stream open, so that the
    file can be opened again (a second pass, as COCO's when annotations come first)."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        return self.stream.read(-1 if size is None else size)

    def readinto(self, buffer: Any) -> int:
        data = self.stream.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)


def open_upload(stream: IO[bytes], filename: str) -> ZipArchiveReader | SingleFileReader:
    """A zip (recognized by its signature, whatever its name) or a single file."""
    head = stream.read(4)
    stream.seek(0)
    if head.startswith(b"PK") or filename.lower().endswith(".zip"):
        return ZipArchiveReader(stream, filename)
    return SingleFileReader(stream, filename)
