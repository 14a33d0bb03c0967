"""COCO 1.0 (instances): ``annotations/instances_<subset>.json`` (+ ``images/<subset>/``).

Boxes are annotations with an empty ``segmentation``; polygons keep theirs; masks are
uncompressed RLE (COCO's column-major ``counts``, ``iscrowd`` 1). CVAT's attributes and
``occluded`` go in each annotation's ``attributes``. Only the instances file is read back."""

from __future__ import annotations

import io
import posixpath
import shutil
import tempfile
from collections.abc import Iterator
from typing import Any

import orjson

from cvatcore.core.datasets.jsonstream import ARRAY, members
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
SPREAD = frozenset({"annotations", "images"})


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


def _box(shape: Annotation) -> tuple[float, float, float, float]:
    """``bbox`` with the common types' shortcuts (a box's points are its corners)."""
    kind, p = shape["type"], shape["points"]
    if kind == "rectangle":
        x0, y0, x1, y1 = p
        x, y = min(x0, x1), min(y0, y1)
        return x, y, max(x0, x1) - x, max(y0, y1) - y
    if kind == "polygon":
        xs, ys = p[0::2], p[1::2]
        x, y = min(xs), min(ys)
        return x, y, max(xs) - x, max(ys) - y
    return bbox(shape)


def _annotation(shape: Annotation, frame: Any, ann_id: int, image_id: int,
                category: int) -> Annotation:
    attributes = dict(shape["attributes"]) if shape.get("attributes") else {}
    attributes["occluded"] = bool(shape.get("occluded"))
    if shape.get("track_id") is not None:
        attributes["track_id"] = shape["track_id"]
        attributes["keyframe"] = bool(shape.get("keyframe"))
    x, y, w, h = _box(shape)
    segmentation: Any = []
    area, crowd = w * h, 0
    if shape["type"] == "polygon":
        segmentation = [shape["points"]]
        area = polygon_area(shape["points"])
    elif shape["type"] == "mask":
        segmentation, area = _rle(shape, frame.width, frame.height)
        crowd = 1
    return {"id": ann_id, "image_id": image_id, "category_id": category,
            "segmentation": segmentation, "area": area, "bbox": [x, y, w, h], "iscrowd": crowd,
            "attributes": attributes, "group": shape.get("group", 0),
            "z_order": shape.get("z_order", 0)}


HEAD = {"licenses": [{"name": "", "id": 0, "url": ""}],
        "info": {"contributor": "", "date_created": "", "description": "", "url": "",
                 "version": "", "year": ""}}


def _write_subset(out: Any, dataset: ExportDataset, subset: str, categories: dict[str, int]
                  ) -> Iterator[Any]:
    """Stream one subset's JSON: images as the frames pass, annotations after (one
    ``orjson.dumps`` per frame, not per annotation)."""
    head = {**HEAD, "categories": [{"id": cid, "name": name, "supercategory": ""}
                                   for name, cid in categories.items()]}
    out.write(_dumps(head)[:-1] + ',"images":[')
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
        kept = []
        for shape in frame.shapes:
            if shape["type"] in KEPT and not shape.get("outside"):
                count += 1
                kept.append(_annotation(shape, frame, count, image_id,
                                        categories[shape["label"]]))
        if kept:
            text = _dumps(kept)
            spool.write(("," if count > len(kept) else "") + text[1:-1])
        yield frame
    out.write('],"annotations":[')
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
    if not isinstance(ann, dict):
        raise DatasetFormatError(f"{where}: an annotation must be an object")
    try:
        frame = images[ann["image_id"]]
        label = categories[ann["category_id"]]
    except KeyError as exc:
        raise DatasetFormatError(f"{where}: unknown image or category id {exc}") from None
    attributes = ann.get("attributes")
    occluded = False
    if attributes:
        attributes = dict(attributes)
        occluded = bool(attributes.pop("occluded", False))
        attributes.pop("track_id", None)
        attributes.pop("keyframe", None)
        attributes = {k: str(v).lower() if isinstance(v, bool) else str(v)
                      for k, v in attributes.items()}
    seg = ann.get("segmentation")
    if isinstance(seg, dict):
        kind, points = "mask", _mask_from_rle(seg, where)
        if points is None:
            return None
    elif isinstance(seg, list) and seg:
        kind, points = "polygon", [float(v) for v in seg[0]]
    else:
        try:
            x, y, w, h = (float(v) for v in ann["bbox"])
        except (KeyError, TypeError, ValueError):
            raise DatasetFormatError(f"{where}: bbox must be [x, y, w, h]") from None
        kind, points = "rectangle", [x, y, x + w, y + h]
    return {"frame": frame, "label": label, "type": kind, "points": points,
            "occluded": occluded, "attributes": attributes or {},
            "group": int(ann.get("group", 0) or 0), "z_order": int(ann.get("z_order", 0) or 0),
            "where": where}


def _annotations(archive: ArchiveReader, name: str, context: ImportContext
                 ) -> Iterator[tuple[str, Annotation]]:
    """One instances file's annotations as they are read (``jsonstream``; images too, one
    at a time into the map of image ids, so memory follows neither list): images and
    categories come first in the files COCO tools write; when the annotations come first, a
    first pass reads only the images and categories."""
    images: dict[Any, int] | None = None
    categories: dict[Any, str] | None = None
    late = False
    seen = 0  # images read
    for second in (False, True):
        index = 0
        with archive.open(name) as raw:
            for key, value in members(raw, name, SPREAD):
                if key == "images" and not second:
                    if value is ARRAY:
                        images = {}
                    elif images is None:
                        raise DatasetFormatError(f"{name}: not a COCO file ('images' is not "
                                                 "a list)")
                    else:
                        _image(value, images, f"{name}: images[{seen}]", context)
                        seen += 1
                elif key == "categories" and not second:
                    categories = _categories(value, name)
                elif key == "annotations" and value is not ARRAY:
                    if images is None or categories is None:
                        late = True  # before the lists: read on, and again afterwards
                        continue
                    shape = _read_annotation(value, images, categories,
                                             f"{name}: annotations[{index}]")
                    index += 1
                    if shape is not None:
                        yield "shapes", shape
        if images is None:
            raise DatasetFormatError(f"{name}: not a COCO file (no 'images' list)")
        if not late:
            return
        categories = categories or {}


def _image(value: Any, images: dict[Any, int], where: str, context: ImportContext) -> None:
    try:
        images[value["id"]] = context.frame_of(str(value.get("file_name", "")), where)
    except (KeyError, TypeError, AttributeError):
        raise DatasetFormatError(f"{where}: each image needs an id and a file_name") from None


def _categories(value: Any, name: str) -> dict[Any, str]:
    try:
        return {c["id"]: c["name"] for c in value}
    except (KeyError, TypeError):
        raise DatasetFormatError(f"{name}: categories: each needs an id and a name") from None


def import_coco(archive: ArchiveReader, context: ImportContext) -> ImportedAnnotations:
    names = [n for n in archive.names() if n.lower().endswith(".json")
             and not posixpath.basename(n).startswith("person_keypoints")]
    if not names:
        raise DatasetFormatError(f"{archive.filename}: no instances_*.json file found")
    return ImportedAnnotations(stream=(
        item for name in names for item in _annotations(archive, name, context)))
