"""Round trips through cvat-sdk 2.80 against a real ``cvatcore serve``: annotate a task with
what the format can hold, export it, import the file into a fresh task with the same labels,
and compare the annotations."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import pytest

from .support import (
    all_shapes,
    assert_same,
    boxes,
    coco_shapes,
    comparable,
    masks_only,
    tracks,
)


def _roundtrip(sdk: Any, make_task: Any, tmp_path: Path, export_format: str,
               import_format: str, annotate: Any, images: bool = False) -> tuple[Any, Any, Path]:
    source = make_task(f"source {export_format}")
    source.set_annotations(annotate(source))
    path = tmp_path / "export.zip"
    source.export_dataset(export_format, path, include_images=images)
    target = make_task(f"target {export_format}")
    target.import_annotations(import_format, path, conv_mask_to_poly=False)
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


def test_coco_keeps_boxes_polygons_masks_and_pycocotools_reads_it(
        sdk: Any, make_task: Any, tmp_path: Path) -> None:
    from pycocotools.coco import COCO
    from pycocotools.mask import area, frPyObjects, toBbox

    source, target, path = _roundtrip(sdk, make_task, tmp_path, "COCO 1.0", "COCO 1.0",
                                      coco_shapes, images=True)
    assert_same(target, source)
    with zipfile.ZipFile(path) as archive:
        archive.extractall(tmp_path / "coco")
        assert "images/default/img_000.png" in archive.namelist()
    coco = COCO(str(tmp_path / "coco/annotations/instances_default.json"))
    assert sorted(c["name"] for c in coco.loadCats(coco.getCatIds())) == ["car", "person", "pose"]
    anns = coco.loadAnns(coco.getAnnIds())
    assert sorted(a["bbox"][2] for a in anns) == [3, 19, 29]
    mask = next(a for a in anns if a["iscrowd"])
    image = coco.loadImgs(mask["image_id"])[0]
    assert image["file_name"] == "img_002.png"
    rle = frPyObjects(mask["segmentation"], image["height"], image["width"])
    assert int(area(rle)) == 7 and [int(v) for v in toBbox(rle)] == [10, 12, 3, 3]


def test_segmentation_masks_keep_masks(sdk: Any, make_task: Any, tmp_path: Path) -> None:
    source, target, path = _roundtrip(sdk, make_task, tmp_path, "Segmentation mask 1.1",
                                      "Segmentation mask 1.1", masks_only)
    assert_same(target, source)
    with zipfile.ZipFile(path) as archive:
        assert {"labelmap.txt", "SegmentationClass/img_000.png",
                "SegmentationObject/img_002.png"} <= set(archive.namelist())


@pytest.mark.parametrize("fmt", ["COCO 1.0", "YOLO 1.1", "PASCAL VOC 1.1",
                                 "Ultralytics YOLO Detection 1.0"])
def test_box_formats_keep_boxes(sdk: Any, make_task: Any, tmp_path: Path, fmt: str) -> None:
    source, target, path = _roundtrip(sdk, make_task, tmp_path, fmt, fmt, boxes)
    assert_same(target, source)
    if fmt.startswith("Ultralytics"):  # data.yaml is YAML as Ultralytics reads it
        import yaml

        with zipfile.ZipFile(path) as archive:
            data = yaml.safe_load(archive.read("data.yaml"))
        assert data["names"] == {0: "car", 1: "person", 2: "pose"}
        assert data["train"] == "train.txt"


def test_job_export_and_import(sdk: Any, make_task: Any, tmp_path: Path) -> None:
    """A job's export holds only its frames; importing it into another task's job writes
    only that job's annotations."""
    source = make_task("jobs source", segment_size=2)
    source.set_annotations(boxes(source))  # frames 0 and 2: one box in each job's frames
    first_job = min(source.get_jobs(), key=lambda j: j.start_frame)
    path = tmp_path / "job.zip"
    sdk.jobs.retrieve(first_job.id).export_dataset("CVAT for images 1.1", path,
                                                    include_images=False)
    with zipfile.ZipFile(path) as archive:
        xml = archive.read("annotations.xml").decode()
    assert xml.count("<image ") == 2 and "img_002.png" not in xml
    target = make_task("jobs target", segment_size=2)
    second = max(target.get_jobs(), key=lambda j: j.start_frame)
    target.set_annotations(boxes(target))
    job = sdk.jobs.retrieve(min(target.get_jobs(), key=lambda j: j.start_frame).id)
    job.import_annotations("CVAT 1.1", path)
    frames = sorted(s.frame for s in target.get_annotations().shapes)
    assert frames == [0, 0, 2]  # the first job's two boxes again, the second job's untouched
    assert [s.frame for s in sdk.jobs.retrieve(second.id).get_annotations().shapes] == [2]


def test_project_export_holds_every_task(sdk: Any, make_task: Any, tmp_path: Path) -> None:
    from cvat_sdk import models

    from .conftest import LABELS

    project = sdk.projects.create(models.ProjectWriteRequest(name="proj", labels=LABELS))
    task = make_task("in project")
    task.update(models.PatchedTaskWriteRequest(project_id=project.id))
    task.set_annotations(boxes(task))
    path = tmp_path / "project.zip"
    project.export_dataset("COCO 1.0", path, include_images=True)
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        doc = archive.read("annotations/instances_default.json")
    assert {"annotations/instances_default.json", "images/default/img_000.png"} <= names
    assert doc.count(b'"category_id"') == 3


def test_project_import_makes_a_task_from_the_archive(sdk: Any, make_task: Any,
                                                      tmp_path: Path) -> None:
    """As CVAT: the archive's images become a new task of the project, with the annotations."""
    from cvat_sdk import models

    from .conftest import LABELS

    source = make_task("project source")
    source.set_annotations(coco_shapes(source))
    path = tmp_path / "dataset.zip"
    source.export_dataset("COCO 1.0", path, include_images=True)
    project = sdk.projects.create(models.ProjectWriteRequest(name="imported", labels=LABELS))
    project.import_dataset("COCO 1.0", path, conv_mask_to_poly=False)
    [task] = project.get_tasks()
    assert task.size == 3 and task.name == "dataset"
    assert_same(task, source)


def test_export_to_a_cloud_storage_and_by_default_target_storage(
        sdk: Any, make_task: Any, azurite: Any, container: str) -> None:
    """``location=cloud_storage`` writes the archive into the bucket (no result_url, as CVAT);
    without ``location`` the task's ``target_storage`` decides."""
    import io

    from cvat_sdk import models
    from cvat_sdk.core.proxies.types import Location

    storage, _ = sdk.api_client.cloudstorages_api.create(models.CloudStorageWriteRequest(
        provider_type=models.ProviderTypeEnum("AZURE_CONTAINER"), resource=container,
        display_name="exports", credentials_type=models.CredentialsTypeEnum(
            "CONNECTION_STRING"), connection_string=azurite.connection_string))
    task = make_task("to the cloud")
    task.set_annotations(boxes(task))
    task.export_dataset("YOLO 1.1", "yolo.zip", include_images=False,
                        location=Location.CLOUD_STORAGE, cloud_storage_id=storage.id)
    blobs = azurite.service().get_container_client(container)
    data = blobs.download_blob("yolo.zip").readall()
    assert "obj.names" in zipfile.ZipFile(io.BytesIO(data)).namelist()

    task.update(models.PatchedTaskWriteRequest(target_storage=models.StorageRequest(
        location=models.LocationEnum("cloud_storage"), cloud_storage_id=storage.id)))
    task.export_dataset("COCO 1.0", "coco.zip", include_images=False)
    assert blobs.download_blob("coco.zip").readall()[:2] == b"PK"
    # without location (as the API allows) the server applies target_storage itself
    rq, _ = sdk.api_client.tasks_api.create_dataset_export(
        id=task.id, format="PASCAL VOC 1.1", save_images=False)
    request = sdk.wait_for_completion(rq.rq_id, status_check_period=0.05)[0]
    assert request.result_url is None
    names = [b.name for b in blobs.list_blobs()]
    assert any(n.startswith("task_to_the_cloud_annotations_") and n.endswith(
        "PASCAL_VOC_1.1.zip") for n in names), names
