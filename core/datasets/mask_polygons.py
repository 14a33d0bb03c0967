"""``conv_mask_to_poly`` (CVAT's default on import): masks in an imported file become
polygons, one per outer contour of the mask, as CVAT does through datumaro's
``mask_to_polygons``: OpenCV's ``findContours`` (outer contours only, so holes are dropped;
straight runs kept as their end points), contours of fewer than 3 points dropped.
The polygons keep the mask's label, attributes, group, z order, occlusion and source. Tracks
keep their masks: a track has one shape a frame, and a mask may have several contours."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import cv2
import numpy as np

from cvatcore.core.datasets.shapes import mask_to_bitmap
from cvatcore.hooks.datasets import Annotation, ImportedAnnotations


def mask_to_polygons(points: list[float]) -> list[list[float]]:
    """The outer contours of a CVAT mask (RLE, then left, top, right, bottom) as polygon
    points in image coordinates."""
    left, top, width, height, bitmap = mask_to_bitmap(points)
    if width <= 0 or height <= 0:
        return []
    image = np.frombuffer(bytes(bitmap), dtype=np.uint8).reshape(height, width)
    contours, _ = cv2.findContours(image, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    polygons = []
    for contour in contours:
        if len(contour) < 3:
            continue
        xy = contour.reshape(-1, 2).astype(np.float64) + (left, top)
        polygons.append([float(v) for v in xy.ravel()])
    return polygons


def _shapes(items: Iterable[Annotation]) -> Iterator[Annotation]:
    for item in items:
        if item.get("type") != "mask":
            yield item
            continue
        for polygon in mask_to_polygons(item["points"]):
            yield {**item, "type": "polygon", "points": polygon}


def _stream(items: Iterable[tuple[str, Annotation]]) -> Iterator[tuple[str, Annotation]]:
    for kind, item in items:
        if kind == "shapes" and item.get("type") == "mask":
            for polygon in mask_to_polygons(item["points"]):
                yield kind, {**item, "type": "polygon", "points": polygon}
        else:
            yield kind, item


def masks_as_polygons(imported: ImportedAnnotations) -> ImportedAnnotations:
    """``imported`` with its (non-track) masks as polygons, still read as a stream."""
    return ImportedAnnotations(tags=imported.tags, shapes=list(_shapes(imported.shapes)),
                               tracks=imported.tracks, stream=_stream(imported.stream))
