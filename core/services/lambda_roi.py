"""Regions of interest (``roi`` [xtl, ytl, xbr, ybr], new in CVAT 2.80's lambda requests):
the function sees only that crop of each frame, and what it finds is moved back to the
frame's coordinates.

An agent crops frames itself (the AR carries the ``roi``); for other backends the server
crops before invoking. Either way the answer is in crop coordinates and is re-offset here:
every (x, y) pair of a shape's points; for a mask (CVAT's RLE of its box, then the box
[l, t, r, b]) only the box, the run lengths being relative to it.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterable
from typing import Any

from cvatcore.core.errors import ValidationFailed

Roi = tuple[int, int, int, int]


def parse(value: Any, sizes: Iterable[tuple[int, int]]) -> Roi | None:
    """The ``roi`` of a request, checked against the (width, height) of every frame it will
    crop: four integers, a non-empty region, inside each frame (else a 400)."""
    if value is None:
        return None
    if isinstance(value, list):  # cvat-sdk may send undeclared numbers as floats
        value = [int(v) if isinstance(v, float) and v.is_integer() else v for v in value]
    if not isinstance(value, list) or len(value) != 4 or any(
            isinstance(v, bool) or not isinstance(v, int) for v in value):
        raise ValidationFailed.field("roi", "Four integers [xtl, ytl, xbr, ybr] are required.")
    xtl, ytl, xbr, ybr = value
    if xtl < 0 or ytl < 0 or xbr <= xtl or ybr <= ytl:
        raise ValidationFailed.field("roi", f"{value} is not a region: it needs 0 <= xtl < xbr "
                                            "and 0 <= ytl < ybr.")
    for width, height in sizes:
        if xbr > width or ybr > height:
            raise ValidationFailed.field(
                "roi", f"{value} is outside the frame ({width}x{height}).")
    return xtl, ytl, xbr, ybr


def frame_sizes(meta: dict[str, Any], frames: Iterable[int]) -> set[tuple[int, int]]:
    """The distinct frame sizes of ``frames`` (a video's meta lists one frame for all)."""
    listed = meta.get("frames") or []
    if len(listed) <= 1:
        return {(f["width"], f["height"]) for f in listed}
    return {(listed[f]["width"], listed[f]["height"]) for f in frames if f < len(listed)}


def crop_b64(raw: bytes, roi: Roi) -> str:
    """The region of an encoded frame, as the base64 of a PNG (lossless: the function sees
    the pixels it would have seen in the whole frame)."""
    from PIL import Image

    with Image.open(io.BytesIO(raw)) as image:
        region = image.crop(roi)
        out = io.BytesIO()
        region.save(out, format="PNG")
    return base64.b64encode(out.getvalue()).decode("ascii")


def _moved(points: Any, dx: float, dy: float, mask: bool) -> Any:
    if not isinstance(points, list) or not all(
            isinstance(p, int | float) and not isinstance(p, bool) for p in points):
        return points  # not ours to fix: the annotations services reject it
    if mask:
        if len(points) < 4:
            return points
        left, top, right, bottom = points[-4:]
        return [*points[:-4], left + dx, top + dy, right + dx, bottom + dy]
    return [p + (dy if i % 2 else dx) for i, p in enumerate(points)]


def offset_shapes(shapes: list[dict[str, Any]], roi: Roi | None) -> list[dict[str, Any]]:
    """Annotation shapes (``points``; masks as RLE + box; skeleton ``elements``) found in
    the crop, moved to the frame."""
    if roi is None:
        return shapes
    dx, dy = roi[0], roi[1]
    out = []
    for shape in shapes:
        if not isinstance(shape, dict):
            out.append(shape)
            continue
        moved = {**shape, "points": _moved(shape.get("points"), dx, dy,
                                           shape.get("type") == "mask")}
        if isinstance(shape.get("elements"), list):
            moved["elements"] = offset_shapes(shape["elements"], roi)
        out.append(moved)
    return out


def offset_items(items: list[dict[str, Any]], roi: Roi | None) -> list[dict[str, Any]]:
    """A detector's own answer items (``points``; a mask's RLE + box in ``mask``;
    ``elements``), moved from the crop to the frame."""
    if roi is None:
        return items
    dx, dy = roi[0], roi[1]
    out = []
    for item in items:
        moved = {**item}
        if "points" in item:
            moved["points"] = _moved(item["points"], dx, dy, False)
        if "mask" in item:
            moved["mask"] = _moved(item["mask"], dx, dy, True)
        if isinstance(item.get("elements"), list):
            moved["elements"] = offset_items(item["elements"], roi)
        out.append(moved)
    return out
