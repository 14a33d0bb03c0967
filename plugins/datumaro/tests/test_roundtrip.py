"""Round trips through cvat-sdk 2.80 against a real ``cvatcore serve``, one per format this
plugin offers: annotate a task with what the format holds, export it, import the archive into
a fresh task with the same labels, and compare (README: what each format drops)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cvat_sdk import models

from .support import MASK, MASK_B, comparable, shape, skeleton, tag, track

Data = models.LabeledDataRequest
BOX, BOX_B = [1.0, 2.0, 30.0, 20.0], [10.0, 12.0, 40.0, 44.0]
SQUARE = [1.0, 1.0, 20.0, 1.0, 20.0, 20.0, 1.0, 20.0]
FACE = [15.0, 20.0, 25.0, 20.0, 20.0, 28.0, 16.0, 35.0, 24.0, 35.0]


def _masks(t: Any) -> Data:
    return Data(shapes=[shape(t, "mask", 0, "car", MASK_B), shape(t, "mask", 0, "person", MASK),
                        shape(t, "mask", 2, "person", MASK)])


CASES: dict[str, Callable[[Any], Data]] = {
    "CamVid 1.0": _masks,
    "Cityscapes 1.0": _masks,
    "KITTI 1.0": lambda t: Data(shapes=[shape(t, "rectangle", 0, "car", BOX),
                                        shape(t, "rectangle", 2, "person", BOX_B)]),
    "COCO Keypoints 1.0": lambda t: Data(shapes=[
        skeleton(t, 0, [10, 10], [12, 30], occluded=True), skeleton(t, 2, [5, 6], [7, 8])]),
    "ICDAR Localization 1.0": lambda t: Data(shapes=[
        shape(t, "rectangle", 0, "icdar", BOX, {"text": "hello"}),
        shape(t, "polygon", 1, "icdar", SQUARE, {"text": "world"})]),
    "ICDAR Recognition 1.0": lambda t: Data(tags=[tag(t, 0, "icdar", {"text": "word0"}),
                                                  tag(t, 2, "icdar", {"text": "word2"})]),
    "ICDAR Segmentation 1.0": lambda t: Data(shapes=[
        shape(t, "mask", 0, "icdar", MASK, {"text": "a"}),
        shape(t, "mask", 2, "icdar", MASK_B, {"text": "b"})]),
    "ImageNet 1.0": lambda t: Data(tags=[tag(t, 0, "person"), tag(t, 1, "car")]),
    "LabelMe 3.0": lambda t: Data(shapes=[
        shape(t, "rectangle", 0, "car", BOX, {"color": "blue"}, occluded=True),
        shape(t, "polygon", 0, "person", SQUARE), shape(t, "mask", 2, "person", MASK)]),
    "LFW 1.0": lambda t: Data(tags=[tag(t, 0, "person"), tag(t, 1, "car")],
                              shapes=[shape(t, "points", 0, "person", [3, 3, 7, 9]),
                                      shape(t, "points", 1, "car", FACE)]),
    "MOT 1.1": lambda t: Data(tracks=[
        track(t, "person", "rectangle", {0: BOX, 1: [5.0, 6.0, 35.0, 26.0]}, outside_at=2)]),
    "MOTS PNG 1.0": lambda t: Data(tracks=[
        track(t, "person", "mask", {0: MASK, 1: MASK_B}, outside_at=2)]),
    "Open Images V6 1.0": lambda t: Data(
        tags=[tag(t, 0, "person"), tag(t, 2, "person")],
        shapes=[shape(t, "rectangle", 0, "car", [8, 6, 40, 30]),
                shape(t, "mask", 2, "person", MASK)]),
    "VGGFace2 1.0": lambda t: Data(shapes=[shape(t, "rectangle", 0, "person", BOX_B),
                                           shape(t, "points", 0, "person", FACE)]),
    "WiderFace 1.0": lambda t: Data(tags=[tag(t, 0, "person")],
                                    shapes=[shape(t, "rectangle", 0, "person", BOX_B),
                                            shape(t, "rectangle", 2, "person", BOX)]),
}


def _roundtrip(make_task: Any, tmp_path: Path, fmt: str, annotate: Callable[[Any], Data],
               images: bool = True, names: list[str] | None = None) -> tuple[Any, Any]:
    source = make_task(f"source {fmt}", names)
    source.set_annotations(annotate(source))
    path = tmp_path / "export.zip"
    source.export_dataset(fmt, path, include_images=images)
    target = make_task(f"target {fmt}", names)
    target.import_annotations(fmt, path, conv_mask_to_poly=False)
    return source, target


def test_the_plugin_formats_are_listed_once(sdk: Any) -> None:
    formats = sdk.api_client.server_api.retrieve_annotation_formats()[0]
    exporters = [f.name for f in formats.exporters]
    importers = [f.name for f in formats.importers]
    assert set(CASES) | {"Market-1501 1.0"} <= set(exporters) & set(importers)
    assert len(exporters) == len(set(exporters)) and len(importers) == len(set(importers))


@pytest.mark.parametrize("fmt", sorted(CASES))
def test_roundtrip(make_task: Any, tmp_path: Path, fmt: str) -> None:
    source, target = _roundtrip(make_task, tmp_path, fmt, CASES[fmt])
    assert comparable(target) == comparable(source)


def test_imagenet_without_images_is_the_txt_layout(make_task: Any, tmp_path: Path) -> None:
    source, target = _roundtrip(make_task, tmp_path, "ImageNet 1.0", CASES["ImageNet 1.0"],
                                images=False)
    assert comparable(target) == comparable(source)


def test_market_1501_keeps_the_person_and_camera_of_each_image(make_task: Any,
                                                               tmp_path: Path) -> None:
    """Market-1501 names the images after the person and the camera: a task whose frames
    are named so (as Market-1501's own images are) comes back whole."""
    source, target = _roundtrip(
        make_task, tmp_path, "Market-1501 1.0",
        lambda t: Data(tags=[
            tag(t, 0, "market-1501", {"query": "false", "person_id": "0001", "camera_id": "1"}),
            tag(t, 1, "market-1501", {"query": "false", "person_id": "0002", "camera_id": "0"})]),
        names=["0001_c2s1_000000_00.png", "0002_c1s1_000001_00.png"])
    assert comparable(target) == comparable(source)


def test_a_rotated_box_is_written_as_its_polygon_where_the_format_has_no_rotation(
        make_task: Any, tmp_path: Path) -> None:
    """As CVAT's RotatedBoxesToPolygons: LabelMe has no rotated boxes, so a box turned by 90
    degrees about its centre (20, 15) comes back as the polygon of its corners."""
    source, target = _roundtrip(make_task, tmp_path, "LabelMe 3.0", lambda t: Data(
        shapes=[shape(t, "rectangle", 0, "person", [10, 10, 30, 20], rotation=90.0)]))
    [polygon] = comparable(target)["shapes"]
    assert polygon[:3] == (0, "person", "polygon")
    assert polygon[3] == (25.0, 5.0, 25.0, 25.0, 15.0, 25.0, 15.0, 5.0)
