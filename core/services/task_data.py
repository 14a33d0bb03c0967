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

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from cvatcore.core.errors import Conflict, ValidationFailed
from cvatcore.core.jobs.queue import ACTIVE, enqueue, request_id
from cvatcore.core.media import store, uploads
from cvatcore.core.media.limits import MAX_TUS_FILE
from cvatcore.core.media.params import clean_params
from cvatcore.core.media.sources import check_server_path
from cvatcore.core.models import BackgroundJob, Task, TaskData
from cvatcore.hooks import StoragePathError
from cvatcore.hooks.fsspec_storage import clean_path

if TYPE_CHECKING:
    from cvatcore.core.api.context import Ctx

TUS_HEADERS = {"Tus-Resumable": "1.0.0", "Tus-Version": "1.0.0", "Tus-Extension": "",
               "Tus-Max-Size": str(MAX_TUS_FILE), "Cache-Control": "no-store"}


@dataclass
class Reply:
    """What an upload step answers: a status, an optional JSON body, extra headers."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


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


def upload(ctx: Ctx, task: Task) -> Reply:
    """One ``POST /api/tasks/{id}/data`` of any of the protocols (see the module docstring)."""
    headers = ctx.request.headers
    data = _writable_data(ctx, task)
    media = ctx.state.media
    if "upload-finish" in headers:
        return _finish(ctx, task, data, _fields(ctx, data))
    if "upload-start" in headers:
        _clear_upload_area(media, data.id)
        return Reply(202)
    if "upload-length" in headers:
        return _tus_create(ctx, data)
    if "upload-multiple" in headers:
        _multipart(ctx, data)
        return Reply(200)
    _clear_upload_area(media, data.id)  # a single-request upload brings everything itself
    return _finish(ctx, task, data, _fields(ctx, data))


def _writable_data(ctx: Ctx, task: Task) -> TaskData:
    """The task's data row, made on first use; the task row is locked so that two first
    uploads cannot both make one. 400 when data is attached, 409 while it is being made."""
    stmt = select(Task).where(Task.id == task.id).execution_options(populate_existing=True)
    if ctx.session.bind.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    task = ctx.session.scalar(stmt) or task
    data = data_for(ctx.session, task)
    if data is not None and data.size:
        raise ValidationFailed({"detail": "Adding more data is not supported."})
    running = ctx.session.get(BackgroundJob, create_request_id(task.id))
    if running is not None and running.status in ACTIVE:
        raise Conflict("The task's data are being created; wait for the request "
                       f"{running.id} to finish.")
    if data is None:
        data = TaskData()
        ctx.session.add(data)
        ctx.session.flush()
        task.data_id = data.id
        ctx.session.flush()
    return data


def _clear_upload_area(media: Any, data_id: int) -> None:
    store.remove_prefix(media, store.raw_prefix(data_id))
    store.remove_prefix(media, store.tus_prefix(data_id))


def _multipart(ctx: Ctx, data: TaskData) -> dict[str, Any]:
    if ctx.body_file is None:
        return dict(ctx.data)
    parser = uploads.MultipartUpload(ctx.state.media, data.id)
    parser.parse(ctx.body_file, ctx.request.headers.get("content-type", ""))
    return parser.fields


def _fields(ctx: Ctx, data: TaskData) -> dict[str, Any]:
    """The finishing request's fields: JSON, a form, or the non-file fields of a multipart
    body (whose files join the upload area)."""
    ctype = ctx.request.headers.get("content-type", "")
    if ctype.startswith("multipart/"):
        return _multipart(ctx, data)
    if ctx.body_file is not None:
        raise ValidationFailed({"detail": f"Unsupported content type {ctype[:100]!r}."})
    return dict(ctx.data)


def _tus_create(ctx: Ctx, data: TaskData) -> Reply:
    headers = ctx.request.headers
    try:
        length = int(headers["upload-length"])
    except ValueError:
        raise ValidationFailed({"detail": "Upload-Length must be an integer."}) from None
    if length > MAX_TUS_FILE:
        return Reply(413, {"detail": f"File size exceeds max limit of {MAX_TUS_FILE} bytes"},
                     dict(TUS_HEADERS))
    metadata = uploads.parse_metadata(headers.get("upload-metadata", ""))
    filename = uploads.clean_name(metadata.get("filename", ""), basename=False)
    file_id = uploads.tus_create(ctx.state.media, data.id, filename, length)
    location = f"{str(ctx.request.url).split('?')[0].rstrip('/')}/{file_id}"
    return Reply(201, None, {**TUS_HEADERS, "Location": location, "Upload-Filename": filename})


def tus_patch(ctx: Ctx, task: Task, file_id: str) -> Reply:
    """``PATCH /api/tasks/{id}/data/{file_id}``: one TUS chunk."""
    data = _writable_data(ctx, task)
    try:
        offset = int(ctx.request.headers.get("upload-offset", ""))
    except ValueError:
        raise ValidationFailed({"detail": "Upload-Offset must be an integer."}) from None
    state = uploads.tus_patch(ctx.state.media, data.id, file_id, offset, ctx.body_file)
    return Reply(204, None, {**TUS_HEADERS, "Upload-Offset": str(state["offset"]),
                             "Upload-Filename": state["filename"]})


def tus_head(ctx: Ctx, task: Task, file_id: str) -> Reply:
    """``HEAD``/``GET /api/tasks/{id}/data/{file_id}``: the upload's offset (to resume)."""
    data = data_for(ctx.session, task)
    if data is None:
        return Reply(404, {"detail": "No such upload."}, dict(TUS_HEADERS))
    state = uploads.tus_state(ctx.state.media, data.id, file_id)
    return Reply(200, None, {**TUS_HEADERS, "Upload-Offset": str(state["offset"]),
                             "Upload-Length": str(state["length"])})


def _finish(ctx: Ctx, task: Task, data: TaskData, fields: dict[str, Any]) -> Reply:
    """Check the fields and the server files, then queue the ``create:task`` job."""
    params, server_files = clean_params(fields)
    storage_id = params.get("cloud_storage_id")
    if storage_id is not None:
        _check_cloud(ctx, task, storage_id, server_files, params["server_files_exclude"])
    elif server_files:
        _check_server_files(ctx, server_files)
    job = enqueue(
        ctx.session, job_id=create_request_id(task.id), kind="create:task",
        args={"task_id": task.id, "data_id": data.id, "params": params,
              "server_files": server_files, "request_id": ctx.request_id},
        operation={"type": "create:task", "target": "task", "task_id": task.id,
                   "project_id": task.project_id, "org_id": task.organization_id},
        owner_id=ctx.user.id if ctx.user is not None else None, org_id=task.organization_id,
    )
    data.storage = "cloud_storage" if storage_id else "share" if server_files else "local"
    data.cloud_storage_id = storage_id
    return Reply(202, {"rq_id": job.id})


def _check_cloud(ctx: Ctx, task: Task, storage_id: int, keys: list[str],
                 exclude: list[str]) -> None:
    """The storage must be visible to the user (404/403 otherwise) and belong to the task's
    context: the same organization, or the sandbox for a sandbox task. Keys must be paths a
    storage accepts. Whether they exist is the job's business (as CVAT)."""
    from cvatcore.core.services import cloud_storages

    storage = cloud_storages.get(ctx, storage_id, "view")
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


def _check_server_files(ctx: Ctx, paths: list[str]) -> None:
    settings = ctx.state.settings.storage
    share = ctx.state.provider("storage", settings.default, settings.options.get(settings.default))
    for path in paths:
        try:
            share.stat(check_server_path(path).strip("/"))
        except StoragePathError:
            raise ValidationFailed.field(
                "server_files", f"The path {path[:200]!r} is not allowed.") from None
        except FileNotFoundError:
            raise ValidationFailed.field(
                "server_files", f"The server file {path[:200]!r} was not found.") from None
