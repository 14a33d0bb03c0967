"""``--fast`` reads sizes and EXIF orientation from the bytes: always Pillow's answer."""

from __future__ import annotations

import io
import struct

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from cvatcore.core.manifest.headers import size_and_orientation
from cvatcore.core.manifest.images import describe


def encode(fmt: str, mode: str = "RGB", size: tuple[int, int] = (13, 7),
           orientation: int | None = None, **params: object) -> bytes:
    img = Image.new(mode, size, 128 if mode in ("L", "P") else (10, 20, 30, 40)[: len(mode)])
    if orientation is not None:
        exif = img.getexif()
        exif[274] = orientation
        params["exif"] = exif
    out = io.BytesIO()
    img.save(out, fmt, **params)
    return out.getvalue()


def pillow(data: bytes) -> tuple[int, int, int]:
    with Image.open(io.BytesIO(data)) as img:
        return img.width, img.height, img.getexif().get(274, 1)


def big_endian_exif_jpeg(orientation: int) -> bytes:
    """A JPEG whose EXIF block is Motorola-ordered (Pillow itself writes Intel order)."""
    tiff = b"MM\x00*" + struct.pack(">IH", 8, 1) + struct.pack(">HHIHH", 274, 3, 1,
                                                                 orientation, 0)
    tiff += b"\x00\x00\x00\x00"
    app1 = b"Exif\x00\x00" + tiff
    plain = encode("JPEG")
    return plain[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + plain[2:]


def with_xmp(orientation: int) -> bytes:
    xmp = f'<x:xmpmeta><rdf:Description tiff:Orientation="{orientation}"/></x:xmpmeta>'
    return encode("JPEG", xmp=xmp.encode())


def png_xmp(orientation: int) -> PngInfo:
    info = PngInfo()
    info.add_itxt("XML:com.adobe.xmp", f'<x tiff:Orientation="{orientation}"/>')
    return info


HANDLED = {
    "jpeg": encode("JPEG"),
    "jpeg gray": encode("JPEG", "L", (5, 9)),
    "jpeg cmyk": encode("JPEG", "CMYK", (6, 4)),
    "jpeg progressive": encode("JPEG", progressive=True),
    **{f"jpeg exif {o}": encode("JPEG", orientation=o) for o in range(1, 9)},
    "jpeg big-endian exif 6": big_endian_exif_jpeg(6),
    "png": encode("PNG", "RGBA"),
    "png palette": encode("PNG", "P", (3, 11)),
    "png exif 8": encode("PNG", orientation=8),
    "png exif 2": encode("PNG", orientation=2),
}
LEFT_TO_PILLOW = {
    "jpeg xmp": with_xmp(6),
    "png xmp": encode("PNG", pnginfo=png_xmp(6)),
    "gif": encode("GIF", "P"),
    "bmp": encode("BMP"),
    "webp": encode("WEBP"),
    "truncated jpeg": encode("JPEG")[:40],
    "tiff": encode("TIFF", orientation=6),
}


@pytest.mark.parametrize("name", sorted(HANDLED))
def test_handled_files_give_pillows_answer(name: str):
    data = HANDLED[name]
    assert size_and_orientation(data) == pillow(data)


@pytest.mark.parametrize("name", sorted(LEFT_TO_PILLOW))
def test_anything_unusual_is_left_to_pillow(name: str):
    assert size_and_orientation(LEFT_TO_PILLOW[name]) is None


@pytest.mark.parametrize("data", [with_xmp(6), encode("PNG", pnginfo=png_xmp(6))])
def test_xmp_orientation_reaches_the_manifest_through_pillow(data: bytes):
    assert pillow(data) == (13, 7, 6)
    assert describe(data, fast=True)[:2] == describe(data, fast=False)[:2] == (7, 13)
