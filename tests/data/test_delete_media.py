"""Deleting a task or a project removes its media from the media store once the delete has
committed (a background job: a crash in between does not leave the files behind)."""

from __future__ import annotations

import time

from .conftest import image_bytes, upload_files


def _files(app, data_id):
    return app.state.cvatcore.media.list_page(f"data/{data_id}/", None, 1000).entries


def _data_id(client, task_id):
    return client.get(f"/api/tasks/{task_id}").json()["data"]


def _wait_until_gone(app, data_id, timeout=20.0):
    deadline = time.monotonic() + timeout
    while _files(app, data_id):
        assert time.monotonic() < deadline, f"media of data {data_id} still there"
        time.sleep(0.05)


def test_deleting_a_task_removes_its_media(client, make_task):
    task_id = make_task()
    upload_files(client, task_id, {"a.png": image_bytes(), "b.png": image_bytes()})
    data_id = _data_id(client, task_id)
    assert client.get(f"/api/tasks/{task_id}/data", params={
        "type": "frame", "number": 0, "quality": "compressed"}).status_code == 200
    app = client.app
    assert _files(app, data_id)
    assert client.delete(f"/api/tasks/{task_id}").status_code == 204
    _wait_until_gone(app, data_id)


def test_deleting_a_project_removes_the_media_of_its_tasks(client):
    project = client.post("/api/projects", json={"name": "p", "labels": [{"name": "a"}]}).json()
    ids = [client.post("/api/tasks", json={"name": f"t{i}", "project_id": project["id"]}
                       ).json()["id"] for i in range(2)]
    data_ids = []
    for task_id in ids:
        upload_files(client, task_id, {"a.png": image_bytes()})
        data_ids.append(_data_id(client, task_id))
    assert client.delete(f"/api/projects/{project['id']}").status_code == 204
    for data_id in data_ids:
        _wait_until_gone(client.app, data_id)


def test_a_failed_delete_keeps_the_media(client, make_task, make_user):
    task_id = make_task()
    upload_files(client, task_id, {"a.png": image_bytes()})
    data_id = _data_id(client, task_id)
    make_user("mallory")
    client.logout()
    client.login("mallory", "mallory-pass")
    assert client.delete(f"/api/tasks/{task_id}").status_code in (403, 404)
    time.sleep(0.3)
    assert _files(client.app, data_id)
