"""Datumaro 1.0: ``annotations/<subset>.json`` (+ ``images/<subset>/``): every shape type of
CVAT (boxes, polygons, polylines, points, ellipses, masks, skeletons, tags) with attributes,
groups and z-order; masks as uncompressed RLE over the image."""

from __future__ import annotations

import io
import json
import posixpath
from typing import Any

from cvatcore.core.datasets.formats.coco import _mask_from_rle, _rle
from cvatcore.hooks.datasets import (
    ArchiveReader,
    ArchiveWriter,
    DatasetFormatError,
    ExportDataset,
    ImportContext,
    ImportedAnnotations,
)

Annotation = dict[str, Any]
TYPES = {"rectangle": "bbox", "polygon": "polygon", "polyline": "polyline", "points": "points",
         "ellipse": "ellipse", "mask": "mask", "skeleton": "skeleton", "cuboid": "cuboid_2d"}
SHAPES = {v: k for k, v in TYPES.items()}


def _categories(dataset: ExportDataset) -> tuple[dict[str, Any], dict[str, int]]:
    index = {label.name if not label.parent else f"{label.parent}/{label.name}": i
             for i, label in enumerate(dataset.labels)}
    labels = [{"name": label.name, "parent": label.parent or "",
               "attributes": [a.name for a in label.attributes]} for label in dataset.labels]
    return {"label": {"labels": labels, "attributes": ["occluded"]}}, index


def _ann(shape: Annotation, frame: Any, ann_id: int, index: dict[str, int],
         parent: str | None = None) -> Annotation:
    key = f"{parent}/{shape['label']}" if parent else shape["label"]
    attributes = dict(shape.get("attributes", {}))
    attributes["occluded"] = bool(shape.get("occluded"))
    if shape.get("rotation"):
        attributes["rotation"] = shape["rotation"]
    if shape.get("track_id") is not None:
        attributes.update(track_id=shape["track_id"], keyframe=bool(shape.get("keyframe")))
    out: Annotation = {"id": ann_id, "type": TYPES.get(shape["type"], "label"),
                       "attributes": attributes, "group": shape.get("group", 0),
                       "label_id": index[key], "z_order": shape.get("z_order", 0)}
    if shape["type"] == "rectangle":
        x1, y1, x2, y2 = shape["points"]
        out["bbox"] = [x1, y1, x2 - x1, y2 - y1]
    elif shape["type"] == "mask":
        out["rle"] = _rle(shape, frame.width, frame.height)[0]
    elif shape["type"] == "skeleton":
        out["elements"] = [_ann(e, frame, 0, index, shape["label"])
                           for e in shape.get("elements", [])]
    elif "points" in shape:
        out["points"] = list(shape["points"])
    if shape["type"] == "points" or parent:
        out["visibility"] = [1 if shape.get("outside") else 2] * (len(shape["points"]) // 2)
    return out


def export_datumaro(dataset: ExportDataset, archive: ArchiveWriter) -> None:
    categories, index = _categories(dataset)
    for subset in dataset.subsets:
        with archive.open(f"annotations/{subset}.json") as raw, \
                io.TextIOWrapper(raw, "utf-8") as out:
            out.write('{"info": {}, "categories": ' + json.dumps(categories) + ', "items": [')
            first = True
            for frame in dataset.frames():
                if frame.subset != subset:
                    continue
                anns = [{"id": i, "type": "label", "attributes": t.get("attributes", {}),
                         "group": t.get("group", 0), "label_id": index[t["label"]]}
                        for i, t in enumerate(frame.tags)]
                anns += [_ann(s, frame, len(anns) + i, index) for i, s in
                         enumerate(s for s in frame.shapes if not s.get("outside"))]
                item = {"id": posixpath.splitext(frame.name)[0], "annotations": anns,
                        "attr": {"frame": frame.index},
                        "image": {"path": frame.name, "size": [frame.height, frame.width]}}
                out.write(("" if first else ", ") + json.dumps(item))
                first = False
                if dataset.save_images:
                    archive.write(f"images/{subset}/{frame.name}", frame.image())
            out.write("]}")


def _shape(ann: Annotation, labels: list[tuple[str, str]], frame: int, where: str
           ) -> Annotation:
    try:
        parent, label = labels[int(ann["label_id"])]
    except (KeyError, IndexError, ValueError, TypeError):
        raise DatasetFormatError(f"{where}: unknown label_id {ann.get('label_id')!r}") from None
    attributes = {k: str(v).lower() if isinstance(v, bool) else str(v)
                  for k, v in (ann.get("attributes") or {}).items()
                  if k not in ("occluded", "rotation", "track_id", "keyframe")}
    raw = ann.get("attributes") or {}
    out: Annotation = {"frame": frame, "label": label, "attributes": attributes,
                       "group": int(ann.get("group", 0) or 0), "where": where,
                       "z_order": int(ann.get("z_order", 0) or 0),
                       "occluded": bool(raw.get("occluded", False)),
                       "rotation": float(raw.get("rotation", 0) or 0)}
    kind = ann.get("type")
    if kind == "label":
        return {**out, "tag": True}
    if kind not in SHAPES:
        raise DatasetFormatError(f"{where}: unknown annotation type {kind!r}")
    out["type"] = SHAPES[kind]
    if kind == "bbox":
        x, y, w, h = (float(v) for v in ann["bbox"])
        out["points"] = [x, y, x + w, y + h]
    elif kind == "mask":
        points = _mask_from_rle(ann.get("rle") or {}, where)
        if points is None:
            return {}
        out["points"] = points
    elif kind == "skeleton":
        out["points"] = []
        out["elements"] = [_shape(e, labels, frame, f"{where}.elements[{i}]")
                           for i, e in enumerate(ann.get("elements", []))]
    else:
        out["points"] = [float(v) for v in ann.get("points", [])]
    if ann.get("visibility") and kind in ("points",):
        out["outside"] = all(v == 1 for v in ann["visibility"])
    return out


def import_datumaro(archive: ArchiveReader, context: ImportContext) -> ImportedAnnotations:
    names = [n for n in archive.names() if n.lower().endswith(".json")]
    if not names:
        raise DatasetFormatError(f"{archive.filename}: no annotations/<subset>.json found")
    result = ImportedAnnotations()
    for name in names:
        try:
            doc = json.loads(archive.read(name))
            labels = [(c.get("parent") or "", c["name"])
                      for c in doc["categories"]["label"]["labels"]]
            items = doc["items"]
        except (ValueError, KeyError, TypeError) as exc:
            raise DatasetFormatError(f"{name}: not a Datumaro file ({exc})") from None
        for i, item in enumerate(items):
            where = f"{name}: items[{i}]"
            path = (item.get("image") or {}).get("path") or item.get("id", "")
            frame = context.frame_of(str(path), where)
            for j, ann in enumerate(item.get("annotations", [])):
                shape = _shape(ann, labels, frame, f"{where}.annotations[{j}]")
                if not shape:
                    continue
                if shape.pop("tag", False):
                    result.tags.append(shape)
                else:
                    result.shapes.append(shape)
    return result
