"""Width, height and EXIF orientation of a JPEG or PNG straight from its bytes (``--fast``).

Pillow gives the same answers, but spends most of a fast run doing it: it parses every JPEG
table before the first scan, and for a PNG ``getexif()`` decodes the whole image to look for an
``eXIf`` chunk after the pixels. These parsers read only what decides the answer and return
``None`` whenever a file has anything they do not handle exactly as Pillow would (XMP, several
EXIF blocks or frame headers, odd tag types, truncation, other formats); the caller then asks
Pillow, so the result is always Pillow's.
"""

from __future__ import annotations

import struct
import zlib

ORIENTATION = 274
JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_TEXT_KEYS = (b"Raw profile type exif", b"XML:com.adobe.xmp")
XMP_PREFIX = b"http://ns.adobe.com/xap/1.0/\x00"


def size_and_orientation(data: bytes) -> tuple[int, int, int] | None:
    """``(width, height, orientation)`` as Pillow reports them, or None: ask Pillow."""
    try:
        if data.startswith(b"\xff\xd8\xff"):
            return _jpeg(data)
        if data.startswith(PNG_SIGNATURE):
            return _png(data)
    except (struct.error, IndexError, ValueError):
        return None
    return None


def _jpeg(data: bytes) -> tuple[int, int, int] | None:
    pos, size, exif = 2, None, None
    while True:
        if data[pos] != 0xFF:
            return None  # junk between markers: Pillow skips it, we do not bother
        marker = data[pos + 1]
        if marker == 0xFF or marker == 0x00:
            return None
        if marker == 0xDA:  # start of scan: Pillow stops reading the header here
            break
        if 0xD0 <= marker <= 0xD9 or marker == 0x01:
            return None  # stand-alone markers before the scan: unusual, let Pillow decide
        (length,) = struct.unpack_from(">H", data, pos + 2)
        segment = data[pos + 4 : pos + 2 + length]
        if length < 2 or len(segment) != length - 2:
            return None
        if marker in JPEG_SOF:
            if size is not None or segment[0] != 8 or segment[5] not in (1, 3, 4):
                return None
            height, width = struct.unpack_from(">HH", segment, 1)
            size = (width, height)
        elif marker == 0xE1 and segment.startswith(b"Exif\x00\x00"):
            if exif is not None:
                return None  # Pillow joins several EXIF blocks
            exif = segment[6:]
        elif marker == 0xE1 and segment.startswith(XMP_PREFIX):
            return None  # XMP may carry the orientation
        pos += 2 + length
    if size is None:
        return None
    orientation = _exif_orientation(exif) if exif is not None else 1
    return None if orientation is None else (*size, orientation)


def _png(data: bytes) -> tuple[int, int, int] | None:
    pos, size, exif = 8, None, None
    while pos + 8 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, pos)
        body = data[pos + 8 : pos + 8 + length]
        if len(body) != length:
            return None
        if size is None:
            (crc,) = struct.unpack_from(">I", data, pos + 8 + length)
            if kind != b"IHDR" or length != 13 or zlib.crc32(kind + body) != crc:
                return None
            size = struct.unpack_from(">II", body)
        elif kind == b"eXIf":
            if exif is not None:
                return None
            exif = body
        elif kind in (b"tEXt", b"zTXt", b"iTXt") and body.split(b"\x00", 1)[0] in PNG_TEXT_KEYS:
            return None
        elif kind == b"IEND":
            break
        pos += 12 + length
    if size is None:
        return None
    orientation = _exif_orientation(exif) if exif is not None else 1
    return None if orientation is None else (size[0], size[1], orientation)


def _exif_orientation(tiff: bytes) -> int | None:
    """Tag 274 of IFD0 in a TIFF-structured EXIF block (1 when absent); None: ask Pillow."""
    if tiff.startswith(b"Exif\x00\x00"):
        tiff = tiff[6:]
    if not tiff:
        return 1
    if tiff[:4] == b"II*\x00":
        endian = "<"
    elif tiff[:4] == b"MM\x00*":
        endian = ">"
    else:
        return None
    (ifd,) = struct.unpack_from(endian + "I", tiff, 4)
    (count,) = struct.unpack_from(endian + "H", tiff, ifd)
    if ifd + 2 + 12 * count > len(tiff):
        return None
    found = None
    for entry in range(ifd + 2, ifd + 2 + 12 * count, 12):
        tag, kind, values = struct.unpack_from(endian + "HHI", tiff, entry)
        if tag != ORIENTATION:
            continue
        if found is not None or values != 1 or kind not in (3, 4):
            return None
        (found,) = struct.unpack_from(endian + ("H" if kind == 3 else "I"), tiff, entry + 8)
    return 1 if found is None else found
