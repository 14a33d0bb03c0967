"""Import from a cloud storage (a plain ``POST .../annotations/`` naming ``filename`` in the
bucket, as CVAT's UI and API do), by ``location=cloud_storage`` or by the task's
``source_storage``, against the real Azurite emulator; and ``conv_mask_to_poly``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cvat_sdk import models
from cvat_sdk.core.exceptions import BackgroundRequestException
from cvat_sdk.core.proxies.types import Location

from .support import assert_same, boxes, masks_only


def _storage(sdk: Any, azurite: Any, container: str) -> Any:
    storage, _ = sdk.api_client.cloudstorages_api.create(models.CloudStorageWriteRequest(
        provider_type=models.ProviderTypeEnum("AZURE_CONTAINER"), resource=container,
        display_name="imports", credentials_type=models.CredentialsTypeEnum(
            "CONNECTION_STRING"), connection_string=azurite.connection_string))
    return storage


def _import(sdk: Any, task: Any, **params: Any) -> Any:
    (_, response) = sdk.api_client.tasks_api.create_annotations(id=task.id, **params,
                                                                _parse_response=False)
    assert response.status == 202
    rq_id = json.loads(response.data)["rq_id"]
    return sdk.wait_for_completion(rq_id, status_check_period=0.05)[0]


def test_import_from_a_cloud_storage_and_by_default_source_storage(
        sdk: Any, make_task: Any, azurite: Any, container: str) -> None:
    storage = _storage(sdk, azurite, container)
    source = make_task("cloud source")
    source.set_annotations(boxes(source))
    source.export_dataset("CVAT for images 1.1", "annotations.zip", include_images=False,
                          location=Location.CLOUD_STORAGE, cloud_storage_id=storage.id)

    target = make_task("cloud target")
    _import(sdk, target, format="CVAT 1.1", filename="annotations.zip",
            location="cloud_storage", cloud_storage_id=storage.id)
    assert_same(target, source)

    by_default = make_task("cloud default")
    by_default.update(models.PatchedTaskWriteRequest(source_storage=models.StorageRequest(
        location=models.LocationEnum("cloud_storage"), cloud_storage_id=storage.id)))
    _import(sdk, by_default, format="CVAT 1.1", filename="annotations.zip")
    assert_same(by_default, source)

    # a file the bucket does not hold: a failed request naming it, the task unchanged
    with pytest.raises(BackgroundRequestException, match="missing.zip"):
        _import(sdk, by_default, format="CVAT 1.1", filename="missing.zip")
    assert_same(by_default, source)


def test_a_plain_post_without_a_cloud_location_is_refused(sdk: Any, make_task: Any) -> None:
    from cvat_sdk.api_client.exceptions import ApiException

    task = make_task("no file")
    with pytest.raises(ApiException) as failure:
        sdk.api_client.tasks_api.create_annotations(id=task.id, format="CVAT 1.1",
                                                    filename="annotations.zip")
    assert failure.value.status == 400 and "Upload-Start" in str(failure.value.body)


def test_conv_mask_to_poly_turns_masks_into_polygons(sdk: Any, make_task: Any,
                                                     tmp_path: Path) -> None:
    source = make_task("masks")
    source.set_annotations(masks_only(source))
    path = tmp_path / "masks.zip"
    source.export_dataset("CVAT for images 1.1", path, include_images=False)

    as_masks = make_task("kept masks")
    as_masks.import_annotations("CVAT 1.1", path, conv_mask_to_poly=False)
    assert sorted(s.type.value for s in as_masks.get_annotations().shapes) == ["mask", "mask"]

    as_polygons = make_task("polygons")
    as_polygons.import_annotations("CVAT 1.1", path)  # CVAT's default: true
    shapes = sorted(as_polygons.get_annotations().shapes, key=lambda s: s.frame)
    assert [s.type.value for s in shapes] == ["polygon", "polygon"]
    # the second mask is the 3x3 square at (30, 30): its polygon is the square's corners
    xs, ys = shapes[1].points[0::2], shapes[1].points[1::2]
    assert (min(xs), min(ys), max(xs), max(ys)) == (30, 30, 32, 32)
    assert shapes[1].label_id == next(label.id for label in as_polygons.get_labels()
                                      if label.name == "car")


def test_project_dataset_from_a_cloud_storage(sdk: Any, make_task: Any, azurite: Any,
                                              container: str) -> None:
    from .conftest import LABELS

    storage = _storage(sdk, azurite, container)
    source = make_task("project source")
    source.set_annotations(boxes(source))
    source.export_dataset("COCO 1.0", "dataset.zip", include_images=True,
                          location=Location.CLOUD_STORAGE, cloud_storage_id=storage.id)
    project = sdk.projects.create(models.ProjectWriteRequest(name="from cloud", labels=LABELS))
    (_, response) = sdk.api_client.projects_api.create_dataset(
        id=project.id, format="COCO 1.0", filename="dataset.zip", location="cloud_storage",
        cloud_storage_id=storage.id, _parse_response=False)
    sdk.wait_for_completion(json.loads(response.data)["rq_id"], status_check_period=0.05)
    [task] = project.get_tasks()
    assert task.size == 3
    assert_same(task, source)
