"""Video tasks (an MPEG-4 file made with PyAV here): frame count and size, interpolation
mode with CVAT's default overlap, frames decoded from the nearest key frame, chunks."""

from __future__ import annotations

import io
import zipfile

import pytest

from cvatcore.core.media import video as video_module

from .conftest import counts, grey_level, upload_files, video_file


@pytest.fixture
def clip(tmp_path):
    return video_file(tmp_path / "clip.mp4", frames=30, gop=10).read_bytes()


def test_video_task(client, make_task, clip, cvatcore_app):
    task_id = make_task(segment_size=12)
    result = upload_files(client, task_id, {"clip.mp4": clip}, chunk_size=8)
    assert result["status"] == "finished", result
    meta = client.get(f"/api/tasks/{task_id}/data/meta").json()
    assert (meta["size"], meta["start_frame"], meta["stop_frame"]) == (30, 0, 29)
    assert meta["frames"] == [{"name": "clip.mp4", "width": 64, "height": 48,
                               "related_files": 0, "has_related_context": False}]
    task = client.get(f"/api/tasks/{task_id}").json()
    assert task["mode"] == "interpolation" and task["overlap"] == 5
    jobs = client.get("/api/jobs", params={"task_id": task_id}).json()["results"]
    assert sorted((j["start_frame"], j["stop_frame"]) for j in jobs) == [
        (0, 11), (7, 18), (14, 25), (21, 29)]
    assert counts(cvatcore_app, task_id) == (1, 4, 4)

    for number in (0, 13, 29):
        frame = client.get(f"/api/tasks/{task_id}/data",
                           params={"type": "frame", "number": number, "quality": "original"})
        assert frame.headers["content-type"] == "image/png"
        assert abs(grey_level(frame.content) - number * 8) <= 3, number
    chunk = client.get(f"/api/tasks/{task_id}/data",
                       params={"type": "chunk", "number": 1, "quality": "compressed"})
    with zipfile.ZipFile(io.BytesIO(chunk.content)) as archive:
        names = archive.namelist()
        assert names == [f"{i:06d}.jpeg" for i in range(8)]
        assert [abs(grey_level(archive.read(n)) - (8 + i) * 8) <= 3
                for i, n in enumerate(names)] == [True] * 8


def test_frames_decode_from_the_nearest_key_frame(client, make_task, clip, monkeypatch):
    task_id = make_task()
    upload_files(client, task_id, {"clip.mp4": clip})
    decoded = []
    real_frame_of = video_module.VideoIndex.frame_of

    def frame_of(self, pts):  # called once for every frame the decoder produces
        number = real_frame_of(self, pts)
        decoded.append(number)
        return number

    monkeypatch.setattr(video_module.VideoIndex, "frame_of", frame_of)
    frame = client.get(f"/api/tasks/{task_id}/data",
                       params={"type": "frame", "number": 25, "quality": "original"})
    assert abs(grey_level(frame.content) - 200) <= 3
    assert decoded and min(decoded) == 20 and max(decoded) == 25  # from key frame 20 on


def test_start_stop_step_on_video(client, make_task, clip):
    task_id = make_task()
    result = upload_files(client, task_id, {"clip.mp4": clip}, start_frame=3, stop_frame=20,
                          frame_filter="step=4")
    assert result["status"] == "finished", result
    meta = client.get(f"/api/tasks/{task_id}/data/meta").json()
    assert (meta["size"], meta["start_frame"], meta["stop_frame"]) == (5, 3, 19)
    frame = client.get(f"/api/tasks/{task_id}/data",
                       params={"type": "frame", "number": 2, "quality": "compressed"})
    assert abs(grey_level(frame.content) - 11 * 8) <= 4  # media frame 3 + 2 * 4


def test_a_broken_video_fails_cleanly(client, make_task, cvatcore_app):
    task_id = make_task()
    result = upload_files(client, task_id, {"clip.mp4": b"\x00\x00\x00 ftypisom garbage" * 10})
    assert result["status"] == "failed" and "clip.mp4" in result["message"]
    assert counts(cvatcore_app, task_id) == (0, 0, 0)
