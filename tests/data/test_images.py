"""Image tasks: a plain multipart upload, then meta, frames, chunks and previews as a client
reads them; sorting, start/stop/step and chunk sizes."""

from __future__ import annotations

import io
import zipfile

from PIL import Image

from .conftest import counts, grey_level, image_bytes, upload_files


def greys(n: int) -> dict[str, bytes]:
    return {f"img{i}.png": image_bytes(40 + i, 30, (i * 20,) * 3, "PNG") for i in range(n)}


def test_plain_upload_makes_frames_and_one_job(client, make_task, cvatcore_app):
    task_id = make_task()
    result = upload_files(client, task_id, greys(5))
    assert result["status"] == "finished", result
    assert result["result_id"] == task_id and result["operation"]["type"] == "create:task"

    meta = client.get(f"/api/tasks/{task_id}/data/meta").json()
    assert meta["size"] == 5 and meta["start_frame"] == 0 and meta["stop_frame"] == 4
    assert [f["name"] for f in meta["frames"]] == [f"img{i}.png" for i in range(5)]
    assert [(f["width"], f["height"]) for f in meta["frames"]] == [(40 + i, 30) for i in range(5)]
    assert meta["deleted_frames"] == [] and meta["included_frames"] is None
    assert meta["image_quality"] == 70 and meta["chunk_size"] == 72

    task = client.get(f"/api/tasks/{task_id}").json()
    assert task["mode"] == "annotation" and task["size"] == 5
    assert counts(cvatcore_app, task_id) == (5, 1, 1)


def test_frames_chunks_and_previews(client, make_task):
    task_id = make_task()
    upload_files(client, task_id, greys(4), chunk_size=3, image_quality=90)
    original = client.get(f"/api/tasks/{task_id}/data/",
                          params={"type": "frame", "number": 2, "quality": "original"})
    assert original.status_code == 200 and original.headers["content-type"] == "image/png"
    assert original.content == greys(4)["img2.png"]

    compressed = client.get(f"/api/tasks/{task_id}/data",
                            params={"type": "frame", "number": 2, "quality": "compressed"})
    assert compressed.headers["content-type"] == "image/jpeg"
    assert abs(grey_level(compressed.content) - 40) <= 2
    again = client.get(f"/api/tasks/{task_id}/data",
                       params={"type": "frame", "number": 2, "quality": "compressed"})
    assert again.content == compressed.content  # served from the cache

    chunk = client.get(f"/api/tasks/{task_id}/data/",
                       params={"type": "chunk", "number": 1, "quality": "original"})
    assert chunk.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(chunk.content)) as archive:
        assert archive.namelist() == ["000000.png"]  # frame 3, alone in chunk 1
        assert archive.read("000000.png") == greys(4)["img3.png"]
    chunk0 = client.get(f"/api/tasks/{task_id}/data/",
                        params={"type": "chunk", "number": 0, "quality": "compressed"})
    with zipfile.ZipFile(io.BytesIO(chunk0.content)) as archive:
        assert archive.namelist() == ["000000.jpeg", "000001.jpeg", "000002.jpeg"]
        assert [abs(grey_level(archive.read(n)) - 20 * i) <= 2
                for i, n in enumerate(archive.namelist())] == [True] * 3

    preview = client.get(f"/api/tasks/{task_id}/preview")
    assert preview.status_code == 200 and preview.headers["content-type"] == "image/jpeg"
    with Image.open(io.BytesIO(preview.content)) as img:
        assert img.size[0] <= 256 and img.size[1] <= 256


def test_out_of_range_and_bad_queries_are_400_json(client, make_task):
    task_id = make_task()
    upload_files(client, task_id, greys(3))
    for params in ({"type": "frame", "number": 3}, {"type": "frame", "number": -1},
                   {"type": "chunk", "number": 1}, {"type": "frame", "number": "x"},
                   {"type": "nope", "number": 0}, {"type": "frame", "number": 0,
                                                   "quality": "best"}):
        response = client.get(f"/api/tasks/{task_id}/data", params=params)
        assert response.status_code == 400, (params, response.text)
        assert response.headers["content-type"].startswith("application/json")
    response = client.get(f"/api/tasks/{task_id}/data", params={"type": "frame", "number": 3})
    assert "Invalid frame '3'" in response.json()["detail"]


def test_no_data_yet(client, make_task):
    task_id = make_task()
    assert client.get(f"/api/tasks/{task_id}/data",
                      params={"type": "frame", "number": 0}).status_code == 400
    assert client.get(f"/api/tasks/{task_id}/preview").status_code == 404


def test_exif_rotation_swaps_the_reported_size(client, make_task):
    task_id = make_task()
    upload_files(client, task_id, {"rot.jpg": image_bytes(40, 20, exif_orientation=6)})
    frame = client.get(f"/api/tasks/{task_id}/data/meta").json()["frames"][0]
    assert (frame["width"], frame["height"]) == (20, 40)
    compressed = client.get(f"/api/tasks/{task_id}/data",
                            params={"type": "frame", "number": 0, "quality": "compressed"})
    with Image.open(io.BytesIO(compressed.content)) as img:
        assert img.size == (20, 40)


def test_sorting_methods(client, make_task):
    names = ["img10.png", "img2.png", "img1.png"]
    files = {n: image_bytes(10, 10, fmt="PNG") for n in names}
    expected = {"lexicographical": ["img1.png", "img10.png", "img2.png"],
                "natural": ["img1.png", "img2.png", "img10.png"]}
    for method, order in expected.items():
        task_id = make_task(method)
        upload_files(client, task_id, files, sorting_method=method)
        meta = client.get(f"/api/tasks/{task_id}/data/meta").json()
        assert [f["name"] for f in meta["frames"]] == order, method
    task_id = make_task("random")
    upload_files(client, task_id, files, sorting_method="random")
    meta = client.get(f"/api/tasks/{task_id}/data/meta").json()
    assert sorted(f["name"] for f in meta["frames"]) == sorted(names)


def test_start_stop_and_step(client, make_task):
    task_id = make_task()
    result = upload_files(client, task_id, greys(10), start_frame=1, stop_frame=8,
                          frame_filter="step=3")
    assert result["status"] == "finished", result
    meta = client.get(f"/api/tasks/{task_id}/data/meta").json()
    assert [f["name"] for f in meta["frames"]] == ["img1.png", "img4.png", "img7.png"]
    assert (meta["size"], meta["start_frame"], meta["stop_frame"], meta["frame_filter"]) == (
        3, 1, 7, "step=3")
    frame = client.get(f"/api/tasks/{task_id}/data",
                       params={"type": "frame", "number": 2, "quality": "original"})
    assert frame.content == greys(10)["img7.png"]


def test_segments_jobs_and_events(client, make_task, cvatcore_app):
    events = []
    cvatcore_app.state.cvatcore.bus.subscribe(lambda event: events.append(event), committed=True)
    task_id = make_task(segment_size=4, overlap=1)
    upload_files(client, task_id, greys(10))
    assert counts(cvatcore_app, task_id) == (10, 3, 3)
    updates = [e for e in events if e.scope == "update:task" and e.obj_id == task_id]
    assert len(updates) == 1
    assert updates[0].before["mode"] == "" and updates[0].after["mode"] == "annotation"
    assert len([e for e in events if e.scope == "create:job"]) == 3
    jobs = client.get("/api/jobs", params={"task_id": task_id}).json()["results"]
    ranges = sorted((j["start_frame"], j["stop_frame"]) for j in jobs)
    assert ranges == [(0, 3), (3, 6), (6, 9)]
    assert client.get(f"/api/tasks/{task_id}").json()["overlap"] == 1
