"""A dataset datumaro read, as cvatcore's imported annotations (label and attribute names).

The reverse of ``outgoing``: tags, boxes (``rotation`` from the attribute), polygons, polylines,
points, ellipses, masks (cropped to their pixels, as CVAT's RLE), and ``Points`` of a skeleton
label as a skeleton whose elements are its sublabels in order. As CVAT's importer does,
attributes the task's label does not declare are left out (formats add their own, such as
VOC's ``truncated`` or MOT's ``visibility``), and a frame is found by the item's name, else by
its ``frame`` attribute. Shapes carrying a ``track_id`` become tracks in formats that keep
tracks (MOT, MOTS), one key frame per frame, closed by an ``outside`` key frame after the last
one, as CVAT's MOT importer makes them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import numpy as np
from datumaro.components.annotation import AnnotationType

from cvatcore.hooks.datasets import DatasetFormatError, ImportContext

Annotation = dict[str, Any]
#: Attributes that are fields of a cvatcore shape, never label attributes.
_FIELDS = ("occluded", "rotation", "track_id", "keyframe", "outside")


class Reader:
    """Turns datumaro items into ``(kind, annotation)`` pairs for ``ImportedAnnotations``."""

    def __init__(self, categories: dict[Any, Any], context: ImportContext, *,
                 default_label: str | None = None) -> None:
        labels = categories.get(AnnotationType.label)
        self.names = [c.name for c in labels.items] if labels is not None else []
        self.context = context
        self.default_label = default_label
        self.attributes = {lb.name: {a.name for a in lb.attributes}
                           for lb in context.labels if not lb.parent}
        self.elements = {lb.name: [s.name for s in context.labels if s.parent == lb.name]
                         for lb in context.labels if lb.type == "skeleton"}
        self.ordered = sorted(index for index, *_ in context.frames)
        self.frames = set(self.ordered)

    def frame(self, item: Any, where: str, numbered: bool = False) -> int:
        """The item's frame: by its name, else its image file's name, else (``numbered``:
        MOT's 1-based frame numbers) its number, else its ``frame`` attribute."""
        path = getattr(item.media, "path", None) if item.media is not None else None
        for name in (item.id, os.path.basename(path) if path else None):
            if name:
                try:
                    return self.context.frame_of(name, where)
                except DatasetFormatError:
                    pass
        number = item.attributes.get("frame")
        if numbered and str(item.id).isdigit() and 0 < int(item.id) <= len(self.ordered):
            return self.ordered[int(item.id) - 1]
        if isinstance(number, int) and number in self.frames:
            return number
        return self.context.frame_of(item.id, where)  # raises, naming the item

    def label(self, ann: Any, where: str) -> str | None:
        if getattr(ann, "label", None) is None:
            return self.default_label
        try:
            return self.names[ann.label]
        except (IndexError, TypeError):
            raise DatasetFormatError(f"{where}: unknown label index {ann.label!r}") from None

    def annotations(self, item: Any, frame: int, where: str, keypoints: bool = False,
                    coco: bool = False) -> Iterator[tuple[str, Annotation]]:
        # COCO: datumaro reads each instance as its polygon or mask plus a box in the same
        # group (keypoints: plus a box or polygon); CVAT keeps only the instance itself.
        main = (AnnotationType.points,) if keypoints else (
            AnnotationType.polygon, AnnotationType.mask) if coco else ()
        groups = {a.group for a in item.annotations if a.type in main and a.group}
        extra = (AnnotationType.bbox, AnnotationType.polygon) if keypoints else (
            AnnotationType.bbox,)
        skip = {id(a) for a in item.annotations
                if a.group in groups and a.type in extra and a.type not in main}
        for n, ann in enumerate(item.annotations):
            if id(ann) in skip:
                continue
            at = f"{where}, annotation {n + 1}"
            label = self.label(ann, at)
            if label is None or (label == "background" and label not in self.attributes):
                continue
            found = self.one(ann, label, frame, at)
            if found is not None:
                yield ("tags" if "type" not in found else "shapes"), found

    def one(self, ann: Any, label: str, frame: int, where: str) -> Annotation | None:
        raw = dict(ann.attributes or {})
        declared = self.attributes.get(label, set())
        out: Annotation = {
            "frame": frame, "label": label, "group": int(ann.group or 0), "where": where,
            "attributes": {k: _text(v) for k, v in raw.items()
                           if k in declared and k not in _FIELDS}}
        kind = ann.type
        if kind == AnnotationType.label:
            return out
        if kind == AnnotationType.caption:  # ICDAR word recognition: a tag with its text
            out["attributes"]["text"] = ann.caption
            return out
        out.update(occluded=_true(raw.get("occluded")), z_order=int(ann.z_order or 0)
                   if hasattr(ann, "z_order") else 0, rotation=0.0, outside=False)
        if raw.get("track_id") is not None:
            out["track_id"] = int(raw["track_id"])
        if kind == AnnotationType.bbox:
            x, y, w, h = ann.get_bbox()
            out.update(type="rectangle", points=[x, y, x + w, y + h],
                       rotation=float(raw.get("rotation") or 0))
        elif kind in (AnnotationType.polygon, AnnotationType.polyline):
            out.update(type="polygon" if kind == AnnotationType.polygon else "polyline",
                       points=[float(v) for v in ann.points])
        elif kind == AnnotationType.ellipse:
            out.update(type="ellipse", points=[ann.c_x, ann.c_y, ann.x2, ann.y1])
        elif kind == AnnotationType.mask:
            points = mask_points(np.asarray(ann.image, dtype=bool))
            if points is None:
                return None
            out.update(type="mask", points=points)
        elif kind == AnnotationType.points:
            self.points(ann, out)
        else:
            raise DatasetFormatError(f"{where}: {kind.name} annotations cannot be imported")
        return out

    def points(self, ann: Any, out: Annotation) -> None:
        coords = [float(v) for v in ann.points]
        elements = self.elements.get(out["label"])
        if elements is None:
            out.update(type="points", points=coords)
            return
        visibility = list(ann.visibility or [2] * (len(coords) // 2))
        parts = []
        for i, name in enumerate(elements[:len(coords) // 2]):
            seen = int(visibility[i]) if i < len(visibility) else 2
            parts.append({"frame": out["frame"], "label": name, "type": "points",
                          "points": coords[2 * i:2 * i + 2], "outside": seen == 0,
                          "occluded": seen == 1, "attributes": {}, "group": 0,
                          "z_order": 0, "rotation": 0.0})
        out.update(type="skeleton", points=[], elements=parts)


def as_tracks(shapes: list[Annotation], last_frame: int) -> list[Annotation]:
    """Shapes with a ``track_id`` grouped into tracks, each shape a key frame, an ``outside``
    key frame after the last shape unless it is on the last frame."""
    by_id: dict[int, list[Annotation]] = {}
    for shape in shapes:
        by_id.setdefault(shape.pop("track_id"), []).append(shape)
    tracks = []
    for items in by_id.values():
        items.sort(key=lambda s: s["frame"])
        first = items[0]
        keyframes = [dict(s, keyframe=True) for s in items]
        if items[-1]["frame"] < last_frame:
            keyframes.append(dict(items[-1], frame=items[-1]["frame"] + 1, outside=True,
                                  keyframe=True))
        for shape in keyframes:
            shape.pop("label", None)
            shape.pop("group", None)
        tracks.append({"frame": first["frame"], "label": first["label"],
                       "group": first.get("group", 0), "source": "file",
                       "attributes": {}, "shapes": keyframes, "where": first["where"]})
    return tracks


def mask_points(image: np.ndarray) -> list[float] | None:
    """CVAT's mask points of a bitmap: RLE over the box of its set pixels (starting with a
    run of unset ones), then left, top, right, bottom; None when no pixel is set."""
    ys, xs = np.nonzero(image)
    if not len(ys):
        return None
    top, bottom, left, right = int(ys.min()), int(ys.max()), int(xs.min()), int(xs.max())
    box = image[top:bottom + 1, left:right + 1].ravel()
    changes = np.flatnonzero(box[1:] != box[:-1]) + 1
    runs = np.diff(np.concatenate(([0], changes, [box.size]))).tolist()
    if box[0]:
        runs.insert(0, 0)
    return [*(float(r) for r in runs), left, top, right, bottom]


def _true(value: Any) -> bool:
    return value is True or str(value).lower() in ("1", "true")


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)
