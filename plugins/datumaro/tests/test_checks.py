"""A bad archive fails the request with a message and changes nothing; the core's own exports
read by datumaro's loaders; the core's formats win over this plugin's copies of them."""

from __future__ import annotations

import types
import zipfile
from pathlib import Path
from typing import Any

import pytest
from cvat_sdk.core.exceptions import BackgroundRequestException

from cvatcore.hooks import hookimpl
from cvatcore.hooks.datasets import DatasetFormat

from .core_access import formats, plugin_error
from .support import MASK, comparable, shape, tag
from .test_roundtrip import BOX, BOX_B, SQUARE, Data


@pytest.mark.parametrize(("fmt", "members"), [
    ("MOT 1.1", {"gt/gt.txt": "1,1,not,a,number\n", "gt/labels.txt": "person\n"}),
    ("LabelMe 3.0", {"Annotations/default/img_000.xml": "<annotation><object>"}),
])
def test_a_bad_archive_fails_the_request_and_changes_nothing(
        make_task: Any, tmp_path: Path, fmt: str, members: dict[str, str]) -> None:
    task = make_task(f"bad {fmt}")
    task.set_annotations(Data(shapes=[shape(task, "rectangle", 0, "car", BOX)]))
    before = comparable(task)
    path = tmp_path / "bad.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    with pytest.raises(BackgroundRequestException) as failed:
        task.import_annotations(fmt, path)
    message = str(failed.value)
    assert message.startswith(f"bad.zip: not a {fmt} dataset (") and "Error" in message
    assert "cvatcore-datumaro-" not in message  # no temporary folder of the server
    assert comparable(task) == before


CORE_FORMATS = {  # the core's export -> the datumaro loader, and what it must find
    "PASCAL VOC 1.1": "voc_detection",
    "Segmentation mask 1.1": "voc_segmentation",
    "YOLO 1.1": "yolo",
    "Datumaro 1.0": "datumaro",
    "CVAT for images 1.1": "cvat",
}


def _core_export(make_task: Any, tmp_path: Path, fmt: str, mask: bool = True) -> Any:
    from datumaro.components.dataset import Dataset

    task = make_task(f"core {fmt}")
    task.set_annotations(Data(
        tags=[tag(task, 1, "person")],
        shapes=[shape(task, "rectangle", 0, "car", BOX),
                shape(task, "rectangle", 2, "person", BOX_B),
                shape(task, "polygon", 1, "person", SQUARE)]
        + ([shape(task, "mask", 2, "car", MASK)] if mask else [])))
    path = tmp_path / "core.zip"
    task.export_dataset(fmt, path, include_images=True)
    with zipfile.ZipFile(path) as archive:
        archive.extractall(tmp_path / "core")
    return Dataset.import_from(str(tmp_path / "core"), CORE_FORMATS[fmt])


@pytest.mark.parametrize("fmt", sorted(CORE_FORMATS))
def test_datumaro_reads_the_core_exports(make_task: Any, tmp_path: Path, fmt: str) -> None:
    from datumaro.components.annotation import AnnotationType

    # datumaro cannot read a mask of the core's Datumaro export (test_fallback_copies.py)
    mask = fmt != "Datumaro 1.0"
    dataset = _core_export(make_task, tmp_path, fmt, mask)
    names = [c.name for c in dataset.categories()[AnnotationType.label].items]
    assert len(dataset) == 3
    found = sorted((item.id.rsplit("/", 1)[-1], a.type.name, names[a.label])
                   for item in dataset for a in item.annotations)
    boxes = [f for f in found if f[1] == "bbox"]
    if fmt == "Segmentation mask 1.1":  # painted: one mask per instance, boxes included
        assert sorted(f for f in found if f[1] == "mask") == [
            ("img_000", "mask", "car"), ("img_001", "mask", "person"),
            ("img_002", "mask", "car"), ("img_002", "mask", "person")]
        return
    assert boxes == [("img_000", "bbox", "car"), ("img_002", "bbox", "person")]
    for item in dataset:
        for a in item.annotations:
            if a.type.name == "bbox" and item.id.endswith("img_000"):
                assert [round(v, 1) for v in a.get_bbox()] == [1.0, 2.0, 29.0, 18.0]
    if fmt in ("Datumaro 1.0", "CVAT for images 1.1"):  # every shape type
        assert ("img_001", "polygon", "person") in found
        assert ("img_002", "mask", "car") in found or not mask
        assert ("img_001", "label", "person") in found


def _fallback_export(dataset: Any, archive: Any) -> None:
    archive.write("fallback.txt", "the plugin's copy")


def _fallbacks(*names: str) -> Any:
    return types.SimpleNamespace(register_dataset_formats=hookimpl(lambda register: [
        register(name, DatasetFormat("ZIP", "1.0", exporter=_fallback_export), fallback=True)
        for name in names]))


def test_the_core_format_wins_over_a_fallback_of_the_same_name() -> None:
    found = formats((_fallbacks("PASCAL VOC 1.1", "Fallback Only 1.0"), "fallbacks"))
    exporters = [f["name"] for f in found.listing()["exporters"]]
    assert exporters.count("PASCAL VOC 1.1") == 1 and "Fallback Only 1.0" in exporters
    assert found.all["PASCAL VOC 1.1"].exporter is not _fallback_export
    assert found.all["Fallback Only 1.0"].exporter is _fallback_export


def test_this_plugin_gives_way_to_the_core_for_the_names_both_have() -> None:
    import cvatcore_datumaro
    from cvatcore_datumaro.catalogue import SPECS

    found = formats((cvatcore_datumaro, "datumaro"))
    for spec in SPECS:
        fmt = found.all[spec.name]
        module = (fmt.exporter or fmt.importer).__module__
        assert module.startswith("cvatcore_datumaro") != spec.builtin, spec.name


def test_two_fallbacks_of_one_name_stop_start_up() -> None:
    with pytest.raises(plugin_error(), match="'Twice 1.0' is registered by two plugins"):
        formats((_fallbacks("Twice 1.0"), "one"), (_fallbacks("Twice 1.0"), "two"))
