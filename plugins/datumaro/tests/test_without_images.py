"""Every format this plugin offers, exported without images, reads back to the same
annotations as its export with images (in process: datumaro's readers want image sizes or
folders that only the images would give; the plugin supplies them from the task's frames)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
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

from .core_access import archive_roundtrip

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # datumaro on numpy 2

LABELS = [DatasetLabel("person", color="#00ff00"),
          DatasetLabel("icdar", attributes=(DatasetAttribute("text", "text"),)),
          DatasetLabel("market-1501", attributes=tuple(
              DatasetAttribute(n, "text") for n in ("query", "person_id", "camera_id")))]
#: Market-1501's pattern, so that its reader finds the frames again.
NAMES = [f"000{i + 1}_c1s1_00000{i}_00.png" for i in range(2)]
FRAMES = [(i, name, 64, 48) for i, name in enumerate(NAMES)]


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 100, 150)).save(buf, "PNG")
    return buf.getvalue()


#: Formats whose images are of one person (the image's one tag).
ONE_TAG = {"LFW 1.0", "VGGFace2 1.0"}


def _frames(one_tag: bool) -> Iterator[DatasetFrame]:
    for i, name, width, height in FRAMES:
        tags = [{"label": "person"}, {"label": "icdar", "attributes": {"text": "w"}},
                {"label": "market-1501", "attributes": {
                    "query": "false", "person_id": f"000{i + 1}", "camera_id": "0"}}]
        yield DatasetFrame(
            index=i, name=name, width=width, height=height, image=_png, image_ext=".png",
            tags=tags[:1] if one_tag else tags,
            shapes=[{"type": "rectangle", "label": "person", "points": [1, 2, 30, 20],
                     "track_id": 1, "keyframe": True},
                    {"type": "polygon", "label": "icdar", "points": [32, 1, 40, 1, 40, 9, 32, 9],
                     "attributes": {"text": "p"}},
                    {"type": "mask", "label": "person", "points": [1, 3, 1, 4, 40, 30, 42, 32]},
                    {"type": "points", "label": "person", "points": [3, 3, 7, 9, 5, 5, 6, 6,
                                                                     8, 8]}])


def _frame_of(name: str, where: str) -> int:
    for i, frame, _, _ in FRAMES:
        if name.rsplit("/", 1)[-1] in (frame, frame[:-4]):
            return i
    raise DatasetFormatError(f"{where}: the frame {name!r} is not in the task")


def _roundtrip(fmt: Any, images: bool, one_tag: bool) -> list[tuple[Any, ...]]:
    found = archive_roundtrip(
        fmt.exporter, ExportDataset(kind="task", name="t", labels=LABELS, save_images=images,
                                    frames=lambda: _frames(one_tag)),
        fmt.importer, ImportContext(labels=LABELS, frames=FRAMES, frame_of=_frame_of))
    return sorted((kind, a["frame"], a["label"], a.get("type", "tag"),
                   tuple(round(float(p), 1) for p in a.get("points", [])),
                   tuple(sorted(a.get("attributes", {}).items())), len(a.get("shapes", [])))
                  for kind, a in found.stream)


@pytest.mark.parametrize("name", sorted(s.name for s in SPECS if s.exporter and s.importers))
def test_an_export_without_images_reads_back_as_one_with_them(name: str) -> None:
    fmt = next(s for s in SPECS if s.name == name).as_format()
    logging.disable(logging.WARNING)
    try:
        with_images = _roundtrip(fmt, True, name in ONE_TAG)
        without = _roundtrip(fmt, False, name in ONE_TAG)
    finally:
        logging.disable(logging.NOTSET)
    assert with_images and without == with_images
