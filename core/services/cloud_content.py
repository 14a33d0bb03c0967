"""Browsing a cloud storage: ``content-v2`` pages, previews and status (CVAT's semantics)."""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from cvatcore.core.cloud_types import parse_attributes
from cvatcore.core.errors import ApiError, NotFound, PermissionDenied, ValidationFailed
from cvatcore.core.media.cloud_source import effective_prefix
from cvatcore.core.models import CloudStorage
from cvatcore.core.services.cloud_storages import manifests_of, provider_of
from cvatcore.hooks import StorageStatus

if TYPE_CHECKING:
    from cvatcore.core.services.caller import Caller

MAX_PAGE_SIZE = 1000
IMAGE_EXT = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".jfif"}
VIDEO_EXT = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".mpg", ".mpeg", ".m4v", ".wmv"}
ARCHIVE_EXT = {".zip", ".tar", ".gz", ".tgz", ".7z", ".rar", ".bz2", ".xz"}


class StorageUnreachable(ApiError):
    status = 400

    def default_detail(self) -> str:
        return "The cloud storage cannot be reached; check its resource and network."


def mime_type(name: str, kind: str) -> str:
    if kind == "DIR":
        return "DIR"
    ext = name[name.rfind("."):].lower() if "." in name else ""
    if ext in IMAGE_EXT:
        return "image"
    if ext in VIDEO_EXT:
        return "video"
    if ext in ARCHIVE_EXT:
        return "archive"
    return "pdf" if ext == ".pdf" else "unknown"


def _natural_key(name: str) -> list[Any]:
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def _call(func: Any, *args: Any) -> Any:
    """A provider call with its failures as clear 4xx answers (never the library's text,
    which can carry signed URLs)."""
    try:
        return func(*args)
    except FileNotFoundError:
        raise NotFound("The requested file or prefix does not exist in the storage.") from None
    except PermissionError:
        raise PermissionDenied("Access to the cloud storage is forbidden.") from None
    except (ApiError, ValidationFailed):
        raise
    except Exception:
        raise StorageUnreachable() from None


def content(caller: Caller, storage: CloudStorage, q: Mapping[str, str]) -> dict[str, Any]:
    """One page of the bucket's listing for ``content-v2``; ``q`` holds CVAT's ``prefix``,
    ``next_token``, ``page_size`` and ``manifest_path``."""
    try:
        page_size = min(int(q.get("page_size", 100)), MAX_PAGE_SIZE)
    except ValueError:
        raise ValidationFailed.field("page_size", "Wrong value for page_size was found.") from None
    if page_size < 1:
        raise ValidationFailed.field("page_size", "page_size must be positive.")
    default = parse_attributes(storage.specific_attributes).get("prefix", "")
    prefix = effective_prefix(default, q.get("prefix", ""))
    if prefix is None:
        return {"content": [], "next": None}
    provider = _whole_bucket(caller, storage)
    if q.get("manifest_path"):
        return _manifest_page(provider, q["manifest_path"], prefix, q.get("next_token"),
                              page_size)
    page = _call(provider.list_page, prefix, q.get("next_token") or None, page_size)
    base = prefix[: prefix.rfind("/") + 1]
    entries = []
    for entry in page.entries:
        name = entry.name.rstrip("/")
        name = name[len(base):] if name.startswith(base) else name.rsplit("/", 1)[-1]
        entries.append({"name": name, "type": entry.type, "mime_type": mime_type(name,
                                                                                 entry.type)})
    return {"content": entries, "next": page.next}


def _manifest_keys(provider: Any, manifest_path: str) -> list[str]:
    """The bucket keys a manifest lists, read with ``core.manifest``'s reader (the manifest is
    streamed to a temporary copy, as for tasks from a bucket). A missing or forbidden manifest
    is a 404/403 as any other object; a malformed one a 400 on ``manifest_path``."""
    from cvatcore.core.media.cloud_source import load_manifest
    from cvatcore.core.media.sources import SourceError

    _call(provider.stat, manifest_path)
    try:
        return list(load_manifest(provider, manifest_path).sizes)
    except SourceError as exc:
        raise ValidationFailed.field("manifest_path", str(exc)) from None


def _manifest_page(provider: Any, manifest_path: str, prefix: str, token: str | None,
                   page_size: int) -> dict[str, Any]:
    try:
        start = int(token or 0)
    except ValueError:
        raise ValidationFailed.field("next_token", "Expected an integer start index.") from None
    level = prefix[: prefix.rfind("/") + 1]
    dirs: set[str] = set()
    files: list[str] = []
    for full in _manifest_keys(provider, manifest_path):
        if not full.startswith(prefix):
            continue
        rest = full[len(level):]
        if "/" in rest:
            dirs.add(rest.split("/", 1)[0])
        else:
            files.append(rest)
    ordered = [(d, "DIR") for d in sorted(dirs, key=_natural_key)]
    ordered += [(f, "REG") for f in sorted(files, key=_natural_key)]
    chunk = ordered[start:start + page_size]
    nxt = str(start + page_size) if start + page_size < len(ordered) else None
    return {"content": [{"name": n, "type": t, "mime_type": mime_type(n, t)} for n, t in chunk],
            "next": nxt}


def _whole_bucket(caller: Caller, storage: CloudStorage) -> Any:
    """A provider for the whole bucket: listings apply the storage's default prefix as CVAT
    does (``effective_prefix``), so they must not be rooted at it as well."""
    from cvatcore.core.services.cloud_buckets import open_bucket

    return open_bucket(caller.state, storage).provider


def status(caller: Caller, storage: CloudStorage) -> str:
    try:
        return provider_of(caller, storage).status()
    except ApiError:
        return StorageStatus.NOT_FOUND


def preview(caller: Caller, storage: CloudStorage) -> bytes | None:
    """A JPEG thumbnail of the first image (from the first manifest, else the listing)."""
    from PIL import Image

    provider = _whole_bucket(caller, storage)
    manifests = manifests_of(caller, [storage.id])[storage.id]
    candidates: list[str] = []
    if manifests:
        candidates = _manifest_keys(provider, manifests[0])[:5]
    else:
        prefix = parse_attributes(storage.specific_attributes).get("prefix", "")
        page = _call(provider.list_page, prefix, None, 100)
        candidates = [e.name if "/" in e.name else prefix[: prefix.rfind("/") + 1] + e.name
                      for e in page.entries if mime_type(e.name, e.type) == "image"][:5]
    for name in candidates:
        try:
            with Image.open(io.BytesIO(_call(provider.read, name))) as image:
                image.thumbnail((256, 256))
                out = io.BytesIO()
                image.convert("RGB").save(out, "JPEG", quality=85)
                return out.getvalue()
        except (OSError, ValueError, NotFound):
            continue
    return None
