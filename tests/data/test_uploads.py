"""The upload protocols exactly as cvat-sdk drives them: Upload-Start, Upload-Multiple
batches, TUS 1.0.0 (with HEAD to resume and 409 on a wrong offset), Upload-Finish; plus
streaming limits and the rules around them."""

from __future__ import annotations

import base64
from urllib.parse import urlsplit

import pytest

from cvatcore.core.media import limits

from .conftest import counts, image_bytes, wait

TUS = {"Tus-Resumable": "1.0.0"}


def start(client, task_id):
    response = client.post(f"/api/tasks/{task_id}/data/", headers={"Upload-Start": ""})
    assert response.status_code == 202, response.text


def bulk(client, task_id, files):
    multipart = [(f"client_files[{i}]", (f"/home/me/{name}", payload))
                 for i, (name, payload) in enumerate(files.items())]
    response = client.post(f"/api/tasks/{task_id}/data/", files=multipart,
                           data={"image_quality": "70"}, headers={"Upload-Multiple": ""})
    assert response.status_code == 200, response.text


def tus_create(client, task_id, name, length):
    meta = "filename " + base64.b64encode(name.encode()).decode()
    response = client.post(f"/api/tasks/{task_id}/data/", headers={
        **TUS, "Upload-Length": str(length), "Upload-Metadata": meta})
    assert response.status_code == 201, response.text
    assert response.headers["Upload-Filename"] == name
    location = response.headers["Location"]
    assert urlsplit(location).path.startswith(f"/api/tasks/{task_id}/data/")
    return urlsplit(location).path


def patch(client, url, offset, chunk):
    return client.patch(url, content=chunk, headers={
        **TUS, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"})


def finish(client, task_id, **fields):
    response = client.post(f"/api/tasks/{task_id}/data/", json={"image_quality": 70, **fields},
                           headers={"Upload-Finish": ""})
    assert response.status_code == 202, response.text
    return wait(client, response.json()["rq_id"])


def test_sdk_protocol_bulk_and_tus(client, make_task, cvatcore_app):
    task_id = make_task()
    big = image_bytes(300, 200, fmt="PNG")
    start(client, task_id)
    bulk(client, task_id, {"b.png": image_bytes(10, 10, fmt="PNG"),
                           "a.png": image_bytes(12, 10, fmt="PNG")})
    url = tus_create(client, task_id, "c.png", len(big))
    half = len(big) // 2
    assert patch(client, url, 0, big[:half]).headers["Upload-Offset"] == str(half)
    wrong = patch(client, url, 0, big[:half])  # the same chunk again: offset mismatch
    assert wrong.status_code == 409
    head = client.head(url, headers=TUS)  # what the SDK does after an error
    assert head.status_code == 200 and head.headers["Upload-Offset"] == str(half)
    assert head.headers["Upload-Length"] == str(len(big))
    done = patch(client, url, half, big[half:])
    assert done.status_code == 204 and done.headers["Upload-Offset"] == str(len(big))
    result = finish(client, task_id, sorting_method="lexicographical")
    assert result["status"] == "finished", result
    meta = client.get(f"/api/tasks/{task_id}/data/meta").json()
    assert [(f["name"], f["width"]) for f in meta["frames"]] == [
        ("a.png", 12), ("b.png", 10), ("c.png", 300)]
    frame = client.get(f"/api/tasks/{task_id}/data/",
                       params={"type": "frame", "number": 2, "quality": "original"})
    assert frame.content == big
    assert counts(cvatcore_app, task_id) == (3, 1, 1)


def test_predefined_order_and_its_check(client, make_task):
    task_id = make_task()
    start(client, task_id)
    bulk(client, task_id, {n: image_bytes(8, 8, fmt="PNG") for n in ("x.png", "y.png", "z.png")})
    result = finish(client, task_id, sorting_method="predefined",
                    upload_file_order=["z.png", "x.png", "y.png"])
    meta = client.get(f"/api/tasks/{task_id}/data/meta").json()
    assert result["status"] == "finished"
    assert [f["name"] for f in meta["frames"]] == ["z.png", "x.png", "y.png"]

    task_id = make_task("wrong order")
    start(client, task_id)
    bulk(client, task_id, {"x.png": image_bytes(8, 8, fmt="PNG")})
    result = finish(client, task_id, sorting_method="predefined",
                    upload_file_order=["x.png", "missing.png"])
    assert result["status"] == "failed" and "missing.png (missing)" in result["message"]


def test_upload_start_clears_an_earlier_upload(client, make_task):
    task_id = make_task()
    start(client, task_id)
    bulk(client, task_id, {"old.png": image_bytes(8, 8, fmt="PNG")})
    start(client, task_id)
    bulk(client, task_id, {"new.png": image_bytes(8, 8, fmt="PNG")})
    finish(client, task_id)
    names = [f["name"] for f in client.get(f"/api/tasks/{task_id}/data/meta").json()["frames"]]
    assert names == ["new.png"]


def test_no_more_data_once_attached(client, make_task):
    task_id = make_task()
    start(client, task_id)
    bulk(client, task_id, {"a.png": image_bytes(8, 8, fmt="PNG")})
    finish(client, task_id)
    response = client.post(f"/api/tasks/{task_id}/data/", headers={"Upload-Start": ""})
    assert response.status_code == 400
    assert response.json() == {"detail": "Adding more data is not supported."}


def test_tus_rules(client, make_task):
    task_id = make_task()
    start(client, task_id)
    too_big = client.post(f"/api/tasks/{task_id}/data/", headers={
        **TUS, "Upload-Length": str(limits.MAX_TUS_FILE + 1),
        "Upload-Metadata": "filename " + base64.b64encode(b"v.mp4").decode()})
    assert too_big.status_code == 413
    bad_name = client.post(f"/api/tasks/{task_id}/data/", headers={
        **TUS, "Upload-Length": "3",
        "Upload-Metadata": "filename " + base64.b64encode(b"../x.png").decode()})
    assert bad_name.status_code == 400
    url = tus_create(client, task_id, "a.bin", 4)
    assert patch(client, url, 0, b"12345").status_code == 413  # past Upload-Length
    unknown = url.rsplit("/", 1)[0] + "/00000000-0000-4000-8000-000000000000"
    assert client.head(unknown, headers=TUS).status_code == 404
    assert patch(client, unknown, 0, b"1").status_code == 404


def test_request_body_limits_are_413(client, make_task, monkeypatch):
    from cvatcore.core.api import context

    task_id = make_task()
    monkeypatch.setattr(context, "STREAM_BODY_LIMIT", 1000)
    multipart = [("client_files[0]", ("a.png", b"x" * 5000))]
    response = client.post(f"/api/tasks/{task_id}/data/", files=multipart,
                           headers={"Upload-Multiple": ""})
    assert response.status_code == 413
    assert "limit of 1000 bytes" in response.json()["detail"]
    monkeypatch.setattr(context, "IN_MEMORY_BODY_LIMIT", 100)
    response = client.post(f"/api/tasks/{task_id}/data/", json={"server_files": ["a" * 200]})
    assert response.status_code == 413


@pytest.mark.parametrize("body", [{"image_quality": 101}, {"frame_filter": "every=2"},
                                  {"start_frame": 5, "stop_frame": 2},
                                  {"sorting_method": "by-size"}, {"remote_files": ["http://x"]},
                                  {"storage_method": "__not_in_enum__"}, {"storage": {}},
                                  {"server_files": "not-a-list", "image_quality": "x"}])
def test_bad_fields_are_400_and_queue_nothing(client, make_task, body):
    task_id = make_task()
    response = client.post(f"/api/tasks/{task_id}/data/", json=body)
    assert response.status_code == 400, response.text
    assert client.get("/api/requests", params={"task_id": task_id}).json()["count"] == 0


def test_anothers_task_is_refused(client, make_task, make_user, cvatcore_client):
    task_id = make_task()
    make_user("mallory", groups=["user"])
    client.logout()
    client.login("mallory", "mallory-pass")
    response = client.post(f"/api/tasks/{task_id}/data/", headers={"Upload-Start": ""})
    assert response.status_code in (403, 404)
