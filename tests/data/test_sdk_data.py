"""cvat-sdk 2.80, unchanged, creating tasks with data against a real ``cvatcore serve``:
``create_from_data`` (Upload-Start, Upload-Multiple, Upload-Finish, then polling the request),
the TUS path the SDK takes for large files, server files, and reading frames, chunks and meta
back (the SDK validates every answer against CVAT's schema)."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from cvat_sdk import make_client, models
from cvat_sdk.core.proxies.tasks import ResourceType
from cvat_sdk.core.uploading import DataUploader
from PIL import Image

from cvatcore.hooks.testing.live import ADMIN, serve_with_admin

from .conftest import image_bytes, video_file


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("sdk-data")
    share = root / "share"
    share.mkdir()
    with serve_with_admin(root, f'[storage.options.local]\nroot = "{share}"\n') as live:
        yield live.url, share


@pytest.fixture
def sdk(server):
    url, _ = server
    host, port = url.rsplit(":", 1)
    with make_client(host, port=int(port), credentials=ADMIN) as client:
        client.config.status_check_period = 0.1  # poll quickly: the tasks are small
        yield client


def spec(name: str, **extra) -> models.TaskWriteRequest:
    return models.TaskWriteRequest(name=name, labels=[models.PatchedLabelRequest(name="car")],
                                   **extra)


def test_create_from_data_and_read_back(sdk, tmp_path):
    files = []
    for i in range(5):
        path = tmp_path / f"im{i}.png"
        path.write_bytes(image_bytes(50 + i, 40, (i * 40,) * 3, "PNG"))
        files.append(path)
    task = sdk.tasks.create_from_data(spec("sdk images", segment_size=2), resources=files,
                                      data_params={"chunk_size": 2, "image_quality": 80})
    assert task.size == 5 and task.mode == "annotation" and task.data_chunk_size == 2
    meta = task.get_meta()
    assert [f.name for f in meta.frames] == [p.name for p in files]
    assert meta.frames[3].width == 53 and meta.image_quality == 80
    with Image.open(task.get_frame(3, quality="original")) as img:
        assert img.size == (53, 40)
    out = io.BytesIO()
    task.download_chunk(1, out, quality="original")
    with zipfile.ZipFile(out) as archive:
        assert [archive.read(n) for n in archive.namelist()] == [
            files[2].read_bytes(), files[3].read_bytes()]
    assert len(task.get_jobs()) == 3
    job = task.get_jobs()[1]
    assert [f.name for f in job.get_meta().frames] == ["im2.png", "im3.png"]
    assert task.get_preview().read(2) == b"\xff\xd8"


def test_tus_upload_as_the_sdk_sends_large_files(sdk, tmp_path):
    task = sdk.tasks.create(spec("sdk tus"))
    clip = video_file(tmp_path / "clip.mp4", frames=12, gop=4)
    small = DataUploader(sdk, max_request_size=1000)  # everything larger goes by TUS
    url = sdk.api_map.make_endpoint_url(task.api.create_data_endpoint.path, kwsub={"id": task.id})
    response = small.upload_files(url, [clip], image_quality=70)
    sdk.wait_for_completion(json.loads(response.data)["rq_id"], status_check_period=0.1)
    task.fetch()
    assert task.size == 12 and task.mode == "interpolation"
    assert task.get_meta().frames[0].name == "clip.mp4"


def test_share_files(sdk, server):
    _, share = server
    (share / "photos").mkdir()
    for i in range(3):
        (share / "photos" / f"p{i}.jpg").write_bytes(image_bytes(20 + i, 20))
    task = sdk.tasks.create_from_data(spec("sdk share"), resources=["photos/"],
                                      resource_type=ResourceType.SHARE)
    assert task.size == 3
    assert [f.name for f in task.get_meta().frames] == [f"photos/p{i}.jpg" for i in range(3)]
