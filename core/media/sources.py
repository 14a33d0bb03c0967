"""What a task's data is made of: server files copied in from the share, and the files of the
upload area sorted into images, one archive or one video (as CVAT allows them)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cvatcore.core.media import store
from cvatcore.core.media.images import media_kind
from cvatcore.hooks import StoragePathError, StorageUnavailableError


class SourceError(ValueError):
    """The inputs cannot make a task; the message says why (and names the file)."""


@dataclass
class Inputs:
    images: list[str] = field(default_factory=list)  # names relative to the upload area
    archives: list[str] = field(default_factory=list)
    videos: list[str] = field(default_factory=list)
    manifests: list[str] = field(default_factory=list)

    @property
    def kind(self) -> str:
        """``images``, ``archive`` or ``video``; a ``SourceError`` for any other mix."""
        counts = {"image": len(self.images), "archive": len(self.archives),
                  "video": len(self.videos)}
        if not any(counts.values()):
            raise SourceError("No media data found: upload images, one zip archive or one video.")
        used = [k for k, n in counts.items() if n]
        if len(used) > 1 or counts["archive"] > 1 or counts["video"] > 1:
            found = ", ".join(f"{n} {k}(s)" for k, n in counts.items() if n)
            raise SourceError("Only one archive, one video or many images can be used "
                              f"simultaneously, but {found} found.")
        return {"image": "images", "archive": "archive", "video": "video"}[used[0]]


def check_server_path(path: str) -> str:
    """A share path as the API accepts it: relative, no ``..`` (a 400 otherwise)."""
    text = path.replace("\\", "/")
    if not text or "\x00" in text or ".." in text.split("/") or text.startswith("/"):
        raise StoragePathError(f"path {path[:200]!r} is not allowed in server_files")
    return text


def excluded(key: str, exclude: list[str]) -> bool:
    """Whether ``server_files_exclude`` drops ``key``: the key itself or any folder above it
    (``"dir/"``) is listed (CVAT's rule)."""
    if key in exclude:
        return True
    parts = key.split("/")[:-1]
    return any("/".join(parts[:n]) + "/" in exclude for n in range(1, len(parts) + 1))


def remote_failure(exc: BaseException, key: str) -> tuple[int, str] | None:
    """``(HTTP status, message naming the key)`` for a storage failure while reading ``key``
    (CVAT's mapping: missing 404, forbidden 403, anything else 400), or None for an exception
    that is not a storage failure. The provider's own text is left out: it names the bucket
    and could carry a signed URL."""
    shown = key[:200]
    if isinstance(exc, StoragePathError):
        return 400, f"The key {shown!r} is not a valid path in a cloud storage."
    if isinstance(exc, FileNotFoundError):
        return 404, f"The file {shown!r} was not found in the cloud storage."
    if isinstance(exc, PermissionError):
        return 403, f"Access to the file {shown!r} in the cloud storage is forbidden."
    if isinstance(exc, StorageUnavailableError):
        return 400, f"The cloud storage could not be reached to read {shown!r}; try again later."
    if isinstance(exc, OSError):
        return 400, f"The file {shown!r} could not be read from the cloud storage."
    return None


def copy_server_files(share: Any, media: Any, paths: list[str], data_id: int,
                      progress: Callable[[int], None], exclude: list[str] | None = None) -> None:
    """Copy each listed share file, and every file below each listed folder, into the upload
    area under its path in the share (what CVAT does with ``copy_data``), so frame names are
    share paths. ``exclude`` drops files and whole folders (``server_files_exclude``)."""
    raw = store.raw_prefix(data_id)
    copied = 0
    for path in paths:
        clean = check_server_path(path).strip("/")
        try:
            info = share.stat(clean)
        except FileNotFoundError:
            raise SourceError(f"The server file {path!r} was not found.") from None
        if info.type == "DIR":
            entries = [e.name for e in store.walk(share, clean + "/")]
        else:
            entries = [clean]
        for name in entries:
            if exclude and excluded(name, exclude):
                continue
            store.copy_object(share, name, media, raw + name)
            copied += 1
            if copied % 200 == 0:
                progress(copied)


def list_inputs(media: Any, data_id: int) -> Inputs:
    """The upload area's files by kind; files of other kinds are skipped (as CVAT)."""
    raw = store.raw_prefix(data_id)
    inputs = Inputs()
    buckets = {"image": inputs.images, "archive": inputs.archives, "video": inputs.videos,
               "manifest": inputs.manifests}
    for info in store.walk(media, raw):
        name = info.name[len(raw):]
        if "related_images/" in name:
            continue
        bucket = buckets.get(media_kind(name))
        if bucket is not None:
            bucket.append(name)
    return inputs


def apply_order(names: list[str], order: list[str]) -> list[str]:
    """The ``upload_file_order`` for ``predefined`` sorting: it must name exactly the uploaded
    files (CVAT's check, with its message)."""
    uploaded = set(names)
    mismatching = sorted(uploaded.symmetric_difference(order))
    if mismatching:
        shown = [n + (" (extra)" if n in uploaded else " (missing)") for n in mismatching[:5]]
        more = len(mismatching) - 5
        raise SourceError(
            "Uploaded files do not match the 'upload_file_order' field contents. Please check "
            "the uploaded data and the list of uploaded files. Mismatching files: "
            + ", ".join(shown) + (f" (and {more} more)." if more > 0 else "")
        )
    return list(order)
