"""Ultralytics YOLO Detection 1.0: ``data.yaml`` (``names``), ``train.txt``,
``labels/train/<frame>.txt`` (``class cx cy w h``, normalized) and ``images/train/`` when
images are saved; only unrotated boxes, as in YOLO 1.1."""

from __future__ import annotations

import posixpath
import re

from cvatcore.core.datasets.formats.yolo import _line, _stem, box_lines
from cvatcore.hooks.datasets import (
    ArchiveReader,
    ArchiveWriter,
    DatasetFormatError,
    ExportDataset,
    ImportContext,
    ImportedAnnotations,
)


def export_ultralytics(dataset: ExportDataset, archive: ArchiveWriter) -> None:
    names = [label.name for label in dataset.labels if not label.parent]
    index = {name: i for i, name in enumerate(names)}
    archive.write("data.yaml", "path: .\ntrain: train.txt\nnames:\n" + "".join(
        f"  {i}: {_quote(n)}\n" for i, n in enumerate(names)))
    listing = []
    for frame in dataset.frames():
        archive.write(f"labels/train/{_stem(frame.name)}.txt", box_lines(frame, index))
        listing.append(f"images/train/{frame.name}\n")
        if dataset.save_images:
            archive.write(f"images/train/{frame.name}", frame.image())
    archive.write("train.txt", "".join(listing))


def _quote(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def _names(archive: ArchiveReader) -> list[str]:
    found = [n for n in archive.names() if posixpath.basename(n) in ("data.yaml", "data.yml")]
    if not found:
        raise DatasetFormatError(f"{archive.filename}: data.yaml is missing")
    names: dict[int, str] = {}
    text = archive.read(found[0]).decode("utf-8", "replace")
    for number, line in enumerate(text.splitlines(), 1):
        match = re.match(r"^\s+(\d+):\s*(.*?)\s*$", line)
        if match:
            value = match.group(2)
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1].replace("''", "'") if value[0] == "'" else value[1:-1]
            names[int(match.group(1))] = value
        elif line.strip().startswith("names:") and line.strip() != "names:":
            raise DatasetFormatError(f"{found[0]}:{number}: write names as a mapping "
                                     "(one 'index: name' a line)")
    return [names[i] for i in sorted(names)]


def import_ultralytics(archive: ArchiveReader, context: ImportContext) -> ImportedAnnotations:
    names = _names(archive)
    sizes = {index: (w, h) for index, _, w, h in context.frames}
    result = ImportedAnnotations()
    for name in archive.names():
        if not (name.startswith("labels/") and name.endswith(".txt")):
            continue
        stem = name.split("/", 2)[-1] if name.count("/") >= 2 else name[len("labels/"):]
        frame = context.frame_of(_stem(stem), name)
        width, height = sizes.get(frame, (1, 1))
        for number, line in enumerate(archive.read(name).decode().splitlines(), 1):
            if not line.strip():
                continue
            where = f"{name}:{number}"
            label, (cx, cy, w, h) = _line(line, where, names)
            result.shapes.append({"frame": frame, "label": label, "type": "rectangle",
                                  "points": [(cx - w / 2) * width, (cy - h / 2) * height,
                                             (cx + w / 2) * width, (cy + h / 2) * height],
                                  "where": where})
    return result
