"""Indexing a task's media in the background job: names, sizes and the frame selection.

Nothing here touches the database. Images are probed from their headers one at a time, so
memory holds one small tuple per frame; archives are checked against the zip-bomb limits
before anything is unpacked; a video is indexed from its packets (``video.build_index``).
Images in a bucket are probed from byte ranges of their first bytes, several at a time
(``probe_keys``), since each read waits on the network.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from cvatcore.core.manifest.headers import PNG_SIGNATURE, size_and_orientation
from cvatcore.core.media import archives, store, video
from cvatcore.core.media.frames_math import (
    default_chunk_size,
    frame_step,
    selected_range,
    sort_names,
)
from cvatcore.core.media.images import BadImage, probe
from cvatcore.core.media.limits import MAX_IMAGE_PIXELS
from cvatcore.core.media.sources import Inputs, SourceError, apply_order, remote_failure

Progress = Callable[[float, str], None]
#: Bytes read from the start of a bucket image to find its size: 64 KiB hold the header of
#: nearly every image; more only when Pillow cannot tell from that, the whole file last.
PROBE_STEPS = (64 * 1024, 1024 * 1024, None)
PROBE_THREADS = 16
PROBE_WINDOW = 256  # keys in flight at once: results are consumed in order, memory stays flat


@dataclass
class Indexed:
    """What the job writes: TaskData values and one ``(path, width, height)`` per frame."""

    media_type: str  # "image" or "video"
    media_prefix: str
    frames: list[tuple[str, int, int]] = field(default_factory=list)
    size: int = 0
    start_frame: int = 0
    stop_frame: int = 0
    chunk_size: int = 36
    video_path: str | None = None
    cloud_storage_id: int | None = None  # frames are keys in this cloud storage


@dataclass
class Params:
    image_quality: int = 70
    sorting_method: str = "lexicographical"
    upload_file_order: list[str] = field(default_factory=list)
    start_frame: int = 0
    stop_frame: int | None = None
    frame_filter: str = ""
    chunk_size: int | None = None

    @classmethod
    def from_args(cls, args: dict[str, Any]) -> Params:
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in args.items() if k in names})


def index_media(media: Any, data_id: int, inputs: Inputs, params: Params,
                progress: Progress) -> Indexed:
    kind = inputs.kind
    if kind == "video":
        return _index_video(media, data_id, inputs.videos[0], params, progress)
    if kind == "archive":
        return _index_archive(media, data_id, inputs.archives[0], params, progress)
    return _index_images(media, store.raw_prefix(data_id), inputs.images, params, progress)


def choose_frames(names: list[str], params: Params) -> tuple[list[str], range]:
    """The names in task order and the absolute numbers of the ones the task keeps."""
    if params.sorting_method == "predefined" and params.upload_file_order:
        ordered = apply_order(names, params.upload_file_order)
    else:
        ordered = sort_names(names, params.sorting_method)
    chosen = selected_range(len(ordered), params.start_frame, params.stop_frame,
                            frame_step(params.frame_filter))
    if len(chosen) == 0:
        raise SourceError(f"No frames are left after start_frame={params.start_frame}, "
                          f"stop_frame={params.stop_frame} and frame_filter "
                          f"{params.frame_filter!r} are applied to {len(ordered)} media items.")
    return ordered, chosen


def _probe_all(media: Any, prefix: str, names: list[str], progress: Progress
               ) -> list[tuple[str, int, int]]:
    frames = []
    # A local store: resolve the folder once (names come from our own listing of it).
    base = store.local_path(media, prefix.rstrip("/"))
    for n, name in enumerate(names):
        path = os.path.join(base, name) if base else None
        with open(path, "rb") if path else store.open_read(media, prefix + name) as stream:
            try:
                width, height = probe(stream, name)
            except BadImage as exc:
                raise SourceError(str(exc)) from None
        frames.append((name, width, height))
        if n % 500 == 499:
            progress(0.1 + 0.8 * n / len(names), f"Read {n + 1} of {len(names)} images")
    return frames


def image_index(prefix: str, frames: list[tuple[str, int, int]], chosen: range,
                params: Params) -> Indexed:
    first = frames[0]
    return Indexed(
        media_type="image", media_prefix=prefix, frames=frames, size=len(frames),
        start_frame=chosen.start, stop_frame=chosen[-1],
        chunk_size=params.chunk_size or default_chunk_size(first[1], first[2]),
    )


def _index_images(media: Any, prefix: str, names: list[str], params: Params,
                  progress: Progress) -> Indexed:
    ordered, chosen = choose_frames(names, params)
    frames = _probe_all(media, prefix, [ordered[i] for i in chosen], progress)
    return image_index(prefix, frames, chosen, params)


def _index_archive(media: Any, data_id: int, name: str, params: Params,
                   progress: Progress) -> Indexed:
    key = store.raw_prefix(data_id) + name
    path = store.local_path(media, key)
    target = store.extracted_prefix(data_id)
    with open(path, "rb") if path else store.open_read(media, key) as stream, \
            archives.open_zip(stream, name) as archive:
        try:
            members = archives.image_members(archive, name)
        except archives.BadArchive as exc:
            raise SourceError(str(exc)) from None
        by_name = dict(zip(archives.member_names(members), members, strict=True))
        if not by_name:
            raise SourceError(f"{name}: the archive has no images.")
        ordered, chosen = choose_frames(list(by_name), params)
        selected = [ordered[i] for i in chosen]
        for n, member in enumerate(selected):
            try:
                archives.extract(archive, by_name[member], media, target + member, name)
            except archives.BadArchive as exc:
                raise SourceError(str(exc)) from None
            if n % 500 == 499:
                progress(0.05 + 0.4 * n / len(selected), f"Unpacked {n + 1} images")
    frames = _probe_all(media, target, selected, lambda f, m: progress(0.45 + f / 2, m))
    return image_index(target, frames, chosen, params)


def _index_video(media: Any, data_id: int, name: str, params: Params,
                 progress: Progress) -> Indexed:
    key = store.raw_prefix(data_id) + name
    path = store.local_path(media, key)
    counted = lambda n: progress(0.1, f"Indexed {n} video frames")  # noqa: E731
    with nullcontext(path) if path else store.open_read(media, key) as source:
        try:
            index = video.build_index(source, name, counted)
        except video.BadVideo as exc:
            raise SourceError(str(exc)) from None
    chosen = selected_range(index.size, params.start_frame, params.stop_frame,
                            frame_step(params.frame_filter))
    if len(chosen) == 0:
        raise SourceError(f"No frames are left after start_frame={params.start_frame} and "
                          f"stop_frame={params.stop_frame} are applied to a video of "
                          f"{index.size} frames.")
    media.write(store.data_prefix(data_id) + "video.json", index.to_json())
    return Indexed(
        media_type="video", media_prefix=store.raw_prefix(data_id),
        frames=[(name, index.width, index.height)], size=len(chosen),
        start_frame=chosen.start, stop_frame=chosen[-1],
        chunk_size=params.chunk_size or default_chunk_size(index.width, index.height),
        video_path=key,
    )


# -- images in a bucket ---------------------------------------------------------------------


def probe_keys(provider: Any, keys: list[str], progress: Progress) -> list[tuple[str, int, int]]:
    """``(key, width, height)`` for each key, in order, from byte ranges of the objects."""
    frames: list[tuple[str, int, int]] = []
    with ThreadPoolExecutor(PROBE_THREADS, thread_name_prefix="cvatcore-probe") as pool:
        for start in range(0, len(keys), PROBE_WINDOW):
            window = keys[start:start + PROBE_WINDOW]
            for key, size in zip(window, pool.map(lambda k: probe_remote(provider, k), window),
                                 strict=True):
                frames.append((key, *size))
            progress(0.1 + 0.8 * len(frames) / len(keys),
                     f"Read the headers of {len(frames)} of {len(keys)} images")
    return frames


def probe_remote(provider: Any, key: str) -> tuple[int, int]:
    """The size of one image in a bucket as ``probe`` reports it, reading as little as it can
    (``PROBE_STEPS``); a ``SourceError`` naming the key when it cannot be read or is no image."""
    for limit in PROBE_STEPS:
        try:
            data = provider.read(key, 0, limit)
        except Exception as exc:
            failure = remote_failure(exc, key)
            if failure is None:
                raise
            raise SourceError(failure[1]) from None
        if not data:
            raise SourceError(f"The {key} file is empty.")
        complete = limit is None or len(data) < limit
        try:
            return _size_from_bytes(data, key, complete)
        except BadImage as exc:
            if complete:
                raise SourceError(str(exc)) from None
    raise AssertionError("the last probe step reads the whole object")


def _size_from_bytes(data: bytes, key: str, complete: bool) -> tuple[int, int]:
    found = size_and_orientation(data)
    if found is None and not complete and data.startswith(PNG_SIGNATURE):
        found = _png_head(data, key)
    if found is None:
        return probe(io.BytesIO(data), key)
    width, height, orientation = found
    if width * height > MAX_IMAGE_PIXELS:
        raise BadImage(f"{key}: the image is too large ({width}x{height} pixels)")
    return (height, width) if orientation > 4 else (width, height)


def _png_head(data: bytes, key: str) -> tuple[int, int, int] | None:
    """Size and orientation from the chunks before a PNG's pixels. Pillow's ``getexif`` would
    decode the whole image to look for an ``eXIf`` chunk after them; a PNG keeps it before
    (the specification asks for that), so only those chunks are looked at."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            orientation = img.getexif().get(274, 1) if "exif" in img.info else 1
            return img.width, img.height, int(orientation)
    except Exception:  # truncated before the pixels: read more
        return None
