"""Helpers the formats share: tracks as per-frame shapes, masks as bitmaps, boxes of shapes."""

from __future__ import annotations

from collections.abc import Iterator
from operator import mul
from typing import Any

Annotation = dict[str, Any]


def _lerp(a: list[float], b: list[float], t: float) -> list[float]:
    return [x + (y - x) * t for x, y in zip(a, b, strict=True)]


def _at(shapes: list[Annotation], frame: int) -> Annotation | None:
    """The track's shape on ``frame``: a key frame as is, else interpolated (linear, when the
    neighbours have the same type and point count; the previous key frame otherwise)."""
    prev = nxt = None
    for shape in shapes:
        if shape["frame"] <= frame:
            prev = shape
        elif nxt is None:
            nxt = shape
    if prev is None:
        return None
    out = dict(prev, frame=frame, keyframe=prev["frame"] == frame)
    if (nxt is not None and prev["frame"] != frame and not prev.get("outside")
            and nxt["type"] == prev["type"] and prev["type"] != "mask"
            and len(nxt["points"]) == len(prev["points"])):
        t = (frame - prev["frame"]) / (nxt["frame"] - prev["frame"])
        out["points"] = _lerp(prev["points"], nxt["points"], t)
        out["rotation"] = prev.get("rotation", 0.0) + (
            nxt.get("rotation", 0.0) - prev.get("rotation", 0.0)) * t
    return out


def track_frames(track: Annotation, last_frame: int, first_frame: int = 0
                 ) -> Iterator[Annotation]:
    """Every frame's shape of ``track`` from its first key frame (or ``first_frame``, if
    later) to ``last_frame`` (the last of its segment), ``outside`` ones included, with
    ``track_id``, ``label``, ``group``, ``source``; a skeleton's elements come interpolated
    the same way."""
    shapes = sorted(track["shapes"], key=lambda s: s["frame"])
    if not shapes:
        return
    elements = [sorted(e["shapes"], key=lambda s: s["frame"]) for e in track.get("elements", [])]
    for frame in range(max(shapes[0]["frame"], first_frame), last_frame + 1):
        shape = _at(shapes, frame)
        if shape is None:
            continue
        shape.update(label=track["label"], group=track.get("group", 0),
                     source=track.get("source", "manual"), track_id=track.get("id"),
                     attributes={**track.get("attributes", {}), **shape.get("attributes", {})})
        parts = []
        for element, e_shapes in zip(track.get("elements", []), elements, strict=True):
            part = _at(e_shapes, frame)
            if part is not None:
                part.update(label=element["label"], source=element.get("source", "manual"),
                            attributes={**element.get("attributes", {}),
                                        **part.get("attributes", {})})
                parts.append(part)
        shape["elements"] = parts
        yield shape


# -- masks -----------------------------------------------------------------------------------


def mask_to_bitmap(points: list[float]) -> tuple[int, int, int, int, bytearray]:
    """A CVAT mask (RLE, then left, top, right, bottom) as ``(left, top, width, height,
    bitmap)``, the bitmap one byte (0/1) per pixel of the box, row by row."""
    left, top, right, bottom = (int(round(v)) for v in points[-4:])
    width, height = right - left + 1, bottom - top + 1
    bitmap = bytearray(width * height)
    pos, value = 0, 0
    for count in points[:-4]:
        count = int(count)
        if value:
            bitmap[pos:pos + count] = b"\x01" * count
        pos += count
        value ^= 1
    return left, top, width, height, bitmap[:width * height]


def bitmap_to_mask(left: int, top: int, width: int, height: int,
                   bitmap: bytes | bytearray) -> list[float] | None:
    """The reverse of ``mask_to_bitmap``, cropped to the set pixels (None when empty)."""
    rows = [bitmap[y * width:(y + 1) * width] for y in range(height)]
    ys = [y for y, row in enumerate(rows) if any(row)]
    if not ys:
        return None
    xs = [x for x in range(width) if any(row[x] for row in rows)]
    x0, x1, y0, y1 = xs[0], xs[-1], ys[0], ys[-1]
    rle: list[float] = []
    value, run = 0, 0
    for y in range(y0, y1 + 1):
        for v in rows[y][x0:x1 + 1]:
            if v != value:
                rle.append(run)
                value, run = v, 0
            run += 1
    rle.append(run)
    return [*rle, left + x0, top + y0, left + x1, top + y1]


def full_bitmap(points: list[float], width: int, height: int) -> bytearray:
    """A CVAT mask painted on an image-sized bitmap (row-major, one byte a pixel)."""
    left, top, w, h, bitmap = mask_to_bitmap(points)
    full = bytearray(width * height)
    for y in range(h):
        if 0 <= top + y < height:
            row = bitmap[y * w:(y + 1) * w]
            x0, x1 = max(left, 0), min(left + w, width)
            if x1 > x0:
                full[(top + y) * width + x0:(top + y) * width + x1] = row[x0 - left:x1 - left]
    return full


def bbox(shape: Annotation) -> tuple[float, float, float, float]:
    """``(x, y, w, h)`` of a shape (of its elements for a skeleton)."""
    points = shape.get("points") or []
    if shape["type"] == "mask":
        left, top, right, bottom = points[-4:]
        return left, top, right - left + 1, bottom - top + 1
    if shape["type"] == "skeleton":
        points = [p for e in shape.get("elements", []) for p in e["points"]]
    if shape["type"] == "ellipse":
        cx, cy, rx, ry = points[:4]
        return cx - abs(rx - cx), cy - abs(ry - cy), 2 * abs(rx - cx), 2 * abs(ry - cy)
    if not points:
        return 0.0, 0.0, 0.0, 0.0
    xs, ys = points[0::2], points[1::2]
    return min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)


def polygon_area(points: list[float]) -> float:
    """The shoelace formula, its two sums taken with ``map`` (no Python loop)."""
    xs, ys = points[0::2], points[1::2]
    return abs(sum(map(mul, xs, ys[1:] + ys[:1])) - sum(map(mul, xs[1:] + xs[:1], ys))) / 2


def fmt(value: float) -> str:
    """A coordinate with two decimals, as CVAT writes them."""
    return f"{value:.2f}"
