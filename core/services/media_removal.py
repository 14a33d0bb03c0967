"""The ``delete:media`` background job: removing the media of deleted tasks' data, queued in
the transaction that deletes them (by the project and task services) and run after it commits.

It lives apart from ``task_data`` so that deleting a project or a task needs nothing of
uploads, cloud storages or task creation.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select

from cvatcore.core.media import store

DISCARD_KIND = "discard:data"


def delete_media(state: Any, data_ids: list[int]) -> None:
    """Remove the media of deleted data rows (call after the deleting transaction commits)."""
    for data_id in data_ids:
        store.remove_prefix(state.media, store.data_prefix(data_id))


def schedule_media_removal(session: Any, data_ids: list[int]) -> None:
    """Queue the removal of these data rows' media, inside the transaction that deletes them:
    it runs only if the delete commits, and survives a crash (a background job)."""
    from cvatcore.core.jobs.queue import enqueue, request_id

    for data_id in data_ids:
        enqueue(session, job_id=request_id("delete", "media", data_id), kind="delete:media",
                args={"data_ids": [data_id]},
                operation={"type": "delete:media", "target": "media"})


def run_delete_media_job(job: Any) -> None:
    delete_media(job.state, [int(i) for i in job.args["data_ids"]])



def schedule_orphan_check(session: Any, data_id: int, after: timedelta) -> None:
    """Queue, in the transaction that makes a data row before any task owns it (a restore),
    a check that removes the row and its media ``after`` from now unless a task took it: a
    worker killed half-way through must not leave them behind."""
    from cvatcore.core.jobs.queue import enqueue, request_id
    from cvatcore.core.models.base import utcnow

    job = enqueue(session, job_id=request_id("discard", "data", data_id), kind=DISCARD_KIND,
                  args={"data_id": data_id}, operation={"type": DISCARD_KIND, "target": "media"})
    job.next_run_at = utcnow() + after


def cancel_orphan_checks(session: Any, data_ids: list[int]) -> None:
    """Drop the queued checks of rows removed otherwise (a failed restore cleans up itself)."""
    from cvatcore.core.jobs.queue import request_id
    from cvatcore.core.models import BackgroundJob

    ids = [request_id("discard", "data", data_id) for data_id in data_ids]
    session.execute(delete(BackgroundJob).where(BackgroundJob.id.in_(ids)))


def run_discard_data_job(job: Any) -> None:
    """Remove a data row that no task owns, and its media; leave one a task owns alone."""
    from cvatcore.core.models import Task, TaskData

    data_id = int(job.args["data_id"])
    with job.state.db.unit_of_work() as session:
        job.guard(session)
        if session.scalar(select(Task.id).where(Task.data_id == data_id).limit(1)) is not None:
            return
        session.execute(delete(TaskData).where(TaskData.id == data_id))
    delete_media(job.state, [data_id])
