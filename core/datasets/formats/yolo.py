"""YOLO 1.1 (darknet): ``obj.names``, ``obj.data``, ``train.txt`` and
``obj_train_data/<frame>.txt`` with ``class cx cy w h`` normalized to the image size; only
unrotated boxes are kept (other shapes are not part of the format)."""

from __future__ import annotations

import posixpath
from typing import Any

from cvatcore.hooks.datasets import (
    ArchiveReader,
    ArchiveWriter,
    DatasetFormatError,
    ExportDataset,
    ImportContext,
    ImportedAnnotations,
)

DATA_DIR = "obj_train_data"


def _stem(name: str) -> str:
    return posixpath.splitext(name)[0]


def box_lines(frame: Any, index: dict[str, int]) -> str:
    """``class cx cy w h`` lines (normalized, 6 decimals) of a frame's unrotated boxes."""
    lines = []
    for shape in frame.shapes:
        if shape["type"] != "rectangle" or shape.get("outside") or shape.get("rotation"):
            continue
        x1, y1, x2, y2 = shape["points"]
        w, h = frame.width or 1, frame.height or 1
        lines.append(f"{index[shape['label']]} {(x1 + x2) / 2 / w:.6f} "
                     f"{(y1 + y2) / 2 / h:.6f} {(x2 - x1) / w:.6f} {(y2 - y1) / h:.6f}\n")
    return "".join(lines)


def export_yolo(dataset: ExportDataset, archive: ArchiveWriter) -> None:
    names = [label.name for label in dataset.labels if not label.parent]
    index = {name: i for i, name in enumerate(names)}
    archive.write("obj.names", "".join(f"{n}\n" for n in names))
    archive.write("obj.data", f"classes = {len(names)}\ntrain = data/train.txt\n"
                              "names = data/obj.names\nbackup = backup/\n")
    listing: list[str] = []
    for frame in dataset.frames():
        archive.write(f"{DATA_DIR}/{_stem(frame.name)}.txt", box_lines(frame, index))
        listing.append(f"data/{DATA_DIR}/{frame.name}\n")
        if dataset.save_images:
            archive.write(f"{DATA_DIR}/{frame.name}", frame.image())
    archive.write("train.txt", "".join(listing))


def _names(archive: ArchiveReader, context: ImportContext) -> list[str]:
    found = [n for n in archive.names() if posixpath.basename(n) == "obj.names"]
    if not found:
        return [label.name for label in context.labels if not label.parent]
    text = archive.read(found[0]).decode("utf-8", "replace")
    return [line.strip() for line in text.splitlines() if line.strip()]


def _line(line: str, where: str, names: list[str]) -> tuple[str, list[float]]:
    parts = line.split()
    if len(parts) != 5:
        raise DatasetFormatError(f"{where}: expected 'class cx cy w h', got {line.strip()!r}")
    try:
        cls = int(parts[0])
        cx, cy, w, h = (float(v) for v in parts[1:])
    except ValueError:
        raise DatasetFormatError(f"{where}: not numbers: {line.strip()!r}") from None
    if not 0 <= cls < len(names):
        raise DatasetFormatError(f"{where}: class {cls} is not in obj.names "
                                 f"({len(names)} classes)")
    return names[cls], [cx, cy, w, h]


def import_yolo(archive: ArchiveReader, context: ImportContext) -> ImportedAnnotations:
    names = _names(archive, context)
    sizes = {index: (w, h) for index, _, w, h in context.frames}
    result = ImportedAnnotations()
    files = [n for n in archive.names() if n.endswith(".txt")
             and posixpath.basename(n) not in ("train.txt", "valid.txt", "test.txt")]
    for name in files:
        stem = name.split(f"{DATA_DIR}/", 1)[-1]
        frame = context.frame_of(_stem(stem), name)
        width, height = sizes.get(frame, (1, 1))
        text = archive.read(name).decode("utf-8", "replace")
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            where = f"{name}:{number}"
            label, (cx, cy, w, h) = _line(line, where, names)
            points = [(cx - w / 2) * width, (cy - h / 2) * height,
                      (cx + w / 2) * width, (cy + h / 2) * height]
            result.shapes.append({"frame": frame, "label": label, "type": "rectangle",
                                  "points": points, "where": where})
    return result
