"""Round trips through cvat-sdk 2.80 against a real ``cvatcore serve``: annotate a task with
what the format can hold, export it, import the file into a fresh task with the same labels,
and compare the annotations."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import pytest

from .support import all_shapes, assert_same, boxes, comparable, tracks


def _roundtrip(sdk: Any, make_task: Any, tmp_path: Path, export_format: str,
               import_format: str, annotate: Any, images: bool = False) -> tuple[Any, Any, Path]:
    source = make_task(f"source {export_format}")
    source.set_annotations(annotate(source))
    path = tmp_path / "export.zip"
    source.export_dataset(export_format, path, include_images=images)
    target = make_task(f"target {export_format}")
    target.import_annotations(import_format, path)
    return source, target, path


def test_formats_are_listed(sdk: Any) -> None:
    formats = sdk.api_client.server_api.retrieve_annotation_formats()[0]
    exporters = {f.name for f in formats.exporters}
    importers = {f.name for f in formats.importers}
    assert {"CVAT for images 1.1", "COCO 1.0"} <= exporters
    assert {"CVAT 1.1", "COCO 1.0"} <= importers and "CVAT for images 1.1" not in importers


def test_cvat_for_images_keeps_every_shape_type(sdk: Any, make_task: Any,
                                                tmp_path: Path) -> None:
    source, target, path = _roundtrip(sdk, make_task, tmp_path, "CVAT for images 1.1",
                                      "CVAT 1.1", all_shapes, images=True)
    with zipfile.ZipFile(path) as archive:
        assert {"annotations.xml", "images/img_000.png", "images/img_002.png"} <= set(
            archive.namelist())
    assert_same(target, source)


def test_datumaro_keeps_every_shape_type(sdk: Any, make_task: Any, tmp_path: Path) -> None:
    source, target, _ = _roundtrip(sdk, make_task, tmp_path, "Datumaro 1.0", "Datumaro 1.0",
                                   all_shapes, images=True)
    assert_same(target, source)


def test_cvat_for_video_keeps_tracks(sdk: Any, make_task: Any, tmp_path: Path) -> None:
    source, target, _ = _roundtrip(sdk, make_task, tmp_path, "CVAT for video 1.1", "CVAT 1.1",
                                   tracks)
    assert_same(target, source)
    assert comparable(target)["tracks"]


@pytest.mark.parametrize("fmt", ["COCO 1.0", "YOLO 1.1", "PASCAL VOC 1.1"])
def test_box_formats_keep_boxes(sdk: Any, make_task: Any, tmp_path: Path, fmt: str) -> None:
    source, target, _ = _roundtrip(sdk, make_task, tmp_path, fmt, fmt, boxes)
    assert_same(target, source)
