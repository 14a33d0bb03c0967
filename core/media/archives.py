"""Zip archives of images: a zip-bomb guard, then member-by-member extraction into the media
store (streamed, never a whole member in memory)."""

from __future__ import annotations

import posixpath
import zipfile
from collections.abc import Iterator
from typing import IO, Any

from cvatcore.core.media import limits
from cvatcore.core.media.images import media_kind
from cvatcore.core.media.store import COPY_BUFFER, open_write


class BadArchive(ValueError):
    """The archive is unreadable or breaks a limit; the message says which."""


def image_members(archive: zipfile.ZipFile, name: str) -> list[zipfile.ZipInfo]:
    """The image members, after checking the whole archive against the limits: member
    count, total unpacked size, and compression ratios (a zip bomb fails here, before a
    single byte is unpacked)."""
    infos = archive.infolist()
    if len(infos) > limits.MAX_ARCHIVE_MEMBERS:
        raise BadArchive(f"{name}: the archive has {len(infos)} members; at most "
                         f"{limits.MAX_ARCHIVE_MEMBERS} are allowed")
    total = packed = 0
    for info in infos:
        total += info.file_size
        packed += info.compress_size
        if (info.file_size > limits.RATIO_MIN_SIZE
                and info.file_size > limits.MAX_MEMBER_RATIO * max(info.compress_size, 1)):
            raise BadArchive(f"{name}: member {info.filename!r} unpacks to {info.file_size} "
                             f"bytes from {info.compress_size}; the archive looks like a zip "
                             "bomb and is refused")
    if total > limits.MAX_ARCHIVE_UNPACKED:
        raise BadArchive(f"{name}: the archive unpacks to {total} bytes; at most "
                         f"{limits.MAX_ARCHIVE_UNPACKED} are allowed")
    if total > limits.RATIO_MIN_SIZE and total > limits.MAX_MEMBER_RATIO * max(packed, 1):
        raise BadArchive(f"{name}: the archive unpacks to {total} bytes from {packed}; it looks "
                         "like a zip bomb and is refused")
    members = []
    for info in infos:
        if info.is_dir() or media_kind(info.filename) != "image":
            continue
        if _unsafe(info.filename):
            raise BadArchive(f"{name}: member {info.filename!r} has an unsafe path")
        if "related_images/" in info.filename:
            continue  # context images are not frames (as CVAT)
        members.append(info)
    return members


def _unsafe(member: str) -> bool:
    parts = member.replace("\\", "/").split("/")
    return member.startswith(("/", "\\")) or ".." in parts or "\x00" in member


def open_zip(stream: IO[bytes], name: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise BadArchive(f"{name}: not a valid zip archive ({exc})") from None


def extract(archive: zipfile.ZipFile, info: zipfile.ZipInfo, store: Any, key: str,
            name: str) -> None:
    """Copy one member into ``key``; the bytes read may not exceed the size its header
    declared (a forged header cannot inflate past the checked totals)."""
    budget = info.file_size
    try:
        with archive.open(info) as source, open_write(store, key) as target:
            while True:
                chunk = source.read(COPY_BUFFER)
                if not chunk:
                    break
                budget -= len(chunk)
                if budget < 0:
                    raise BadArchive(f"{name}: member {info.filename!r} is larger than its "
                                     "header says")
                target.write(chunk)
    except BadArchive:
        raise
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
        raise BadArchive(f"{name}: cannot unpack {info.filename!r} ({exc})") from None


def member_names(members: list[zipfile.ZipInfo]) -> Iterator[str]:
    for info in members:
        yield posixpath.normpath(info.filename.replace("\\", "/"))
