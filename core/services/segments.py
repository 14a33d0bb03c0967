"""Splitting a task's frames into segments, one annotation job each, as CVAT does.

``segment_size`` 0 (or larger than the data) makes one segment with every frame; consecutive
segments share ``overlap`` frames (default 5 for video tasks, 0 for images, at most half a
segment). Frame numbers are the task's relative numbers, 0..size-1.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import insert, select

from cvatcore.core.models import Job, Segment, Task
from cvatcore.core.models.media import TaskData
from cvatcore.core.services import changes

if TYPE_CHECKING:
    from cvatcore.core.services.caller import Caller


def segment_ranges(size: int, segment_size: int, overlap: int | None, mode: str
                   ) -> tuple[list[tuple[int, int]], int, int]:
    """``(ranges, segment_size, overlap)`` with the values CVAT stores on the task."""
    if size <= 0:
        return [], segment_size, overlap or 0
    if segment_size <= 0 or segment_size > size:
        segment_size = size
    default = 5 if mode == "interpolation" else 0
    overlap = min(default if overlap is None else max(overlap, 0), segment_size // 2)
    step = segment_size - overlap if segment_size < size else size
    ranges: list[tuple[int, int]] = []
    for start in range(0, size, step):
        stop = min(start + segment_size - 1, size - 1)
        if ranges and stop <= ranges[-1][1]:
            break  # already covered by the previous segment's overlap
        ranges.append((start, stop))
    return ranges, segment_size, overlap


def create_segments(caller: Caller, task: Task, data: TaskData) -> list[Job]:
    """Create the task's segments and one annotation job per segment (bulk inserts), each job
    publishing ``create:job``; sets ``task.segment_size`` and ``task.overlap`` to the values
    used."""
    session = caller.session
    ranges, task.segment_size, task.overlap = segment_ranges(
        data.size, task.segment_size or 0, task.overlap, task.mode
    )
    if not ranges:
        return []
    segment_ids = session.scalars(
        insert(Segment).returning(Segment.id, sort_by_parameter_order=True),
        [{"task_id": task.id, "start_frame": a, "stop_frame": b, "type": "range"}
         for a, b in ranges],
    ).all()
    session.execute(insert(Job), [{"segment_id": sid, "task_id": task.id} for sid in segment_ids])
    jobs = list(session.scalars(select(Job).where(Job.task_id == task.id).order_by(Job.id)))
    for job in jobs:
        changes.created(caller, "job", job, org_id=task.organization_id)
    return jobs
