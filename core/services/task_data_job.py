"""The ``create:task`` background job: media in the upload area become a task's frames,
segments and jobs.

The media work (copying server files, unpacking, probing, indexing; for a cloud storage only
reading a manifest or image headers, nothing is copied) happens first, outside any
transaction; then one transaction writes every row (TaskData values, Frame rows in bulk,
segments, jobs, the task's mode) and publishes ``update:task``. A failure before that
transaction removes what the run derived (unpacked members, the video index, cached files)
and leaves the task without frames; a run that finds the data already written does nothing
(the job is idempotent).
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from sqlalchemy import insert, select

from cvatcore.core.bus import snapshot
from cvatcore.core.jobs.runner import JobLost
from cvatcore.core.media import store
from cvatcore.core.media.cloud_source import index_cloud
from cvatcore.core.media.indexing import Indexed, Params, index_media
from cvatcore.core.media.sources import SourceError, copy_server_files, list_inputs
from cvatcore.core.models import Frame, Task, TaskData
from cvatcore.core.models.base import utcnow
from cvatcore.core.services import changes
from cvatcore.core.services.caller import Caller
from cvatcore.core.services.cloud_buckets import open_for_job
from cvatcore.core.services.segments import create_segments
from cvatcore.hooks import JobFailed, StoragePathError

logger = logging.getLogger("cvatcore.media")
FRAME_BATCH = 5000


def run(job: Any) -> dict[str, Any]:
    args = job.args
    task_id, data_id = int(args["task_id"]), int(args["data_id"])
    state = job.state
    with state.db.unit_of_work() as session:
        task, data = session.get(Task, task_id), session.get(TaskData, data_id)
        if task is None or data is None or task.data_id != data_id:
            raise JobFailed(f"Task {task_id} no longer exists.")
        if data.size:
            return {"result_id": task_id}  # an earlier run of this job finished the work
    media = state.media
    try:
        indexed = _index(job, media, data_id, args)
        job.progress(0.95, "Saving the task")
        commit_task_data(job, task_id, data_id, indexed, Params.from_args(args.get("params", {})))
    except (SourceError, StoragePathError) as exc:
        _discard(job, media, data_id)
        raise JobFailed(str(exc)) from None
    except JobLost:
        raise  # another worker runs the job now: its files are not ours to remove
    except BaseException:
        _discard(job, media, data_id)
        raise
    return {"result_id": task_id}


def _index(job: Any, media: Any, data_id: int, args: dict[str, Any]) -> Indexed:
    def report(fraction: float, message: str) -> None:
        job.progress(round(min(max(fraction, 0.0), 0.95), 3), message)

    server_files = args.get("server_files") or []
    params = args.get("params", {})
    if params.get("cloud_storage_id"):
        storage_id = int(params["cloud_storage_id"])
        report(0.0, "Reading the cloud storage")
        return index_cloud(open_for_job(job.state, storage_id), storage_id, server_files,
                           params, report)
    if server_files:
        state = job.state
        share = state.configured_storage(state.settings.storage.default)
        report(0.0, "Copying files from the share")
        copy_server_files(share, media, server_files, data_id,
                          lambda n: report(0.05, f"Copied {n} files from the share"),
                          params.get("server_files_exclude") or [])
    report(0.05, "Listing the uploaded files")
    inputs = list_inputs(media, data_id)
    return index_media(media, data_id, inputs, Params.from_args(params), report)


def commit_task_data(job: Any, task_id: int, data_id: int, indexed: Indexed, params: Params
                     ) -> None:
    """Every row in one transaction; the task row is locked first, so two runs of the job
    cannot both write frames. The transaction renews the job's lease first: a worker that
    lost the job (stalled past its lease, taken over) writes nothing."""
    with job.state.db.unit_of_work() as session:
        job.guard(session)
        stmt = select(Task).where(Task.id == task_id)
        if session.bind.dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        task = session.scalar(stmt)
        data = session.get(TaskData, data_id)
        if task is None or data is None:
            raise JobFailed(f"Task {task_id} no longer exists.")
        if data.size:
            return
        fill_task_data(Caller.for_job(job, session), task, data, indexed, params)


def fill_task_data(caller: Caller, task: Task, data: TaskData, indexed: Indexed, params: Params
                   ) -> None:
    """The indexed media become ``data``'s values and frames, the task's mode, segments and
    jobs, with the events a request publishes (in the caller's transaction). A backup restore
    calls this too, so a restored task is made exactly as an uploaded one."""
    session = caller.session
    before = snapshot(task)
    data.media_type, data.media_prefix = indexed.media_type, indexed.media_prefix
    data.video_path = indexed.video_path
    data.size, data.chunk_size = indexed.size, indexed.chunk_size
    data.start_frame, data.stop_frame = indexed.start_frame, indexed.stop_frame
    data.frame_filter = params.frame_filter or ""
    data.image_quality, data.sorting_method = params.image_quality, params.sorting_method
    data.chunks_updated_date = utcnow()
    if indexed.cloud_storage_id is not None:  # the frames are keys in that storage
        data.storage, data.cloud_storage_id = "cloud_storage", indexed.cloud_storage_id
    _insert_frames(session, data.id, indexed.frames)
    task.mode = "interpolation" if indexed.media_type == "video" else "annotation"
    task.updated_date = utcnow()
    # the same services, and so the same events, as a request: the user who asked for the
    # data is the actor, with the request id their upload had
    create_segments(caller, task, data)
    changes.updated(caller, "task", task, before)


def _insert_frames(session: Any, data_id: int, frames: list[tuple[str, int, int]]) -> None:
    for start in range(0, len(frames), FRAME_BATCH):
        session.execute(insert(Frame), [
            {"data_id": data_id, "frame": start + n, "path": path, "width": w, "height": h,
             "related_files": 0}
            for n, (path, w, h) in enumerate(frames[start:start + FRAME_BATCH])
        ])


def _discard(job: Any, media: Any, data_id: int) -> None:
    """Remove what a failed run derived; the uploaded files stay until the next upload.
    Only while this worker still holds the job (the lease renewed just now): a run that
    failed because it lost the job must not remove what the worker running it now made."""
    try:
        with job.state.db.unit_of_work() as session:
            job.guard(session)
    except JobLost:
        logger.warning("job %s was taken over; its files are left to the new worker", job.id)
        return
    except Exception:  # the database is away: the files are removed all the same
        logger.exception("cannot renew the lease of job %s before cleaning up", job.id)
    for prefix in (store.extracted_prefix(data_id), store.cache_prefix(data_id)):
        try:
            store.remove_prefix(media, prefix)
        except OSError:
            logger.exception("cannot clean %s after a failed task creation", prefix)
    with contextlib.suppress(OSError):
        media.delete(store.data_prefix(data_id) + "video.json")
