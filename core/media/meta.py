"""``DataMetaRead`` for tasks and jobs, deleted frames, and which frames a data request may
ask for (with CVAT's messages for the ones out of range)."""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cvatcore.core.errors import ValidationFailed
from cvatcore.core.media.frames_math import frame_step
from cvatcore.core.models import Segment
from cvatcore.core.models.media import Frame, TaskData


def frames_meta(session: Session, data: TaskData, first: int, last: int) -> list[dict[str, Any]]:
    """FrameMeta of frames ``first..last``; a video has one entry for the whole file."""
    if data.media_type == "video":
        first = last = 0
    rows = session.execute(
        select(Frame.path, Frame.width, Frame.height, Frame.related_files)
        .where(Frame.data_id == data.id, Frame.frame >= first, Frame.frame <= last)
        .order_by(Frame.frame)
    )
    return [{"name": path, "width": w, "height": h, "related_files": related,
             "has_related_context": related > 0} for path, w, h, related in rows]


def _meta(data: TaskData, frames: list[dict[str, Any]], deleted: list[int], size: int,
          start: int, stop: int, included: list[int] | None) -> dict[str, Any]:
    return {
        # A datetime: the API's JSON encoder writes it in CVAT's format, like every date.
        "chunks_updated_date": data.chunks_updated_date,
        "chunk_size": data.chunk_size,
        "size": size,
        "image_quality": data.image_quality,
        "start_frame": start,
        "stop_frame": stop,
        "frame_filter": data.frame_filter,
        "frames": frames,
        "deleted_frames": deleted,
        "included_frames": included,
        "storage": data.storage,
        "cloud_storage_id": data.cloud_storage_id,
    }


def task_meta(session: Session, data: TaskData) -> dict[str, Any]:
    frames = frames_meta(session, data, 0, data.size - 1) if data.size else []
    return _meta(data, frames, sorted(data.deleted_frames or []), data.size, data.start_frame,
                 data.stop_frame, None)


def job_meta(session: Session, data: TaskData, segment: Segment) -> dict[str, Any]:
    """The segment's frames; start/stop are media (absolute) numbers, as CVAT reports them."""
    step = frame_step(data.frame_filter)
    frames = frames_meta(session, data, segment.start_frame, segment.stop_frame)
    deleted = [f for f in sorted(data.deleted_frames or [])
               if segment.start_frame <= f <= segment.stop_frame]
    start = data.start_frame + segment.start_frame * step
    stop = min(data.stop_frame, data.start_frame + segment.stop_frame * step)
    return _meta(data, frames, deleted, segment.stop_frame - segment.start_frame + 1,
                 start, stop, None)


def clean_deleted(value: Any, first: int, last: int) -> list[int]:
    """``deleted_frames`` of a PATCH: distinct frame numbers within ``first..last``."""
    if not isinstance(value, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    ):
        raise ValidationFailed.field("deleted_frames", "A list of integers is required.")
    wrong = [v for v in value if not first <= v <= last]
    if wrong:
        raise ValidationFailed.field(
            "deleted_frames", f"Frames {wrong[:10]} are outside the range [{first}, {last}].")
    return sorted(set(value))


def check_frame(data: TaskData, number: int, first: int, last: int, job: bool) -> None:
    if not first <= number <= last:
        if job:
            raise ValidationFailed({"detail": f"Incorrect requested frame number: {number}"})
        raise ValidationFailed({"detail": f"Invalid frame '{number}'. The frame number should "
                                          f"be in the [0, {data.size}] range"})


def chunk_range(data: TaskData, number: int, first: int, last: int) -> tuple[int, int]:
    """Frames of chunk ``number`` of the frame range ``[first, last]``; 400 when there is no
    such chunk."""
    chunk_size = data.chunk_size or 1
    last_chunk = math.ceil((last - first + 1) / chunk_size) - 1
    if not 0 <= number <= last_chunk:
        raise ValidationFailed({"detail": f"Invalid chunk number '{number}'. The chunk number "
                                          f"should be in the [0, {last_chunk}] range"})
    a = first + number * chunk_size
    return a, min(a + chunk_size - 1, last)


def parse_number(value: str | None, name: str) -> int:
    if value is None or not value.strip().lstrip("-").isdigit():
        raise ValidationFailed.field(name, "A valid integer is required.")
    return int(value)
