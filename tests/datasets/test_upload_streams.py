"""Uploads are read as streams: a single ``.xml``/``.json`` file (not a zip) a chunk at a time,
as archive members are (JSON's arrays element by element, across chunk ends, as
``json.loads`` reads them); a cloud-storage file past the upload limit fails as "too large",
naming the limit, not as a damaged archive cut at the limit."""

from __future__ import annotations

import io
import json
import time
from typing import Any

import pytest

from cvatcore.core.datasets.archive import open_upload
from cvatcore.core.datasets.formats.coco import import_coco
from cvatcore.core.datasets.formats.cvat_read import import_cvat
from cvatcore.core.media import limits
from cvatcore.core.services.accounts import create_user
from cvatcore.core.services.caller import Caller
from cvatcore.hooks.datasets import ImportContext
from cvatcore.hooks.testing.harness import ApiClient, build_test_app, test_settings

from .conftest import write_images

FRAMES = 8000


class _Reads(io.BytesIO):
    """An upload that remembers the largest single read taken from it."""

    largest = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.largest = max(self.largest, len(data))
        return data

    def readinto(self, buffer: Any) -> int:
        count = super().readinto(buffer)
        self.largest = max(self.largest, count)
        return count


def _context() -> ImportContext:
    return ImportContext(labels=[], frames=[], frame_of=lambda name, _where: int(name[4:10]))


def _xml() -> bytes:
    box = ('<box label="car" occluded="0" xtl="1" ytl="2" xbr="10" ybr="20" z_order="0">'
           '</box>\n')
    body = "".join(f'<image id="{f}" name="img_{f:06d}.png">\n{box * 5}</image>\n'
                   for f in range(FRAMES))
    return f'<?xml version="1.0"?>\n<annotations>\n{body}</annotations>\n'.encode()


def _json() -> bytes:
    return json.dumps({
        "images": [{"id": f + 1, "file_name": f"img_{f:06d}.png"} for f in range(FRAMES)],
        "categories": [{"id": 1, "name": "car"}],
        "annotations": [{"id": i, "image_id": i // 5 + 1, "category_id": 1, "bbox": [1, 2, 3, 4],
                         "segmentation": []} for i in range(FRAMES * 5)]}).encode()


@pytest.mark.parametrize(("name", "make", "importer"), [
    ("annotations.xml", _xml, import_cvat), ("instances_default.json", _json, import_coco)])
def test_a_single_file_upload_is_read_a_chunk_at_a_time(name: str, make: Any,
                                                        importer: Any) -> None:
    data = make()
    assert len(data) > 3 << 20
    upload = _Reads(data)
    items = list(importer(open_upload(upload, name), _context()).stream)
    assert len(items) == FRAMES * 5
    assert items[-1][1]["frame"] == FRAMES - 1
    assert upload.largest <= 1 << 20  # never the whole file at once


@pytest.fixture
def app(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    import cvatcore_azure

    monkeypatch.setattr(limits, "MAX_TUS_FILE", 4000)
    app = build_test_app(test_settings(tmp_path), plugins=[(cvatcore_azure, "azure")])
    with app.state.cvatcore.db.unit_of_work() as session:
        create_user(Caller.system(app.state.cvatcore, session), "ann", "ann-pass",
                    email="ann@example.com", is_superuser=True)
    yield app
    app.state.cvatcore.db.dispose()


def _wait(client: ApiClient, rq_id: str) -> dict[str, Any]:
    for _ in range(300):
        body = client.get(f"/api/requests/{rq_id}").json()
        if body["status"] in ("finished", "failed"):
            return body
        time.sleep(0.05)
    raise AssertionError(body)


def test_a_cloud_file_past_the_upload_limit_fails_as_too_large(
        app: Any, azurite: Any, container: str, tmp_path: Any) -> None:
    azurite.service().get_blob_client(container, "big.xml").upload_blob(
        _xml()[:10_000], overwrite=True)
    with ApiClient(app) as client:
        client.login("ann", "ann-pass")
        storage = client.post("/api/cloudstorages", json={
            "provider_type": "AZURE_CONTAINER", "resource": container, "display_name": "b",
            "credentials_type": "CONNECTION_STRING",
            "connection_string": azurite.connection_string}).json()
        task = client.post("/api/tasks", json={"name": "t", "labels": [{"name": "car"}]}).json()
        files = [(f"client_files[{i}]", (p.name, p.read_bytes(), "image/png"))
                 for i, p in enumerate(write_images(tmp_path, 2))]
        rq_id = client.post(f"/api/tasks/{task['id']}/data", files=files,
                            data={"image_quality": "70"}).json()["rq_id"]
        assert _wait(client, rq_id)["status"] == "finished"

        response = client.post(f"/api/tasks/{task['id']}/annotations/", params={
            "format": "CVAT 1.1", "filename": "big.xml", "location": "cloud_storage",
            "cloud_storage_id": storage["id"]})
        assert response.status_code == 202, response.text
        body = _wait(client, response.json()["rq_id"])
        assert body["status"] == "failed"
        assert "'big.xml'" in body["message"] and "too large" in body["message"]
        assert "4000 bytes" in body["message"]
        assert client.get(f"/api/tasks/{task['id']}/annotations").json()["shapes"] == []


@pytest.mark.parametrize("indent", [None, 2])
@pytest.mark.parametrize("chunk", [7, 64, 1 << 20])
def test_json_members_read_across_chunk_ends_as_json_loads_reads_them(
        indent: int | None, chunk: int, monkeypatch: pytest.MonkeyPatch) -> None:
    from cvatcore.core.datasets import jsonstream

    monkeypatch.setattr(jsonstream, "CHUNK", chunk)
    doc = {"images": [], "annotations": [
        {"id": i, "bbox": [i * 1.5, 2, 12345678, -0.25], "name": f"a\u00e9{i}", "ok": i % 2 == 0,
         "none": None} for i in range(60)] + [123456789, "tail"], "info": {"n": [1, 2]}}
    data = json.dumps(doc, indent=indent).encode()
    got: dict[str, Any] = {}
    for key, value in jsonstream.members(io.BytesIO(data), "x.json",
                                         frozenset({"images", "annotations"})):
        if value is jsonstream.ARRAY:
            got[key] = []
        elif key in ("images", "annotations"):
            got[key].append(value)
        else:
            got[key] = value
    assert got == doc


@pytest.mark.parametrize("text", ['{"annotations":[{"a":1},{"b":',
                                  '{"annotations":[{"a":1}{"b":2}]}',
                                  '{"annotations":[{"a":1},]}'])
def test_broken_json_in_a_spread_array_names_the_file(text: str) -> None:
    from cvatcore.core.datasets import jsonstream
    from cvatcore.hooks.datasets import DatasetFormatError

    with pytest.raises(DatasetFormatError, match=r"x\.json: not valid JSON \(line 1"):
        list(jsonstream.members(io.BytesIO(text.encode()), "x.json", frozenset({"annotations"})))
