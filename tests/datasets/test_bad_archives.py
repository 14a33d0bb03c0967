"""Bad files fail the import request with a message that names the file and the line or
element, and change nothing: truncated zips, broken XML, unknown labels, frames or attribute
values, shapes of a wrong type, zip bombs, absolute paths and ``..``."""

from __future__ import annotations

import io
import struct
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cvat_sdk.core.exceptions import BackgroundRequestException

from .support import boxes, comparable

HEAD = '<?xml version="1.0"?>\n<annotations>\n'


def _xml(body: str) -> bytes:
    return (HEAD + body + "\n</annotations>\n").encode()


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo("placeholder")
            info.filename = name  # ZipInfo would clean '..' and '/' away; keep them raw
            archive.writestr(info, data)
    return buf.getvalue()


def _declared_size(data: bytes, size: int) -> bytes:
    """The archive with its central directory claiming ``size`` unpacked bytes."""
    at = data.rindex(b"PK\x01\x02")
    return data[:at + 24] + struct.pack("<I", size) + data[at + 28:]


BOX = '<box label="{label}" occluded="0" xtl="1" ytl="2" xbr="10" ybr="20" z_order="0">{a}</box>'
CASES = {
    "truncated zip": ("CVAT 1.1", "a.zip",
                      _zip({"annotations.xml": _xml("")})[:40], "not a valid zip archive"),
    "broken xml": ("CVAT 1.1", "annotations.xml",
                   _xml('<image id="0" name="img_000.png">\n<box label="car"'),
                   "annotations.xml: not valid XML"),
    "unknown label": ("CVAT 1.1", "annotations.xml", _xml(
        '<image id="0" name="img_000.png" width="64" height="48">\n'
        + BOX.format(label="cat", a="") + "\n</image>"),
        "annotations.xml:4: unknown label 'cat'"),
    "unknown frame": ("CVAT 1.1", "annotations.xml", _xml(
        '<image id="0" name="nope.png" width="64" height="48">\n</image>'),
        "annotations.xml:3: <image>: the frame 'nope.png' is not in the task"),
    "bad attribute value": ("CVAT 1.1", "annotations.xml", _xml(
        '<image id="0" name="img_000.png" width="64" height="48">\n'
        + BOX.format(label="car", a='\n<attribute name="color">green</attribute>\n')
        + "\n</image>"), "annotations.xml:4"),
    "wrong shape type": ("CVAT 1.1", "annotations.xml", _xml(
        '<image id="0" name="img_000.png" width="64" height="48">\n'
        + BOX.format(label="pose", a="") + "\n</image>"), "annotations.xml:4"),
    "zip bomb": ("CVAT 1.1", "bomb.zip", _declared_size(
        _zip({"annotations.xml": _xml("")}), 0xFFFFFFF0), "looks like a zip bomb"),
    "dot-dot path": ("CVAT 1.1", "evil.zip", _zip({"../annotations.xml": _xml("")}),
                     "unsafe path"),
    "absolute path": ("CVAT 1.1", "evil.zip", _zip({"/tmp/annotations.xml": _xml("")}),
                      "unsafe path"),
    "broken coco": ("COCO 1.0", "instances.json", b'{"images": [}', "instances.json: not valid"),
    "bad yolo line": ("YOLO 1.1", "y.zip", _zip({"obj.names": b"car\nperson\n",
                                                  "obj_train_data/img_000.txt": b"0 0.5 0.5\n"}),
                      "obj_train_data/img_000.txt:1: expected 'class cx cy w h'"),
}


@pytest.fixture(scope="module")
def annotated(server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One annotated task for every bad file (none of them may change it)."""
    from cvat_sdk import models
    from cvat_sdk.core.proxies.tasks import ResourceType

    from cvatcore.hooks.testing.live import sdk_client

    from .conftest import LABELS, write_images

    with sdk_client(server) as client:
        images = write_images(tmp_path_factory.mktemp("bad"), 3)
        task = client.tasks.create_from_data(
            models.TaskWriteRequest(name="bad files", labels=LABELS),
            resource_type=ResourceType.LOCAL, resources=[str(p) for p in images])
        task.set_annotations(boxes(task))
        yield task


@pytest.mark.parametrize("case", list(CASES))
def test_bad_file_fails_the_request_and_changes_nothing(
        annotated: Any, tmp_path: Path, case: str) -> None:
    fmt, name, data, message = CASES[case]
    task = annotated
    before = comparable(task)
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(BackgroundRequestException) as failure:
        task.import_annotations(fmt, path)
    assert message in str(failure.value)
    assert comparable(task) == before


def test_unknown_format_is_a_400(sdk: Any, make_task: Any) -> None:
    from cvat_sdk.api_client.exceptions import ApiException

    task = make_task("unknown format")
    with pytest.raises(ApiException) as failure:
        sdk.api_client.tasks_api.create_dataset_export(id=task.id, format="Nope 1.0",
                                                       _parse_response=False)
    assert failure.value.status == 400 and "Nope 1.0" in str(failure.value.body)


def test_failed_project_import_leaves_no_task(sdk: Any, make_task: Any, tmp_path: Path) -> None:
    from cvat_sdk import models

    from .conftest import LABELS

    source = make_task("project bad source")
    exported = tmp_path / "good.zip"
    source.export_dataset("COCO 1.0", exported, include_images=True)
    with zipfile.ZipFile(exported) as good:
        members = {n: good.read(n) for n in good.namelist()}
    members["annotations/instances_default.json"] = b'{"images": [], "annotations": [}'
    path = tmp_path / "bad.zip"
    path.write_bytes(_zip(members))
    project = sdk.projects.create(models.ProjectWriteRequest(name="bad import", labels=LABELS))
    with pytest.raises(BackgroundRequestException) as failure:
        project.import_dataset("COCO 1.0", path)
    assert "instances_default.json: not valid JSON" in str(failure.value)
    assert project.get_tasks() == []
