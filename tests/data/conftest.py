"""Fixtures for the task-data tests: a signed-in user, tasks, media made on the fly (Pillow
images, PyAV videos, zip archives) and a helper that waits for a background request."""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import pytest
from PIL import Image
from sqlalchemy import func, select

from cvatcore.core.models import Frame, Job, Segment, Task


def image_bytes(width: int = 32, height: int = 24, color: tuple[int, int, int] = (200, 10, 10),
                fmt: str = "JPEG", exif_orientation: int | None = None) -> bytes:
    img = Image.new("RGB", (width, height), color)
    out = io.BytesIO()
    if exif_orientation is not None:
        exif = Image.Exif()
        exif[274] = exif_orientation
        img.save(out, format=fmt, exif=exif.tobytes())
    else:
        img.save(out, format=fmt)
    return out.getvalue()


def zip_bytes(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as archive:
        for name, payload in members.items():
            archive.writestr(name, payload)
    return out.getvalue()


def video_file(path: Path, frames: int = 30, size: tuple[int, int] = (64, 48),
               gop: int = 10) -> Path:
    """An H.264 video (lossless, with B-frames) whose frame ``n`` is a flat grey of level
    ``n * 8`` (so a decoded frame tells which one it is), with a key frame every ``gop``
    frames and no others."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.codec_context.gop_size = gop
        stream.codec_context.options = {"qp": "0", "sc_threshold": "0", "bf": "2",
                                        "keyint_min": str(gop)}
        for n in range(frames):
            img = Image.new("RGB", size, (n * 8 % 256,) * 3)
            for packet in stream.encode(av.VideoFrame.from_image(img)):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def grey_level(payload: bytes) -> int:
    with Image.open(io.BytesIO(payload)) as img:
        return img.convert("L").getpixel((img.width // 2, img.height // 2))


@pytest.fixture
def client(cvatcore_client: Any, make_user: Callable[..., Any]) -> Any:
    make_user("alice", groups=["user"])
    cvatcore_client.login("alice", "alice-pass")
    return cvatcore_client


@pytest.fixture
def make_task(client: Any) -> Callable[..., int]:
    def make(name: str = "task", **fields: Any) -> int:
        body = {"name": name, "labels": [{"name": "car"}], **fields}
        response = client.post("/api/tasks", json=body)
        assert response.status_code == 201, response.text
        return response.json()["id"]

    return make


def wait(client: Any, rq_id: str, timeout: float = 60.0) -> dict[str, Any]:
    """Poll ``/api/requests/{rq_id}`` until it is finished or failed, as cvat-sdk does."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(f"/api/requests/{rq_id}")
        assert response.status_code == 200, response.text
        body = response.json()
        if body["status"] in ("finished", "failed"):
            return body
        assert time.monotonic() < deadline, f"request {rq_id} still {body['status']}"
        time.sleep(0.05)


def upload_files(client: Any, task_id: int, files: dict[str, bytes], **fields: Any
                 ) -> dict[str, Any]:
    """A single multipart request with the files and the fields; waits for the request."""
    multipart = [(f"client_files[{i}]", (name, payload))
                 for i, (name, payload) in enumerate(files.items())]
    data = {"image_quality": "70", **{k: str(v) for k, v in fields.items()}}
    response = client.post(f"/api/tasks/{task_id}/data", files=multipart, data=data)
    assert response.status_code == 202, response.text
    return wait(client, response.json()["rq_id"])


def counts(app: Any, task_id: int) -> tuple[int, int, int]:
    """(frames, segments, jobs) rows of the task."""
    with app.state.cvatcore.db.unit_of_work() as session:
        task = session.get(Task, task_id)
        frames = session.scalar(
            select(func.count()).select_from(Frame).where(Frame.data_id == task.data_id)
        ) if task.data_id is not None else 0
        segments = session.scalar(
            select(func.count()).select_from(Segment).where(Segment.task_id == task_id))
        jobs = session.scalar(select(func.count()).select_from(Job).where(Job.task_id == task_id))
        return frames, segments, jobs
