"""The plugin's copies of the formats the core has (registered as fallbacks, so never served
while the core's exist) checked against the core's own writers and readers, in process:
the core's export read by datumaro, and datumaro's export read by the core."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from cvatcore_datumaro.catalogue import SPECS
from PIL import Image

from cvatcore.hooks.datasets import (
    DatasetAttribute,
    DatasetFormatError,
    DatasetFrame,
    DatasetLabel,
    ExportDataset,
    ImportContext,
)

from .core_access import archive_roundtrip, formats

# datumaro calls numpy 2 in ways it deprecates; the suite makes warnings errors.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

LABELS = [DatasetLabel("car", color="#ff0000", attributes=(
    DatasetAttribute("color", "select", values=("red", "blue")),)),
    DatasetLabel("person", color="#00ff00")]
MASK = [1, 3, 1, 4, 10, 12, 12, 14]
BOX = {"type": "rectangle", "label": "car", "points": [1, 2, 30, 20],
       "attributes": {"color": "blue"}, "occluded": True}
SHAPES = {
    0: [BOX],
    1: [{"type": "polygon", "label": "person", "points": [1, 1, 20, 1, 20, 20, 1, 20]}],
    2: [{"type": "mask", "label": "person", "points": MASK},
        {"type": "rectangle", "label": "person", "points": [10, 12, 40, 44]}],
}
FRAMES = [(i, f"img_{i:03d}.png", 64, 48) for i in range(3)]
#: The shapes each format keeps: boxes only, or every shape above.
BOXES_ONLY = {"PASCAL VOC 1.1", "YOLO 1.1", "Ultralytics YOLO Detection 1.0"}
NO_OCCLUSION = {"YOLO 1.1", "Ultralytics YOLO Detection 1.0"}


def _png(i: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (i * 40, 100, 150)).save(buf, "PNG")
    return buf.getvalue()


def _frames() -> Iterator[DatasetFrame]:
    for i, name, width, height in FRAMES:
        yield DatasetFrame(index=i, name=name, width=width, height=height,
                           shapes=[dict(s) for s in SHAPES[i]],
                           image=lambda i=i: _png(i), image_ext=".png")


def _frame_of(name: str, where: str) -> int:
    for i, frame, _, _ in FRAMES:
        if name.rsplit("/", 1)[-1] in (frame, frame[:-4]):
            return i
    raise DatasetFormatError(f"{where}: the frame {name!r} is not in the task")


def _run(exporter: Callable[..., None], importer: Callable[..., Any]) -> list[tuple[Any, ...]]:
    result = archive_roundtrip(
        exporter, ExportDataset(kind="task", name="t", labels=LABELS, save_images=True,
                                frames=_frames),
        importer, ImportContext(labels=LABELS, frames=FRAMES, frame_of=_frame_of))
    shapes = list(result.shapes) + [a for kind, a in result.stream if kind == "shapes"]
    return sorted((a["frame"], a["label"], a["type"], tuple(round(float(p), 1) for p in
                   a["points"]), bool(a.get("occluded")),
                   tuple(sorted((a.get("attributes") or {}).items()))) for a in shapes)


def _expected(fmt: str) -> list[tuple[Any, ...]]:
    shapes = [dict(s, frame=f) for f, items in SHAPES.items() for s in items
              if fmt not in BOXES_ONLY or s["type"] == "rectangle"]
    return sorted((s["frame"], s["label"], s["type"], tuple(float(p) for p in s["points"]),
                   bool(s.get("occluded")) and fmt not in NO_OCCLUSION,
                   tuple(sorted(s.get("attributes", {}).items()))
                   if fmt not in NO_OCCLUSION else ()) for s in shapes)


def _core() -> Any:
    return formats()


PAIRS = {  # format -> its importer's name (CVAT XML is read as "CVAT 1.1")
    "COCO 1.0": "COCO 1.0", "PASCAL VOC 1.1": "PASCAL VOC 1.1", "YOLO 1.1": "YOLO 1.1",
    "Ultralytics YOLO Detection 1.0": "Ultralytics YOLO Detection 1.0",
    "CVAT for images 1.1": "CVAT 1.1", "Datumaro 1.0": "Datumaro 1.0",
}
MINE = {spec.name: spec.as_format() for spec in SPECS if spec.builtin}


def test_every_fallback_is_checked() -> None:
    assert set(MINE) == set(PAIRS) | set(PAIRS.values()) | {"Segmentation mask 1.1"}  # below


@pytest.mark.parametrize("fmt", sorted(PAIRS))
def test_datumaro_reads_the_core_export(fmt: str) -> None:
    logging.disable(logging.WARNING)
    try:
        run = lambda: _run(_core().all[fmt].exporter, MINE[PAIRS[fmt]].importer)  # noqa: E731
        if fmt == "Datumaro 1.0":  # the core writes RLE counts as a list; datumaro reads
            with pytest.raises(DatasetFormatError, match="'list' object has no attribute"):
                run()  # COCO's compressed strings only
            return
        assert run() == _expected(fmt)
    finally:
        logging.disable(logging.NOTSET)


@pytest.mark.parametrize("fmt", sorted(f for f in PAIRS if MINE[f].exporter))
def test_the_core_reads_the_datumaro_export(fmt: str) -> None:
    logging.disable(logging.WARNING)
    try:
        run = lambda: _run(MINE[fmt].exporter, _core().all[PAIRS[fmt]].importer)  # noqa: E731
        if fmt == "Datumaro 1.0":  # datumaro writes compressed RLE; the core reads lists
            with pytest.raises(DatasetFormatError, match="uncompressed RLE"):
                run()
            return
        found = run()
    finally:
        logging.disable(logging.NOTSET)
    expected = _expected(fmt)
    if fmt == "CVAT for images 1.1":  # datumaro writes a mask over the whole image, uncropped
        [mask] = [s for s in found if s[2] == "mask"]
        assert mask[3][-4:] == (0.0, 0.0, 63.0, 47.0)
        found = [s for s in found if s[2] != "mask"]
        expected = [s for s in expected if s[2] != "mask"]
    assert found == expected


def test_segmentation_masks_both_ways() -> None:
    """Painted per instance both ways; datumaro paints a box without its right and bottom
    edge (x2, y2 exclusive), the core with them, as CVAT's boxes are inclusive."""
    logging.disable(logging.WARNING)
    try:
        read = _run(_core().all["Segmentation mask 1.1"].exporter,
                    MINE["Segmentation mask 1.1"].importer)
        written = _run(MINE["Segmentation mask 1.1"].exporter,
                       _core().all["Segmentation mask 1.1"].importer)
    finally:
        logging.disable(logging.NOTSET)
    boxes = [(s[0], s[1], s[2], s[3][-4:]) for s in read]
    assert boxes == [(0, "car", "mask", (1.0, 2.0, 30.0, 20.0)),
                     (1, "person", "mask", (1.0, 1.0, 20.0, 20.0)),
                     (2, "person", "mask", (10.0, 12.0, 40.0, 44.0))]
    assert [(s[0], s[1], s[2], s[3][-4:]) for s in written] == [
        (f, label, kind, (x1, y1, x2 - 1, y2 - 1)) for f, label, kind, (x1, y1, x2, y2) in boxes]
