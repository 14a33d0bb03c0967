"""Task data from the server's share (``server_files``), read through the configured storage
provider: files and folders (recursively), ``..`` refused, missing files named."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import counts, image_bytes, wait


@pytest.fixture
def share(cvatcore_app) -> Path:
    root = Path(cvatcore_app.state.cvatcore.settings.storage.options["local"]["root"])
    (root / "set" / "sub").mkdir(parents=True)
    (root / "set" / "a.jpg").write_bytes(image_bytes(20, 10))
    (root / "set" / "sub" / "b.jpg").write_bytes(image_bytes(22, 10))
    (root / "set" / "notes.txt").write_text("not media")
    (root / "c.png").write_bytes(image_bytes(24, 10, fmt="PNG"))
    return root


def create(client, task_id, files, **fields):
    return client.post(f"/api/tasks/{task_id}/data/",
                       json={"image_quality": 50, "server_files": files, **fields})


def test_files_and_folders(client, make_task, share, cvatcore_app):
    task_id = make_task()
    response = create(client, task_id, ["set/", "c.png"])
    assert response.status_code == 202, response.text
    result = wait(client, response.json()["rq_id"])
    assert result["status"] == "finished", result
    meta = client.get(f"/api/tasks/{task_id}/data/meta").json()
    assert [(f["name"], f["width"]) for f in meta["frames"]] == [
        ("c.png", 24), ("set/a.jpg", 20), ("set/sub/b.jpg", 22)]
    assert meta["image_quality"] == 50 and meta["storage"] == "share"
    frame = client.get(f"/api/tasks/{task_id}/data",
                       params={"type": "frame", "number": 0, "quality": "original"})
    assert frame.content == (share / "c.png").read_bytes()
    assert counts(cvatcore_app, task_id) == (3, 1, 1)


@pytest.mark.parametrize("path", ["../etc/passwd", "set/../../x.jpg", "/etc/passwd"])
def test_paths_leaving_the_share_are_400(client, make_task, share, path):
    task_id = make_task()
    response = create(client, task_id, [path])
    assert response.status_code == 400
    assert "server_files" in response.json()
    assert client.get("/api/requests", params={"task_id": task_id}).json()["count"] == 0


def test_a_missing_file_is_400_naming_it(client, make_task, share):
    task_id = make_task()
    response = create(client, task_id, ["c.png", "set/nope.jpg"])
    assert response.status_code == 400
    assert "set/nope.jpg" in str(response.json())


def test_a_folder_without_media_fails_the_request(client, make_task, share, cvatcore_app):
    (share / "empty").mkdir()
    (share / "empty" / "readme.txt").write_text("hello")
    task_id = make_task()
    result = wait(client, create(client, task_id, ["empty"]).json()["rq_id"])
    assert result["status"] == "failed" and "No media data found" in result["message"]
    assert counts(cvatcore_app, task_id) == (0, 0, 0)
