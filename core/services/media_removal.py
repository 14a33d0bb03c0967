"""The ``delete:media`` background job: removing the media of deleted tasks' data, queued in
the transaction that deletes them (by the project and task services) and run after it commits.

It lives apart from ``task_data`` so that deleting a project or a task needs nothing of
uploads, cloud storages or task creation.
"""

from __future__ import annotations

from typing import Any

from cvatcore.core.media import store


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

