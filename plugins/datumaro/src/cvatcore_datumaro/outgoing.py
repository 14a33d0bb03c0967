"""cvatcore's export stream as a datumaro dataset: ``ExportDataset`` -> ``DatasetSource``.

The source is a datumaro ``DatasetBase`` whose ``__iter__`` reads ``dataset.frames()`` again on
every pass (one frame at a time from the database and the media store), so a datumaro exporter
that walks the dataset once per subset never holds more than one frame's annotations; images
are read only when an exporter saves them. The mapping follows CVAT's own bridge to datumaro
(``cvat/apps/dataset_manager/bindings.py``): boxes, polygons, polylines, points, ellipses,
masks (one image-sized bitmap each) and tags; ``occluded``, ``rotation``, ``track_id`` and
``keyframe`` travel as attributes; a skeleton becomes one ``Points`` annotation whose points
are its elements in the order of its sublabels (PyPI datumaro has no skeleton type), with the
sublabels' names and the edges of the skeleton's SVG in ``PointsCategories``.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterator
from typing import Any

import numpy as np
from datumaro.components.annotation import (
    AnnotationType,
    Bbox,
    Ellipse,
    Label,
    LabelCategories,
    Mask,
    MaskCategories,
    Points,
    PointsCategories,
    Polygon,
    PolyLine,
)
from datumaro.components.dataset_base import DatasetBase, DatasetItem
from datumaro.components.media import Image, ImageFromBytes

from cvatcore.hooks.datasets import DatasetFrame, DatasetLabel, ExportDataset

Shape = dict[str, Any]

#: ``Points.visibility`` values (datumaro's ``Points.Visibility``).
_VISIBLE, _OCCLUDED, _ABSENT = 2, 1, 0


class StoredImage(ImageFromBytes):
    """A frame's stored file, copied as it is when the exporter keeps its extension (datumaro's
    own ``ImageFromBytes`` decodes and encodes every image again)."""

    def save(self, fp: Any, ext: str | None = None) -> None:
        if isinstance(fp, str) and os.path.splitext(fp)[1].lower() == (self.ext or ""):
            os.makedirs(os.path.dirname(fp), exist_ok=True)
            with open(fp, "wb") as out:
                out.write(self.bytes or b"")
            return
        super().save(fp, ext)


def label_colors(labels: list[DatasetLabel]) -> dict[str, tuple[int, int, int]]:
    """``background`` black, then each top-level label's color: its own when it is set and no
    other label has it, else a free color of the VOC palette (segmentation formats tell
    classes apart by color, so two labels must never share one)."""
    from datumaro.util.mask_tools import generate_colormap

    palette = list(generate_colormap(256).values())
    colors: dict[str, tuple[int, int, int]] = {"background": (0, 0, 0)}
    used = {(0, 0, 0)}
    for label in (lb for lb in labels if not lb.parent):
        rgb = None
        if re.fullmatch(r"#[0-9a-fA-F]{6}", label.color or ""):
            rgb = tuple(int(label.color[k:k + 2], 16) for k in (1, 3, 5))
        if rgb is None or rgb in used:
            rgb = next(tuple(c) for c in palette if tuple(c) not in used)
        used.add(rgb)  # type: ignore[arg-type]
        colors[label.name] = rgb  # type: ignore[assignment]
    return colors


def _joints(label: DatasetLabel, elements: list[str]) -> set[tuple[int, int]]:
    """The skeleton's edges (1-based indexes into ``elements``) from its SVG, as COCO keeps
    them: ``<line data-node-from="1" data-node-to="2">`` between ``<circle data-node-id="1"
    data-label-name="head">`` nodes."""
    nodes = {m.group(1): m.group(2) for m in re.finditer(
        r'data-node-id="(\d+)"[^>]*data-label-name="([^"]*)"', label.svg or "")}
    found = set()
    for a, b in re.findall(r'data-node-from="(\d+)"\s+data-node-to="(\d+)"', label.svg or ""):
        if nodes.get(a) in elements and nodes.get(b) in elements:
            found.add((elements.index(nodes[a]) + 1, elements.index(nodes[b]) + 1))
    return found


class DatasetSource(DatasetBase):
    """An ``ExportDataset`` read by datumaro's exporters (see the module docstring)."""

    def __init__(self, dataset: ExportDataset, *, rotated_as_polygons: bool = False) -> None:
        super().__init__(subsets=list(dataset.subsets), media_type=Image)
        self._dataset = dataset
        self._rotated_as_polygons = rotated_as_polygons
        top = [lb for lb in dataset.labels if not lb.parent]
        self._index = {lb.name: i for i, lb in enumerate(top)}
        self._elements = {lb.name: [s.name for s in dataset.labels if s.parent == lb.name]
                          for lb in top if lb.type == "skeleton"}
        labels = LabelCategories(attributes={"occluded"})
        for label in top:
            labels.add(label.name, attributes={a.name for a in label.attributes})
        colors = label_colors(dataset.labels)
        points = PointsCategories()
        for name, elements in self._elements.items():
            label = next(lb for lb in top if lb.name == name)
            points.add(self._index[name], elements, _joints(label, elements))
        self._categories = {
            AnnotationType.label: labels,
            AnnotationType.mask: MaskCategories({i: colors[lb.name] for i, lb in enumerate(top)}),
            AnnotationType.points: points,
        }

    def categories(self) -> dict[AnnotationType, Any]:
        return self._categories

    def __iter__(self) -> Iterator[DatasetItem]:
        for frame in self._dataset.frames():
            yield self._item(frame)

    def _item(self, frame: DatasetFrame) -> DatasetItem:
        size = (max(frame.height, 1), max(frame.width, 1))
        if self._dataset.save_images:
            media: Image = StoredImage(data=frame.image, ext=frame.image_ext, size=size)
        else:  # never read (save_media is off): exporters look at the name and size only
            media = Image.from_file(path=frame.name, size=size)
        annotations: list[Any] = [
            Label(self._index[t["label"]], id=i, group=t.get("group") or 0,
                  attributes=dict(t.get("attributes") or {}))
            for i, t in enumerate(frame.tags)]
        for shape in frame.shapes:
            if not shape.get("outside"):
                ann = self._shape(shape, frame, len(annotations) + 1)
                if ann is not None:
                    annotations.append(ann)
        return DatasetItem(id=os.path.splitext(frame.name)[0], subset=frame.subset,
                           media=media, annotations=annotations,
                           attributes={"frame": frame.index})

    def _shape(self, shape: Shape, frame: DatasetFrame, ann_id: int) -> Any:
        attributes = dict(shape.get("attributes") or {})
        attributes["occluded"] = bool(shape.get("occluded"))
        if shape.get("rotation"):
            attributes["rotation"] = float(shape["rotation"])
        if shape.get("track_id") is not None:
            attributes.update(track_id=shape["track_id"], keyframe=bool(shape.get("keyframe")))
        common = {"id": ann_id, "label": self._index[shape["label"]], "attributes": attributes,
                  "group": shape.get("group") or 0}
        z_order, kind, p = shape.get("z_order") or 0, shape["type"], list(shape["points"])
        if kind == "rectangle" and shape.get("rotation") and self._rotated_as_polygons:
            return Polygon(rotated_corners(p, float(shape["rotation"])), z_order=z_order,
                           **common)
        if kind == "rectangle":
            return Bbox(p[0], p[1], p[2] - p[0], p[3] - p[1], z_order=z_order, **common)
        if kind == "polygon":
            return Polygon(p, z_order=z_order, **common)
        if kind == "polyline":
            return PolyLine(p, z_order=z_order, **common)
        if kind == "points":
            return Points(p, z_order=z_order, **common)
        if kind == "ellipse":  # CVAT: centre, then a point on the right and top edges
            rx, ry = abs(p[2] - p[0]), abs(p[3] - p[1])
            return Ellipse(p[0] - rx, p[1] - ry, p[0] + rx, p[1] + ry, z_order=z_order, **common)
        if kind == "mask":
            return Mask(image=_bitmap(p, frame.width, frame.height), z_order=z_order, **common)
        if kind == "skeleton":
            return self._skeleton(shape, z_order, common)
        return None  # cuboids: no 2D cuboid in the formats this plugin offers

    def _skeleton(self, shape: Shape, z_order: int, common: dict[str, Any]) -> Points:
        by_name = {e["label"]: e for e in shape.get("elements") or []}
        points: list[float] = []
        visibility = []
        for name in self._elements.get(shape["label"], []):
            element = by_name.get(name)
            if element is None or element.get("outside"):
                points += [0.0, 0.0]
                visibility.append(_ABSENT)
            else:
                points += [float(v) for v in element["points"][:2]]
                visibility.append(_OCCLUDED if element.get("occluded") else _VISIBLE)
        return Points(points, visibility=visibility, z_order=z_order, **common)


def rotated_corners(box: list[float], degrees: float) -> list[float]:
    """The corners of a CVAT box turned by ``degrees`` (clockwise on the image, as CVAT
    draws it) about its centre, as CVAT's RotatedBoxesToPolygons makes them."""
    x1, y1, x2, y2 = box[:4]
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    cos, sin = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    return [v for x, y in ((x1, y1), (x2, y1), (x2, y2), (x1, y2))
            for v in (cx + (x - cx) * cos - (y - cy) * sin, cy + (x - cx) * sin + (y - cy) * cos)]


def _bitmap(points: list[float], width: int, height: int) -> np.ndarray:
    """A CVAT mask (RLE over its box, then left, top, right, bottom) on an image-sized array."""
    left, top, right, bottom = (int(round(v)) for v in points[-4:])
    w, h = right - left + 1, bottom - top + 1
    flat = np.zeros(w * h, dtype=bool)
    pos, value = 0, False
    for count in points[:-4]:
        count = int(count)
        if value:
            flat[pos:pos + count] = True
        pos += count
        value = not value
    full = np.zeros((max(height, 1), max(width, 1)), dtype=bool)
    box = flat[:w * h].reshape(h, w)
    y0, x0 = max(top, 0), max(left, 0)
    y1, x1 = min(top + h, full.shape[0]), min(left + w, full.shape[1])
    if y1 > y0 and x1 > x0:
        full[y0:y1, x0:x1] = box[y0 - top:y1 - top, x0 - left:x1 - left]
    return full
