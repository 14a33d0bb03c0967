"""COCO 1.0 (instances): ``annotations/instances_<subset>.json`` (+ ``images/<subset>/``).

Boxes are annotations with an empty ``segmentation``; polygons keep theirs; masks are
uncompressed RLE (COCO's column-major ``counts``, ``iscrowd`` 1). CVAT's attributes and
``occluded`` go in each annotation's ``attributes``. Only the instances file is read back."""

from __future__ import annotations

import io
import json
import posixpath
import shutil
import tempfile
from collections.abc import Iterator
from typing import Any

import orjson

from cvatcore.core.datasets.shapes import bbox, bitmap_to_mask, full_bitmap, polygon_area
from cvatcore.hooks.datasets import (
    ArchiveReader,
    ArchiveWriter,
    DatasetFormatError,
    ExportDataset,
    ImportContext,
    ImportedAnnotations,
)

Annotation = dict[str, Any]
KEPT = ("rectangle", "polygon", "mask")


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def _rle(shape: Annotation, width: int, height: int) -> tuple[dict[str, Any], int]:
    """A mask as COCO's uncompressed RLE: runs over the image in column-major order."""
    full = full_bitmap(shape["points"], width, height)
    counts, value, run, area = [], 0, 0, 0
    for x in range(width):
        for y in range(height):
            v = full[y * width + x]
            area += v
            if v != value:
                counts.append(run)
                value, run = v, 0
            run += 1
    counts.append(run)
    return {"counts": counts, "size": [height, width]}, area


def _annotation(shape: Annotation, frame: Any, ann_id: int, image_id: int,
                category: int) -> Annotation:
    attributes = dict(shape.get("attributes", {}))
    attributes["occluded"] = bool(shape.get("occluded"))
    if shape.get("track_id") is not None:
        attributes["track_id"] = shape["track_id"]
        attributes["keyframe"] = bool(shape.get("keyframe"))
    x, y, w, h = bbox(shape)
    segmentation: Any = []
    area, crowd = w * h, 0
    if shape["type"] == "polygon":
        segmentation = [list(shape["points"])]
        area = polygon_area(shape["points"])
    elif shape["type"] == "mask":
        segmentation, area = _rle(shape, frame.width, frame.height)
        crowd = 1
    return {"id": ann_id, "image_id": image_id, "category_id": category,
            "segmentation": segmentation, "area": area, "bbox": [x, y, w, h], "iscrowd": crowd,
            "attributes": attributes, "group": shape.get("group", 0),
            "z_order": shape.get("z_order", 0)}


def _write_subset(out: Any, dataset: ExportDataset, subset: str, categories: dict[str, int]
                  ) -> Iterator[Any]:
    """Stream one subset's JSON: images as the frames pass, annotations after."""
    head = {"licenses": [{"name": "", "id": 0, "url": ""}],
            "info": {"contributor": "", "date_created": "", "description": "", "url": "",
                     "version": "", "year": ""},
            "categories": [{"id": cid, "name": name, "supercategory": ""}
                           for name, cid in categories.items()]}
    out.write(json.dumps(head)[:-1] + ', "images": [')
    # annotations follow the images in the file: they wait in a temporary file, not in memory
    spool = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115 - closed below
    count = 0
    image_id = 0
    for frame in dataset.frames():
        if frame.subset != subset:
            continue
        image_id += 1
        out.write(("," if image_id > 1 else "") + _dumps({
            "id": image_id, "width": frame.width, "height": frame.height,
            "file_name": frame.name, "license": 0, "flickr_url": "", "coco_url": "",
            "date_captured": 0}))
        for shape in frame.shapes:
            if shape["type"] in KEPT and not shape.get("outside"):
                count += 1
                spool.write(("," if count > 1 else "") + _dumps(_annotation(
                    shape, frame, count, image_id, categories[shape["label"]])))
        yield frame
    out.write('], "annotations": [')
    with spool:
        spool.seek(0)
        shutil.copyfileobj(spool, out, 1 << 20)
    out.write("]}")


def export_coco(dataset: ExportDataset, archive: ArchiveWriter) -> None:
    categories = {label.name: i + 1 for i, label in enumerate(
        lbl for lbl in dataset.labels if not lbl.parent)}
    for subset in dataset.subsets:
        with archive.open(f"annotations/instances_{subset}.json") as raw, \
                io.TextIOWrapper(raw, "utf-8") as out:
            for _frame in _write_subset(out, dataset, subset, categories):
                pass
    if dataset.save_images:  # a second pass: one zip member is written whole at a time
        for frame in dataset.frames():
            archive.write(f"images/{frame.subset}/{frame.name}", frame.image())


def _mask_from_rle(seg: dict[str, Any], where: str) -> list[float] | None:
    counts, size = seg.get("counts"), seg.get("size")
    if not isinstance(counts, list) or not isinstance(size, list) or len(size) != 2:
        raise DatasetFormatError(f"{where}: only uncompressed RLE (a list of counts) is read")
    height, width = int(size[0]), int(size[1])
    bitmap = bytearray(width * height)
    pos, value = 0, 0
    for count in counts:
        if value:
            for p in range(pos, min(pos + int(count), width * height)):
                bitmap[(p % height) * width + p // height] = 1
        pos += int(count)
        value ^= 1
    return bitmap_to_mask(0, 0, width, height, bitmap)


def _read_annotation(ann: Annotation, images: dict[int, int], categories: dict[int, str],
                     where: str) -> Annotation | None:
    try:
        frame = images[ann["image_id"]]
        label = categories[ann["category_id"]]
    except KeyError as exc:
        raise DatasetFormatError(f"{where}: unknown image or category id {exc}") from None
    attributes = dict(ann.get("attributes") or {})
    occluded = bool(attributes.pop("occluded", False))
    attributes.pop("track_id", None)
    attributes.pop("keyframe", None)
    seg = ann.get("segmentation")
    shape: Annotation = {"frame": frame, "label": label, "occluded": occluded,
                         "attributes": {k: str(v).lower() if isinstance(v, bool) else str(v)
                                        for k, v in attributes.items()},
                         "group": int(ann.get("group", 0) or 0),
                         "z_order": int(ann.get("z_order", 0) or 0), "where": where}
    if isinstance(seg, dict):
        points = _mask_from_rle(seg, where)
        if points is None:
            return None
        return {**shape, "type": "mask", "points": points}
    if isinstance(seg, list) and seg:
        return {**shape, "type": "polygon", "points": [float(v) for v in seg[0]]}
    try:
        x, y, w, h = (float(v) for v in ann["bbox"])
    except (KeyError, TypeError, ValueError):
        raise DatasetFormatError(f"{where}: bbox must be [x, y, w, h]") from None
    return {**shape, "type": "rectangle", "points": [x, y, x + w, y + h]}


def import_coco(archive: ArchiveReader, context: ImportContext) -> ImportedAnnotations:
    names = [n for n in archive.names() if n.lower().endswith(".json")
             and not posixpath.basename(n).startswith("person_keypoints")]
    if not names:
        raise DatasetFormatError(f"{archive.filename}: no instances_*.json file found")
    result = ImportedAnnotations()
    for name in names:
        try:
            doc = json.loads(archive.read(name))
        except ValueError as exc:
            raise DatasetFormatError(f"{name}: not valid JSON ({exc})") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("images"), list):
            raise DatasetFormatError(f"{name}: not a COCO file (no 'images' list)")
        categories = {c["id"]: c["name"] for c in doc.get("categories", [])}
        images = {img["id"]: context.frame_of(str(img.get("file_name", "")),
                                              f"{name}: images[{i}]")
                  for i, img in enumerate(doc["images"])}
        for i, ann in enumerate(doc.get("annotations", [])):
            shape = _read_annotation(ann, images, categories, f"{name}: annotations[{i}]")
            if shape is not None:
                result.shapes.append(shape)
    return result
