"""Dataset import into a project (``POST /api/projects/{id}/dataset/``, cvat-sdk's
``project.import_dataset``): as CVAT, the archive's images become a new task of the project
(named after the file), then its annotations are imported into that task. The task is made
by the same steps as task data (``index_media`` and the ``create:task`` commit); if anything
fails afterwards the task is deleted again, so a failed import leaves the project as it was.

One task holds every image of the archive (CVAT makes one per subset)."""

from __future__ import annotations

import contextlib
import logging
import posixpath
from collections.abc import Callable
from typing import Any

from cvatcore.core.media import store
from cvatcore.core.media.archives import BadArchive
from cvatcore.core.media.indexing import Params, index_media
from cvatcore.core.media.sources import SourceError, list_inputs
from cvatcore.core.models import TaskData
from cvatcore.core.services import tasks
from cvatcore.core.services.caller import Caller
from cvatcore.core.services.task_data_job import commit_task_data
from cvatcore.hooks import JobFailed

logger = logging.getLogger("cvatcore.datasets")


def _new_task(job: Any, project_id: int, name: str) -> tuple[int, int]:
    with job.state.db.unit_of_work() as session:
        job.guard(session)
        caller = Caller.for_job(job, session)
        task = tasks.create(caller, {"name": name, "project_id": project_id})
        data = TaskData()
        session.add(data)
        session.flush()
        task.data_id = data.id
        session.flush()
        return task.id, data.id


def import_into_project(job: Any, project_id: int, upload_key: str, filename: str,
                        import_task: Callable[[int], None]) -> int:
    """Make the task from the archive's images, then ``import_task(task_id)``; returns the
    new task's id."""
    media = job.state.media
    name = posixpath.splitext(filename)[0][:200] or "dataset"
    task_id, data_id = _new_task(job, project_id, name)
    try:
        store.copy_object(media, upload_key, media, store.raw_prefix(data_id) + filename)
        inputs = list_inputs(media, data_id)
        if not inputs.archives:
            raise JobFailed(f"{filename}: a project dataset must be a zip archive with its "
                            "images (export it with save_images)")
        params = Params()
        indexed = index_media(media, data_id, inputs, params,
                              lambda f, m: job.progress(round(min(f, 0.9) / 2, 3), m))
        commit_task_data(job, task_id, data_id, indexed, params)
        import_task(task_id)
    except (SourceError, BadArchive) as exc:
        _remove(job, task_id, data_id)
        raise JobFailed(str(exc)) from None
    except BaseException:
        _remove(job, task_id, data_id)
        raise
    return task_id


def _remove(job: Any, task_id: int, data_id: int) -> None:
    try:
        with job.state.db.unit_of_work() as session:
            tasks.delete(Caller.for_job(job, session), task_id)
    except Exception:
        logger.exception("cannot remove task %s after a failed dataset import", task_id)
    with contextlib.suppress(OSError):
        store.remove_prefix(job.state.media, store.data_prefix(data_id))
