"""Task data: attaching media to a task (uploads, server files, the ``create:task`` job) and
reading its meta.

``POST /api/tasks/{id}/data`` speaks every protocol cvat-sdk uses (CVAT's ``UploadMixin``):
``Upload-Start`` (202), ``Upload-Multiple`` multipart batches (200), TUS 1.0.0 for large files
(201/204, ``HEAD`` for the offset), ``Upload-Finish`` (202 with the request id), and a plain
single request (multipart with files, or JSON with ``server_files``: share paths, or keys of
the cloud storage ``cloud_storage_id``). The ``TaskData`` row is made by the first of these
(size 0, as CVAT's ``Data``); the background job fills it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from cvatcore.core.errors import Conflict, PayloadTooLarge, ValidationFailed
from cvatcore.core.jobs.queue import ACTIVE, enqueue, request_id
from cvatcore.core.media import store, uploads
from cvatcore.core.media.limits import MAX_TUS_FILE
from cvatcore.core.media.params import clean_params
from cvatcore.core.media.sources import check_server_path
from cvatcore.core.models import BackgroundJob, Task, TaskData
from cvatcore.hooks import StoragePathError
from cvatcore.hooks.fsspec_storage import clean_path

if TYPE_CHECKING:
    from cvatcore.core.services.caller import Caller

def data_for(session: Session, task: Task) -> TaskData | None:
    """The task's data row, or None before the first upload."""
    return session.get(TaskData, task.data_id) if task.data_id is not None else None


def frame_count(task: Task) -> int:
    """How many frames the task has (0 while it has no data)."""
    session = object_session(task)
    data = data_for(session, task) if session is not None else None
    return data.size if data is not None else 0


def create_request_id(task_id: int) -> str:
    return request_id("create", "task", task_id)


# -- the upload protocols ----------------------------------------------------------------------
# The API layer (``core/api/task_data.py``) reads the protocol's headers and calls these steps
# with plain values; each checks the task's data row first.


def start_upload(caller: Caller, task: Task) -> None:
    """``Upload-Start``: a new upload begins; whatever an earlier one left is removed."""
    data = _writable_data(caller, task)
    _clear_upload_area(caller.state.media, data.id)


def receive_files(caller: Caller, task: Task, body: BinaryIO, content_type: str) -> dict[str, Any]:
    """A multipart body: its files stream into the upload area; its other fields are returned."""
    data = _writable_data(caller, task)
    parser = uploads.MultipartUpload(caller.state.media, data.id)
    parser.parse(body, content_type)
    return parser.fields


def finish_upload(caller: Caller, task: Task, fields: dict[str, Any]) -> str:
    """``Upload-Finish`` (or the end of a single request that brings everything itself):
    check the fields and queue the ``create:task`` job; returns its request id."""
    return _finish(caller, task, _writable_data(caller, task), fields)


def tus_create(caller: Caller, task: Task, filename: str, length: int) -> tuple[str, str]:
    """A TUS upload of ``length`` bytes begins: ``(file_id, clean file name)``; a 413 when it
    exceeds ``MAX_TUS_FILE``."""
    data = _writable_data(caller, task)
    if length > MAX_TUS_FILE:
        raise PayloadTooLarge(f"File size exceeds max limit of {MAX_TUS_FILE} bytes")
    filename = uploads.clean_name(filename, basename=False)
    return uploads.tus_create(caller.state.media, data.id, filename, length), filename


def tus_patch(caller: Caller, task: Task, file_id: str, offset: int,
              body: BinaryIO | None) -> dict[str, Any]:
    """One TUS chunk at ``offset``; the upload's state (``offset``, ``filename``) after it."""
    data = _writable_data(caller, task)
    return uploads.tus_patch(caller.state.media, data.id, file_id, offset, body)


def tus_state(caller: Caller, task: Task, file_id: str) -> dict[str, Any] | None:
    """A TUS upload's ``offset`` and ``length`` (to resume), None when there is none."""
    data = data_for(caller.session, task)
    if data is None:
        return None
    return uploads.tus_state(caller.state.media, data.id, file_id)


def _writable_data(caller: Caller, task: Task) -> TaskData:
    """The task's data row, made on first use; the task row is locked so that two first
    uploads cannot both make one. 400 when data is attached, 409 while it is being made."""
    stmt = select(Task).where(Task.id == task.id).execution_options(populate_existing=True)
    if caller.session.bind.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    task = caller.session.scalar(stmt) or task
    data = data_for(caller.session, task)
    if data is not None and data.size:
        raise ValidationFailed({"detail": "Adding more data is not supported."})
    running = caller.session.get(BackgroundJob, create_request_id(task.id))
    if running is not None and running.status in ACTIVE:
        raise Conflict("The task's data are being created; wait for the request "
                       f"{running.id} to finish.")
    if data is None:
        data = TaskData()
        caller.session.add(data)
        caller.session.flush()
        task.data_id = data.id
        caller.session.flush()
    return data


def _clear_upload_area(media: Any, data_id: int) -> None:
    store.remove_prefix(media, store.raw_prefix(data_id))
    store.remove_prefix(media, store.tus_prefix(data_id))


def _finish(caller: Caller, task: Task, data: TaskData, fields: dict[str, Any]) -> str:
    """Check the fields and the server files, then queue the ``create:task`` job."""
    params, server_files = clean_params(fields)
    storage_id = params.get("cloud_storage_id")
    if storage_id is not None:
        _check_cloud(caller, task, storage_id, server_files, params["server_files_exclude"])
    elif server_files:
        _check_server_files(caller, server_files)
    job = enqueue(
        caller.session, job_id=create_request_id(task.id), kind="create:task",
        args={"task_id": task.id, "data_id": data.id, "params": params,
              "server_files": server_files, "request_id": caller.request_id},
        operation={"type": "create:task", "target": "task", "task_id": task.id,
                   "project_id": task.project_id, "org_id": task.organization_id},
        owner_id=caller.user.id if caller.user is not None else None, org_id=task.organization_id,
    )
    data.storage = "cloud_storage" if storage_id else "share" if server_files else "local"
    data.cloud_storage_id = storage_id
    return job.id


def _check_cloud(caller: Caller, task: Task, storage_id: int, keys: list[str],
                 exclude: list[str]) -> None:
    """The storage must be visible to the user (404/403 otherwise) and belong to the task's
    context: the same organization, or the sandbox for a sandbox task. Keys must be paths a
    storage accepts. Whether they exist is the job's business (as CVAT)."""
    from cvatcore.core.services import cloud_storages

    storage = cloud_storages.get(caller, storage_id, "view")
    if storage.organization_id != task.organization_id:
        where = "the personal sandbox" if task.organization_id is None else \
            "the task's organization"
        raise ValidationFailed.field(
            "cloud_storage_id", f"The cloud storage {storage_id} cannot be used for this task: "
            f"use a cloud storage of {where}.")
    for name, paths in (("server_files", keys), ("server_files_exclude", exclude)):
        for path in paths:
            try:
                if not path:
                    raise StoragePathError("empty key")
                clean_path(path, trailing_slash=True)
            except StoragePathError:
                raise ValidationFailed.field(
                    name, f"The key {path[:200]!r} is not allowed.") from None


def _check_server_files(caller: Caller, paths: list[str]) -> None:
    share = caller.state.configured_storage(caller.state.settings.storage.default)
    for path in paths:
        try:
            share.stat(check_server_path(path).strip("/"))
        except StoragePathError:
            raise ValidationFailed.field(
                "server_files", f"The path {path[:200]!r} is not allowed.") from None
        except FileNotFoundError:
            raise ValidationFailed.field(
                "server_files", f"The server file {path[:200]!r} was not found.") from None
