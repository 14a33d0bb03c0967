"""Archives, and inputs that must fail cleanly: a text file named .jpg, a zip bomb, mixed
media, a failure at the very end. Each leaves a failed request with a clear message and no
frames, segments or jobs; the job is idempotent when run again."""

from __future__ import annotations

import types
import zipfile

from cvatcore.core.media.store import walk
from cvatcore.core.services import task_data_job
from cvatcore.core.services.task_data import create_request_id
from cvatcore.hooks import JobFailed

from .conftest import counts, image_bytes, upload_files, zip_bytes


def test_zip_of_images(client, make_task, cvatcore_app):
    archive = zip_bytes({"b/2.jpg": image_bytes(30, 20), "a.jpg": image_bytes(10, 20),
                         "readme.txt": b"hello"}, zipfile.ZIP_STORED)
    task_id = make_task()
    result = upload_files(client, task_id, {"set.zip": archive})
    assert result["status"] == "finished", result
    meta = client.get(f"/api/tasks/{task_id}/data/meta").json()
    assert [(f["name"], f["width"]) for f in meta["frames"]] == [("a.jpg", 10), ("b/2.jpg", 30)]
    frame = client.get(f"/api/tasks/{task_id}/data",
                       params={"type": "frame", "number": 1, "quality": "original"})
    assert frame.content == image_bytes(30, 20)
    assert counts(cvatcore_app, task_id) == (2, 1, 1)


def test_a_text_file_named_jpg(client, make_task, cvatcore_app):
    task_id = make_task()
    result = upload_files(client, task_id, {"ok.jpg": image_bytes(), "fake.jpg": b"just text"})
    assert result["status"] == "failed"
    assert "fake.jpg" in result["message"] and "not a valid image" in result["message"]
    assert counts(cvatcore_app, task_id) == (0, 0, 0)
    assert client.get(f"/api/tasks/{task_id}").json()["size"] == 0


def test_a_zip_bomb_is_refused_before_unpacking(client, make_task, cvatcore_app):
    bomb = zip_bytes({"a.jpg": image_bytes(), "huge.png": b"\0" * (8 << 20)})
    assert len(bomb) < 100_000
    task_id = make_task()
    result = upload_files(client, task_id, {"bomb.zip": bomb})
    assert result["status"] == "failed" and "zip bomb" in result["message"]
    assert counts(cvatcore_app, task_id) == (0, 0, 0)
    media = cvatcore_app.state.cvatcore.media
    with cvatcore_app.state.cvatcore.db.unit_of_work() as session:
        from cvatcore.core.models import Task

        data_id = session.get(Task, task_id).data_id
    assert list(walk(media, f"data/{data_id}/extracted/")) == []  # nothing was unpacked


def test_mixed_media_and_nothing_usable(client, make_task, tmp_path):
    task_id = make_task()
    result = upload_files(client, task_id, {"a.jpg": image_bytes(),
                                            "b.zip": zip_bytes({"c.jpg": image_bytes()})})
    assert result["status"] == "failed" and "Only one archive" in result["message"]
    task_id = make_task("nothing")
    result = upload_files(client, task_id, {"notes.txt": b"hello"})
    assert result["status"] == "failed" and "No media data found" in result["message"]


def test_start_frame_past_the_end(client, make_task):
    task_id = make_task()
    result = upload_files(client, task_id, {"a.jpg": image_bytes()}, start_frame=5)
    assert result["status"] == "failed" and "No frames are left" in result["message"]


def test_a_failure_at_the_end_writes_nothing(client, make_task, cvatcore_app, monkeypatch):
    def broken(session, task, data):
        raise JobFailed("segments could not be made")

    monkeypatch.setattr(task_data_job, "create_segments", broken)
    task_id = make_task()
    result = upload_files(client, task_id, {"a.jpg": image_bytes(), "b.jpg": image_bytes()})
    assert result["status"] == "failed" and result["message"] == "segments could not be made"
    assert counts(cvatcore_app, task_id) == (0, 0, 0)
    task = client.get(f"/api/tasks/{task_id}").json()
    assert task["size"] == 0 and task["mode"] == ""


def test_running_the_job_again_changes_nothing(client, make_task, cvatcore_app):
    task_id = make_task()
    result = upload_files(client, task_id, {"a.jpg": image_bytes(), "b.jpg": image_bytes()})
    assert result["status"] == "finished"
    state = cvatcore_app.state.cvatcore
    with state.db.unit_of_work() as session:
        from cvatcore.core.models import BackgroundJob

        args = dict(session.get(BackgroundJob, create_request_id(task_id)).args)
    job = types.SimpleNamespace(args=args, state=state, owner_id=None,
                                progress=lambda *a, **k: None)
    assert task_data_job.run(job) == {"result_id": task_id}
    assert counts(cvatcore_app, task_id) == (2, 1, 1)
