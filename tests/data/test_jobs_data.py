"""A job's view of the data (its segment's frames only) and deleted frames on tasks and
jobs."""

from __future__ import annotations

import io
import zipfile

from .conftest import image_bytes, upload_files


def make(client, make_task):
    task_id = make_task(segment_size=3)
    files = {f"f{i}.png": image_bytes(10 + i, 10, fmt="PNG") for i in range(7)}
    upload_files(client, task_id, files, chunk_size=2)
    jobs = client.get("/api/jobs", params={"task_id": task_id}).json()["results"]
    return task_id, files, sorted(jobs, key=lambda j: j["start_frame"])


def test_job_meta_frames_and_chunks(client, make_task):
    task_id, files, jobs = make(client, make_task)
    second = jobs[1]["id"]
    meta = client.get(f"/api/jobs/{second}/data/meta").json()
    assert (meta["start_frame"], meta["stop_frame"], meta["size"]) == (3, 5, 3)
    assert [f["name"] for f in meta["frames"]] == ["f3.png", "f4.png", "f5.png"]

    frame = client.get(f"/api/jobs/{second}/data",
                       params={"type": "frame", "number": 4, "quality": "original"})
    assert frame.status_code == 200 and frame.content == files["f4.png"]
    outside = client.get(f"/api/jobs/{second}/data",
                         params={"type": "frame", "number": 2, "quality": "original"})
    assert outside.status_code == 400
    assert outside.json()["detail"] == "Incorrect requested frame number: 2"

    chunk = client.get(f"/api/jobs/{second}/data",
                       params={"type": "chunk", "index": 1, "quality": "original"})
    with zipfile.ZipFile(io.BytesIO(chunk.content)) as archive:
        assert [archive.read(n) for n in archive.namelist()] == [files["f5.png"]]
    assert client.get(f"/api/jobs/{second}/data",
                      params={"type": "chunk", "index": 2}).status_code == 400
    preview = client.get(f"/api/jobs/{second}/preview")
    assert preview.status_code == 200 and preview.headers["content-type"] == "image/jpeg"


def test_deleted_frames(client, make_task):
    task_id, _, jobs = make(client, make_task)
    response = client.patch(f"/api/tasks/{task_id}/data/meta", json={"deleted_frames": [5, 1, 1]})
    assert response.status_code == 200 and response.json()["deleted_frames"] == [1, 5]
    assert client.patch(f"/api/tasks/{task_id}/data/meta",
                        json={"deleted_frames": [7]}).status_code == 400
    assert client.patch(f"/api/tasks/{task_id}/data/meta",
                        json={"deleted_frames": "1"}).status_code == 400

    second = jobs[1]["id"]
    assert client.get(f"/api/jobs/{second}/data/meta").json()["deleted_frames"] == [5]
    response = client.patch(f"/api/jobs/{second}/data/meta", json={"deleted_frames": [3]})
    assert response.status_code == 200 and response.json()["deleted_frames"] == [3]
    assert client.patch(f"/api/jobs/{second}/data/meta",
                        json={"deleted_frames": [0]}).status_code == 400
    task_meta = client.get(f"/api/tasks/{task_id}/data/meta").json()
    assert task_meta["deleted_frames"] == [1, 3]  # the first job's frame 1 was kept
