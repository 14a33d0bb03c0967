"""Image manifest entries, computed the way CVAT's ``utils/dataset_manifest`` computes them.

What makes a line byte-identical to CVAT's:

- which files count: ``mimetypes.guess_type`` says ``image/*`` but not ``image/svg*``; paths
  under a ``related_images/`` directory are context images, not items;
- ``name`` is the path relative to the data root without its extension (backslashes turned into
  ``/``), ``extension`` keeps the dot;
- ``width``/``height`` come from the header and are swapped when EXIF orientation (tag 274) > 4;
- ``meta`` is ``{"related_images": [...]}`` for every item (context images in
  ``<dir>/related_images/<basename with its last dot as "_">/``, relative to the root, sorted);
- ``checksum`` is the md5 of the decoded pixel buffer (``Image.tobytes()`` without conversion).

``--fast`` keeps everything but the checksum, which becomes the md5 of the file's bytes: no
decoding, so it is about as fast as reading the files. Such a manifest is still a valid CVAT
manifest (CVAT does not verify checksums), but its checksums differ from CVAT's own.
"""

from __future__ import annotations

import hashlib
import io
import mimetypes
import os
import posixpath
import random
from collections.abc import Iterable, Iterator
from typing import Any

from PIL import Image, ImageFile

from cvatcore.core.manifest.headers import size_and_orientation
from cvatcore.core.manifest.sources import Source

SORTING_METHODS = ("lexicographical", "natural", "predefined", "random")
RELATED_DIR = "related_images"
ORIENTATION_TAG = 274
# Image.open raises DecompressionBombError above this; --fast leaves such files to Pillow too.
_PILLOW_REFUSES = 2 * (Image.MAX_IMAGE_PIXELS or 1 << 62)


class ImageError(Exception):
    """An image that cannot be described (unreadable, not an image)."""


def is_image(path: str) -> bool:
    media_type = mimetypes.guess_type(path)[0]
    return bool(media_type) and media_type.startswith("image") and not media_type.startswith(
        "image/svg"
    )


def sort_names(names: list[str], method: str) -> list[str]:
    """CVAT's ``utils.sort``: natural order is natsort's ``os_sorted`` (the file browser's)."""
    if method == "lexicographical":
        return sorted(names)
    if method == "natural":
        from natsort import os_sorted

        return os_sorted(names)
    if method == "predefined":
        return names
    if method == "random":
        random.shuffle(names)
        return names
    raise ValueError(f"unknown sorting method {method!r}; one of {', '.join(SORTING_METHODS)}")


def list_images(source: Source) -> list[tuple[str, int]]:
    """``(relative path, size)`` of the items: images outside ``related_images/`` dirs."""
    marker = RELATED_DIR + "/"
    found = []
    for rel, size in source.walk():
        if not is_image(posixpath.basename(rel)):
            continue
        # CVAT drops any path containing "related_images/" (a substring test, kept as is).
        if marker in rel:
            continue
        found.append((rel, size))
    return found


def related_images(source: Source, rel: str) -> list[str]:
    """Context images of item ``rel`` (2D layout), relative to the root and sorted."""
    folder, base = posixpath.split(rel)
    sub = posixpath.join(folder, RELATED_DIR, "_".join(base.rsplit(".", 1)))
    entries = source.listdir(sub)
    if not entries:
        return []
    return sorted(e for e in entries if is_image(e))


class RelatedImages:
    """``related_images`` for each item, looking each ``related_images`` dir up once."""

    def __init__(self, source: Source) -> None:
        self._source = source
        self._has_dir: dict[str, bool] = {}

    def __call__(self, rel: str) -> list[str]:
        folder = posixpath.dirname(rel)
        if folder not in self._has_dir:
            self._has_dir[folder] = (
                self._source.listdir(posixpath.join(folder, RELATED_DIR)) is not None
            )
        return related_images(self._source, rel) if self._has_dir[folder] else []


def entry_head(rel: str) -> dict[str, Any]:
    """``name`` and ``extension`` of a relative path, as CVAT splits them."""
    name, extension = os.path.splitext(rel)
    return {"name": name.replace("\\", "/"), "extension": extension}


def pixels_md5(img: Image.Image) -> str:
    """md5 of ``img.tobytes()``, fed to md5 block by block instead of joined in memory first."""
    img.load()
    digest = hashlib.md5()  # noqa: S324 - CVAT's checksum, not a security measure
    if img.width == 0 or img.height == 0:
        return digest.hexdigest()
    getencoder = getattr(Image, "_getencoder", None)
    if getencoder is None:  # Pillow changed its internals: the plain way gives the same bytes
        digest.update(img.tobytes())
        return digest.hexdigest()
    encoder = getencoder(img.mode, "raw", img.mode)
    try:
        encoder.setimage(img.im, (0, 0, *img.size))
        bufsize = max(ImageFile.MAXBLOCK, img.size[0] * 4)
        while True:
            _, errcode, data = encoder.encode(bufsize)
            digest.update(data)
            if errcode:
                break
        if errcode < 0:
            raise ImageError(f"encoder error {errcode} while reading the pixels")
    finally:
        encoder.cleanup()
    return digest.hexdigest()


def _size(img: Image.Image) -> tuple[int, int]:
    width, height = img.width, img.height
    orientation = img.getexif().get(ORIENTATION_TAG, 1)
    if orientation > 4:
        width, height = height, width
    return width, height


def describe(payload: str | bytes, fast: bool) -> tuple[int, int, str]:
    """``(width, height, checksum)`` of one image, given its local path or its bytes."""
    if fast:
        if isinstance(payload, str):
            with open(payload, "rb") as f:
                payload = f.read()
        checksum = hashlib.md5(payload).hexdigest()  # noqa: S324
        found = size_and_orientation(payload)
        if found is not None and found[0] * found[1] <= _PILLOW_REFUSES:
            width, height, orientation = found
            return (height, width, checksum) if orientation > 4 else (width, height, checksum)
        with Image.open(io.BytesIO(payload)) as img:
            width, height = _size(img)
        return width, height, checksum
    stream: Any = payload if isinstance(payload, str) else io.BytesIO(payload)
    with Image.open(stream) as img:
        width, height = _size(img)
        return width, height, pixels_md5(img)


def describe_batch(batch: list[tuple[str, str | bytes]], fast: bool) -> list[tuple[str, Any]]:
    """Worker entry: ``(rel, (width, height, checksum))`` per item, or ``(rel, error message)``
    (a message, not the exception: some exceptions do not survive pickling)."""
    out: list[tuple[str, Any]] = []
    for rel, payload in batch:
        try:
            out.append((rel, describe(payload, fast)))
        except Exception as exc:  # noqa: BLE001 - reported with the file's name
            out.append((rel, f"{rel}: cannot read the image ({type(exc).__name__}: {exc})"))
    return out


def batches(
    items: Iterable[tuple[str, int, str | bytes]], max_count: int, max_bytes: int
) -> Iterator[list[tuple[str, str | bytes]]]:
    """Group ``(rel, size, payload)`` so each batch is a few hundred ms of work at most."""
    batch: list[tuple[str, str | bytes]] = []
    total = 0
    for rel, size, payload in items:
        batch.append((rel, payload))
        total += size
        if len(batch) >= max_count or total >= max_bytes:
            yield batch
            batch, total = [], 0
    if batch:
        yield batch
