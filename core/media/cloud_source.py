"""Task data from a cloud storage: which keys a request names (CVAT's cloud flow) and their
frame sizes, with nothing copied into the media store.

The frames of such a task are ``Frame`` rows whose ``path`` is the key in the bucket; the
media reader streams the originals from the bucket when a frame or chunk is first asked for.
Sizes come from the storage's manifest when the request names one (no image object is read
at all), else from each image's first bytes (``indexing.probe_keys``).

The storage's default ``prefix`` is, as in CVAT, a filter on keys: the provider is built for
the whole bucket so that keys (and frame names) stay the bucket's own.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import IO, Any

from cvatcore.core.manifest.reader import ManifestReader, ManifestReadError
from cvatcore.core.media.images import media_kind
from cvatcore.core.media.indexing import (
    Indexed,
    Params,
    Progress,
    choose_frames,
    image_index,
    probe_keys,
)
from cvatcore.core.media.sources import SourceError, excluded, remote_failure

NO_INTERSECTION = ("There is no intersection of the files specified in the request with the "
                   "contents of the bucket")
MANIFEST_PIECE = 8 * 1024 * 1024
LIST_PAGE = 1000


@dataclass
class Bucket:
    """An opened cloud storage: a provider for the whole bucket and the default prefix."""

    provider: Any
    prefix: str
    resource: str


@dataclass
class CloudManifest:
    key: str
    sizes: dict[str, tuple[int, int] | None] = field(default_factory=dict)  # key -> size


def effective_prefix(default: str, requested: str) -> str | None:
    """The prefix to list: the longer of the storage's default and the request's, or None
    when neither contains the other (nothing to show)."""
    requested = requested.lstrip("/")
    if requested.startswith(default):
        return requested
    if default.startswith(requested):
        return default
    return None


def _remote(func: Any, key: str, *args: Any) -> Any:
    """A provider call with its failure as a ``SourceError`` naming ``key``."""
    try:
        return func(key, *args)
    except Exception as exc:
        failure = remote_failure(exc, key)
        if failure is None:
            raise
        raise SourceError(failure[1]) from None


def _download(provider: Any, key: str, target: IO[bytes]) -> None:
    """Copy an object into ``target`` piece by piece (memory stays flat)."""
    size = _remote(provider.stat, key).size
    if size is None:
        target.write(_remote(provider.read, key))
        return
    offset = 0
    while offset < size:
        piece = _remote(provider.read, key, offset, min(size, offset + MANIFEST_PIECE))
        if not piece:
            break
        target.write(piece)
        offset += len(piece)


def load_manifest(provider: Any, key: str) -> CloudManifest:
    """The manifest's items as bucket keys (its folder + name + extension) with their sizes,
    in manifest order; read with ``core.manifest``'s reader from a temporary copy."""
    base = key.rsplit("/", 1)[0] + "/" if "/" in key else ""
    manifest = CloudManifest(key)
    with tempfile.NamedTemporaryFile(suffix=".jsonl") as copy:
        _download(provider, key, copy)
        copy.flush()
        reader = ManifestReader(copy.name)
        try:
            if reader.header().type != "images":
                raise SourceError(f"{key}: a video manifest cannot be used: only images from a "
                                  "cloud storage are supported.")
            for number, _, item in reader.numbered_items():
                name, ext = item.get("name"), item.get("extension")
                if not isinstance(name, str) or not isinstance(ext, str):
                    raise ManifestReadError(number, "an item needs 'name' and 'extension'")
                width, height = item.get("width"), item.get("height")
                sized = all(isinstance(v, int) and not isinstance(v, bool) and v > 0
                            for v in (width, height))
                manifest.sizes[base + name + ext] = (width, height) if sized else None
        except ManifestReadError as exc:
            raise SourceError(f"Invalid manifest was uploaded: {key}: {exc}") from None
    return manifest


def walk(provider: Any, prefix: str) -> Iterator[str]:
    """Every key below ``prefix`` (a string prefix, as S3's), listing page by page."""
    pending = [prefix]
    while pending:
        current, cursor = pending.pop(), None
        while True:
            page = _remote(provider.list_page, current, cursor, LIST_PAGE)
            for entry in page.entries:
                if entry.type == "DIR":
                    pending.append(entry.name + "/")
                else:
                    yield entry.name
            cursor = page.next
            if cursor is None:
                break


def _expand(provider: Any, folder: str, prefix: str, manifest: CloudManifest | None
            ) -> list[str]:
    """The keys of a ``dir/`` entry: from the manifest, else from a listing (of the part
    that can pass the prefix filter)."""
    if manifest is not None:
        return [k for k in manifest.sizes if k.startswith(folder)]
    start = effective_prefix(prefix, folder)
    return [] if start is None else list(walk(provider, start))


def resolve_keys(bucket: Bucket, files: list[str], exclude: list[str], pattern: str | None,
                 manifest: CloudManifest | None) -> list[str]:
    """CVAT's steps: a manifest alone means every item (pattern ``*``); ``dir/`` entries
    expand; ``server_files_exclude`` drops files and folders; ``filename_pattern`` adds the
    matching manifest items (or listed keys); keys outside the default prefix are dropped."""
    if manifest is not None and not files and not pattern:
        pattern = "*"
    keys: list[str] = []
    for entry in files:
        if entry.endswith("/"):
            keys.extend(_expand(bucket.provider, entry, bucket.prefix, manifest))
        else:
            keys.append(entry)
    if exclude:
        keys = [k for k in keys if not excluded(k, exclude)]
    if pattern:
        listed = manifest.sizes if manifest is not None else walk(bucket.provider,
                                                                  bucket.prefix)
        keys.extend(k for k in listed if pattern == "*" or fnmatchcase(k, pattern))
    return [k for k in dict.fromkeys(keys) if k.startswith(bucket.prefix)]


def _images(keys: list[str]) -> list[str]:
    images = []
    for key in keys:
        kind = media_kind(key)
        if kind in ("video", "archive"):
            raise SourceError(f"{key}: videos and archives cannot be used from a cloud storage "
                              "yet; use images (with a manifest to skip reading them).")
        if kind == "image" and "related_images/" not in key:
            images.append(key)
    return images


def index_cloud(bucket: Bucket, storage_id: int, server_files: list[str], args: dict[str, Any],
                progress: Progress) -> Indexed:
    """The frames of a task made from keys of cloud storage ``storage_id``, opened as
    ``bucket`` by the caller (the library never decrypts credentials or builds providers)."""
    params = Params.from_args(args)
    manifest_key = next((f for f in server_files if media_kind(f) == "manifest"), None)
    manifest = None
    if manifest_key is not None:
        progress(0.02, "Reading the manifest")
        manifest = load_manifest(bucket.provider, manifest_key)
    files = [f for f in server_files if f != manifest_key]
    progress(0.05, "Listing the files")
    keys = resolve_keys(bucket, files, args.get("server_files_exclude") or [],
                        args.get("filename_pattern"), manifest)
    images = _images(keys)
    if manifest is not None:
        images = [k for k in images if k in manifest.sizes]
    if not images:
        if manifest is not None or files:
            raise SourceError(NO_INTERSECTION)
        raise SourceError("No media data found: no image matches the request in the cloud "
                          "storage.")
    ordered, chosen = choose_frames(images, params)
    selected = [ordered[i] for i in chosen]
    sizes = manifest.sizes if manifest is not None else {}
    unsized = [k for k in selected if sizes.get(k) is None]
    probed = {k: (w, h) for k, w, h in probe_keys(bucket.provider, unsized, progress)}
    frames = [(k, *(sizes.get(k) or probed[k])) for k in selected]
    indexed = image_index("", frames, chosen, params)
    indexed.cloud_storage_id = storage_id
    return indexed
