"""Images with Pillow: what kind of file a name is, header-only sizes (EXIF rotation applied,
as CVAT reports them), JPEG re-encoding for compressed frames, and previews."""

from __future__ import annotations

import io
import mimetypes
import posixpath
from typing import IO

from PIL import Image, ImageOps

from cvatcore.core.media.limits import MAX_IMAGE_PIXELS

ORIENTATION_TAG = 274
PREVIEW_SIZE = (256, 256)
ARCHIVE_EXTENSIONS = (".zip",)
MANIFEST_EXTENSIONS = (".jsonl",)


class BadImage(ValueError):
    """The file is not an image Pillow can read; the message names it."""


def media_kind(name: str) -> str:
    """``image``, ``video``, ``archive``, ``manifest`` or ``other`` by the file name."""
    lower = name.lower()
    if lower.endswith(ARCHIVE_EXTENSIONS):
        return "archive"
    if lower.endswith(MANIFEST_EXTENSIONS):
        return "manifest"
    mime = mimetypes.guess_type(posixpath.basename(lower))[0] or ""
    if mime.startswith("image/") and not mime.startswith("image/svg"):
        return "image"
    if mime.startswith("video/"):
        return "video"
    return "other"


def probe(stream: IO[bytes], name: str) -> tuple[int, int]:
    """``(width, height)`` from the header, swapped when the EXIF orientation turns the image
    by 90 degrees (as CVAT reports sizes). Only the header is read: a file Pillow does not
    recognise as an image is refused here, by name."""
    try:
        with Image.open(stream) as img:
            width, height = img.size
            if width * height > MAX_IMAGE_PIXELS:
                raise BadImage(f"{name}: the image is too large ({width}x{height} pixels)")
            if img.getexif().get(ORIENTATION_TAG, 1) > 4:
                width, height = height, width
            return width, height
    except BadImage:
        raise
    except Exception as exc:  # Pillow raises many kinds for a broken or foreign file
        raise BadImage(f"{name}: not a valid image ({type(exc).__name__})") from None


def to_jpeg(data: bytes | IO[bytes], quality: int, name: str = "") -> bytes:
    """CVAT's compressed frame: EXIF-rotated, RGB, JPEG at ``quality``."""
    try:
        with Image.open(data if not isinstance(data, bytes) else io.BytesIO(data)) as img:
            return encode_jpeg(ImageOps.exif_transpose(img), quality)
    except Exception as exc:
        raise BadImage(f"{name}: not a valid image ({type(exc).__name__})") from None


def encode_jpeg(img: Image.Image, quality: int) -> bytes:
    if img.mode in ("I", "I;16", "I;16B", "I;16L"):  # 16-bit: scale into 8 bits first
        img = img.point(lambda v: v / 256).convert("L")
    out = io.BytesIO()
    img.convert("RGB").save(out, format="JPEG", quality=max(1, min(quality, 95)), optimize=True)
    return out.getvalue()


def preview(img: Image.Image) -> bytes:
    """A JPEG thumbnail that fits in 256x256 (CVAT's preview size)."""
    img = ImageOps.exif_transpose(img).convert("RGB")
    img.thumbnail(PREVIEW_SIZE)
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=85)
    return out.getvalue()


def mime_of(name: str) -> str:
    return mimetypes.guess_type(posixpath.basename(name))[0] or "application/octet-stream"
