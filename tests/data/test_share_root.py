"""One share everywhere: with no ``[storage.options.local] root`` the share is
``<data_dir>/share`` for the request that checks ``server_files``, the job that copies them and
``cvatcore mount``, whatever directory the server was started from."""

from __future__ import annotations

from pathlib import Path

import pytest

from cvatcore.hooks.testing.harness import test_settings

from .conftest import image_bytes, wait


@pytest.fixture
def cvatcore_settings(tmp_path, cvatcore_database_url, monkeypatch):
    # The server starts in a directory that has a ``data/share`` of its own: the share
    # that a root relative to the working directory would read.
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "data" / "share").mkdir(parents=True)
    (elsewhere / "data" / "share" / "stray.jpg").write_bytes(image_bytes(30, 10))
    monkeypatch.chdir(elsewhere)
    return test_settings(tmp_path / "srv", cvatcore_database_url, storage={})


def test_server_files_come_from_data_dir_share_wherever_the_server_starts(
        client, make_task, cvatcore_app, cvatcore_settings):
    share = Path(cvatcore_settings.server.data_dir) / "share"
    share.mkdir(parents=True)
    (share / "in-share.jpg").write_bytes(image_bytes(20, 10))
    assert cvatcore_app.state.cvatcore.configured_storage("local").stat("in-share.jpg").size

    task_id = make_task()
    response = client.post(f"/api/tasks/{task_id}/data/",
                           json={"image_quality": 50, "server_files": ["in-share.jpg"]})
    assert response.status_code == 202, response.text
    result = wait(client, response.json()["rq_id"])
    assert result["status"] == "finished", result
    meta = client.get(f"/api/tasks/{task_id}/data/meta").json()
    assert [(f["name"], f["width"]) for f in meta["frames"]] == [("in-share.jpg", 20)]

    # A file only in ``./data/share`` of the working directory is not in the share.
    other = make_task("other")
    refused = client.post(f"/api/tasks/{other}/data/",
                          json={"image_quality": 50, "server_files": ["stray.jpg"]})
    assert refused.status_code == 400, refused.text
    assert "stray.jpg" in str(refused.json()["server_files"])
    assert client.get("/api/requests", params={"task_id": other}).json()["count"] == 0
