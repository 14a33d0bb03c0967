"""Reading task and job data over the API: meta, frames, chunks, previews (with the IAM
checks of ``services.tasks.get`` / ``services.jobs.get``)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from cvatcore.core.bus import snapshot
from cvatcore.core.errors import Conflict, NotFound, ValidationFailed
from cvatcore.core.media import meta
from cvatcore.core.media.access import MediaReader
from cvatcore.core.media.images import BadImage
from cvatcore.core.models import Job, Segment, Task, TaskData
from cvatcore.core.models.base import utcnow
from cvatcore.core.services.cloud_buckets import reader_provider

if TYPE_CHECKING:
    from cvatcore.core.services.caller import Caller

QUALITIES = ("compressed", "original")
TYPES = ("chunk", "frame", "context_image", "preview")


def _data(session: Session, task: Task, what: str = "Task") -> TaskData:
    data = session.get(TaskData, task.data_id) if task.data_id is not None else None
    if data is None or not data.size:
        raise ValidationFailed({"detail": f"{what} has no data."})
    return data


def _task(caller: Caller, task_id: int, scope: str) -> Task:
    from cvatcore.core.services import tasks

    return tasks.get(caller, task_id, scope)


def _job(caller: Caller, job_id: int, scope: str) -> tuple[Job, Task, Segment]:
    from cvatcore.core.services import jobs

    job = jobs.get(caller, job_id, scope)
    task = caller.session.get(Task, job.task_id)
    segment = caller.session.get(Segment, job.segment_id)
    assert task is not None and segment is not None
    return job, task, segment


# -- meta --------------------------------------------------------------------------------------


def task_meta(caller: Caller, task_id: int) -> dict[str, Any]:
    task = _task(caller, task_id, "view:metadata")
    return meta.task_meta(caller.session, _data(caller.session, task))


def update_task_meta(caller: Caller, task_id: int, fields: dict[str, Any]) -> dict[str, Any]:
    task = _task(caller, task_id, "update:metadata")
    data = _data(caller.session, task)
    if "deleted_frames" in fields:
        _set_deleted(caller, task, data, meta.clean_deleted(fields["deleted_frames"], 0,
                                                          data.size - 1))
    return meta.task_meta(caller.session, data)


def job_meta(caller: Caller, job_id: int) -> dict[str, Any]:
    _, task, segment = _job(caller, job_id, "view:metadata")
    return meta.job_meta(caller.session, _data(caller.session, task, "Job"), segment)


def update_job_meta(caller: Caller, job_id: int, fields: dict[str, Any]) -> dict[str, Any]:
    _, task, segment = _job(caller, job_id, "update:metadata")
    data = _data(caller.session, task, "Job")
    if "deleted_frames" in fields:
        mine = meta.clean_deleted(fields["deleted_frames"], segment.start_frame,
                                  segment.stop_frame)
        others = [f for f in data.deleted_frames or []
                  if not segment.start_frame <= f <= segment.stop_frame]
        _set_deleted(caller, task, data, sorted({*others, *mine}))
    return meta.job_meta(caller.session, data, segment)


def _set_deleted(caller: Caller, task: Task, data: TaskData, frames: list[int]) -> None:
    """Deleting frames changes what the task shows: one ``update:task`` event."""
    from cvatcore.core.services import changes

    if frames == sorted(data.deleted_frames or []):
        return
    before = snapshot(task)
    data.deleted_frames = frames
    task.updated_date = utcnow()
    caller.session.flush()
    changes.updated(caller, "task", task, before)


# -- media -------------------------------------------------------------------------------------


def _query(q: Mapping[str, str]) -> tuple[str, str]:
    kind = q.get("type")
    if kind not in TYPES:
        raise ValidationFailed.field("type", f"One of {', '.join(TYPES)} is required.")
    quality = q.get("quality") or "compressed"
    if quality not in QUALITIES:
        raise ValidationFailed.field("quality", f"One of {', '.join(QUALITIES)} is required.")
    return kind, quality


def task_media(caller: Caller, task_id: int, q: Mapping[str, str]) -> tuple[bytes, str]:
    """``GET /api/tasks/{id}/data?type=...``: bytes and MIME type (``q``: ``type``,
    ``quality``, ``number``)."""
    kind, quality = _query(q)
    task = _task(caller, task_id, "view:data")
    data = _data(caller.session, task)
    reader = media_reader(caller, data)
    with _undecodable():
        return _media(q, reader, data, kind, quality, 0, data.size - 1, job=False)


def job_media(caller: Caller, job_id: int, q: Mapping[str, str]) -> tuple[bytes, str]:
    """``GET /api/jobs/{id}/data?type=...``: only the job's frames; chunks by ``index``
    (the job's own chunk numbers) or ``number`` (the same, as older clients send it)."""
    kind, quality = _query(q)
    _, task, segment = _job(caller, job_id, "view:data")
    data = _data(caller.session, task, "Job")
    reader = media_reader(caller, data)
    with _undecodable():
        return _media(q, reader, data, kind, quality, segment.start_frame, segment.stop_frame,
                      job=True)


@contextmanager
def _undecodable() -> Iterator[None]:
    """A stored image that cannot be decoded (a truncated file that passed the header check
    at task creation) is a 409 naming the file, not a server error: the request was fine."""
    try:
        yield
    except BadImage as exc:
        raise Conflict(f"The task's media cannot be decoded: {exc}") from None


def _media(q: Mapping[str, str], reader: MediaReader, data: TaskData, kind: str, quality: str,
           first: int, last: int, job: bool) -> tuple[bytes, str]:
    if kind == "preview":
        return reader.preview(first), "image/jpeg"
    if kind == "chunk":
        raw = q.get("index") if job and q.get("index") is not None else \
            q.get("number")
        number = meta.parse_number(raw, "index" if job and "index" in q else "number")
        a, b = meta.chunk_range(data, number, first, last)
        return reader.chunk(a, b, quality), "application/zip"
    number = meta.parse_number(q.get("number"), "number")
    meta.check_frame(data, number, first, last, job)
    if kind == "context_image":
        raise NotFound("Context images for this frame are missing.")
    return reader.frame(number, quality)


def task_preview(caller: Caller, task_id: int) -> bytes:
    task = _task(caller, task_id, "view")
    data = _preview_data(caller, task)
    with _undecodable():
        return media_reader(caller, data).preview(0)


def job_preview(caller: Caller, job_id: int) -> bytes:
    _, task, segment = _job(caller, job_id, "view")
    data = _preview_data(caller, task)
    with _undecodable():
        return media_reader(caller, data).preview(segment.start_frame)


def media_reader(caller: Caller, data: TaskData) -> MediaReader:
    """A reader of ``data``'s frames; a cloud task's originals come from its bucket."""
    cloud = None
    if data.storage == "cloud_storage":
        cloud = reader_provider(caller.state, caller.session, data)
    return MediaReader(caller.state.media, caller.session, data, cloud)


def _preview_data(caller: Caller, task: Task) -> TaskData:
    data = caller.session.get(TaskData, task.data_id) if task.data_id is not None else None
    if data is None or not data.size:
        raise NotFound("The preview is not available: the task has no data yet.")
    return data
