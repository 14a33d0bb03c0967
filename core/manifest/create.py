"""``create_manifest``: what ``cvatcore manifest create`` does, usable without the CLI.

Images are described by a pool of worker processes (every core by default). The parent lists
and sorts the names, reads the bytes itself only for a bucket (many reads at once, in order),
sends small batches to the workers with only a few batches in flight, and writes each line as
soon as its turn comes: memory does not grow with the number of images.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from cvatcore.core.manifest import images, video
from cvatcore.core.manifest.pool import WorkerPool, cpu_count, thread_map
from cvatcore.core.manifest.progress import Progress
from cvatcore.core.manifest.sources import (
    Source,
    SourceError,
    display_url,
    is_url,
    open_source,
)
from cvatcore.core.manifest.writer import INDEX_NAME, MANIFEST_NAME, VERSION, ManifestWriter

# A batch closes at this many images or bytes: ~50-200 ms of work, so the cores stay busy to
# the end and each batch's pickling cost is small next to its work.
BATCH_COUNT = {False: 16, True: 128}
BATCH_BYTES = {False: 2 << 20, True: 16 << 20}


class ManifestError(Exception):
    """Creation failed; the message says why (and which file, when one file is at fault)."""


@dataclass
class Result:
    path: str
    type: str  # "images" or "video"
    items: int


def create_manifest(
    spec: str,
    output_dir: str,
    *,
    sorting: str = "lexicographical",
    fast: bool = False,
    jobs: int | None = None,
    force: bool = False,
    storage_options: dict[str, Any] | None = None,
    readers: int = 16,
    progress: Progress | None = None,
) -> Result:
    """Write ``manifest.jsonl`` and ``index.json`` for the images or the video ``spec`` names.

    ``progress`` is told the total and each step (the CLI passes a tqdm bar). Raises
    ``ManifestError`` (``video.TooFewKeyFrames`` for a video that needs ``force``).
    """
    if sorting not in images.SORTING_METHODS:
        raise ManifestError(f"unknown sorting {sorting!r}; one of {images.SORTING_METHODS}")
    try:
        source = open_source(spec, storage_options)
    except SourceError as exc:
        raise ManifestError(str(exc)) from None
    progress = progress or Progress()
    with _output(output_dir, storage_options) as local_dir:
        if source.kind == "file":
            if not video.is_video(source.file):
                raise ManifestError(
                    f"{display_url(spec)}: give a video file, or a directory or pattern with images"
                )
            count = _write_video(source, local_dir, force, progress)
            kind = "video"
        else:
            count = _write_images(source, local_dir, sorting, fast, jobs, readers, progress)
            kind = "images"
    return Result(display_url(_join(output_dir, MANIFEST_NAME)), kind, count)


def _write_images(
    source: Source, out_dir: str, sorting: str, fast: bool, jobs: int | None, readers: int,
    progress: Progress,
) -> int:
    try:
        found = images.list_images(source)
    except PermissionError:
        raise ManifestError("cannot list the images: access denied") from None
    except (OSError, ValueError) as exc:  # ValueError: a pattern fsspec rejects
        raise ManifestError(f"cannot list the images: {type(exc).__name__}: {exc}") from None
    if not found:
        raise ManifestError("no images found")
    found = _sort(found, sorting)
    related = images.RelatedImages(source)
    # No more workers than batches: a handful of images is described in this very process.
    jobs = min(max(1, jobs or cpu_count()), _count_batches(found, fast))
    work = _batches_of(source, found, fast, readers)
    try:
        with WorkerPool(jobs) as pool, ManifestWriter(out_dir) as writer:
            progress.start(len(found))
            writer.header(version=VERSION, type="images")
            for batch in pool.map(images.describe_batch, work, 2 * jobs, fast):
                for rel, described in batch:
                    if isinstance(described, str):
                        raise ManifestError(described)
                    writer.item(_entry(rel, described, related(rel)))
                progress.update(len(batch))
            return writer.count
    except BrokenProcessPool:
        raise ManifestError("a worker process died (out of memory?); try fewer --jobs") from None


def _entry(rel: str, described: tuple[int, int, str], related: list[str]) -> dict[str, Any]:
    """One item, its keys in CVAT's order."""
    entry = images.entry_head(rel)
    entry["width"], entry["height"] = described[0], described[1]
    entry["meta"] = {"related_images": related}
    entry["checksum"] = described[2]
    return entry


def _sort(found: list[tuple[str, int]], sorting: str) -> list[tuple[str, int]]:
    sizes = dict(found)
    return [(rel, sizes[rel]) for rel in images.sort_names([rel for rel, _ in found], sorting)]


def _count_batches(found: list[tuple[str, int]], fast: bool) -> int:
    sizes_only = ((rel, size, "") for rel, size in found)
    return sum(1 for _ in images.batches(sizes_only, BATCH_COUNT[fast], BATCH_BYTES[fast]))


def _batches_of(
    source: Source, found: list[tuple[str, int]], fast: bool, readers: int
) -> Iterator[list[tuple[str, str | bytes]]]:
    payloads: Iterable[tuple[str, int, str | bytes]]
    if source.is_local:
        payloads = ((rel, size, source.path(rel)) for rel, size in found)
    else:
        reads = thread_map(lambda item: source.read(item[0]), found, readers, 2 * readers)
        payloads = ((rel, size, data) for (rel, size), data in _reraise(reads))
    return images.batches(payloads, BATCH_COUNT[fast], BATCH_BYTES[fast])


def _reraise(reads: Iterator[Any]) -> Iterator[Any]:
    try:
        yield from reads
    except PermissionError:
        raise ManifestError("access denied while reading an object") from None
    except (FileNotFoundError, OSError) as exc:
        raise ManifestError(f"cannot read an object: {type(exc).__name__}") from None


def _write_video(source: Source, out_dir: str, force: bool, progress: Progress) -> int:
    try:
        built = video.build(source, force, progress)
    except video.TooFewKeyFrames:
        raise
    except (video.VideoError, OSError) as exc:
        raise ManifestError(f"{source.file}: {exc}") from None
    with ManifestWriter(out_dir) as writer:
        writer.header(
            version=VERSION,
            type="video",
            properties={
                "name": built.name,
                "resolution": [built.width, built.height],
                "length": built.length,
            },
        )
        for number, pts, md5 in built.key_frames:
            writer.item({"number": number, "pts": pts, "checksum": md5})
        return writer.count


class _output:
    """A local directory to write into; for a bucket URL, a temporary one uploaded on success."""

    def __init__(self, target: str, options: dict[str, Any] | None) -> None:
        self.target, self.options = target, options or {}
        self.tmp: str | None = None

    def __enter__(self) -> str:
        if not is_url(self.target):
            return os.path.abspath(os.path.expanduser(self.target))
        self.tmp = tempfile.mkdtemp(prefix="cvatcore-manifest-")
        return self.tmp

    def __exit__(self, exc_type: Any, *_: Any) -> None:
        if self.tmp is None:
            return
        try:
            if exc_type is None:
                from fsspec.core import url_to_fs

                fs, root = url_to_fs(self.target, **self.options)
                for name in (MANIFEST_NAME, INDEX_NAME):
                    fs.put_file(os.path.join(self.tmp, name), posixpath.join(root, name))
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)


def _join(base: str, name: str) -> str:
    if is_url(base):
        return base.rstrip("/") + "/" + name
    return os.path.join(os.path.abspath(os.path.expanduser(base)), name)
