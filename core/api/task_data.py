"""Task and job data endpoints: uploads (CVAT's upload protocols and TUS), data meta, frames,
chunks and previews (thin handlers: parse, call a service, answer)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from cvatcore.core.api import tus
from cvatcore.core.api.context import Ctx
from cvatcore.core.api.responses import JSON
from cvatcore.core.api.routing import Op
from cvatcore.core.errors import ValidationFailed
from cvatcore.core.models import Task
from cvatcore.core.services import task_data
from cvatcore.core.services import task_media as serve

UPLOAD = {"stream_body": True, "errors": (409, 413)}


def _task(ctx: Ctx, scope: str) -> Task:
    from cvatcore.core.services import tasks

    return tasks.get(ctx.caller, ctx.path_params["id"], scope)


def _fields(ctx: Ctx, task: Task) -> dict[str, Any]:
    """The request's fields: JSON, a form, or the non-file fields of a multipart body (whose
    files join the upload area)."""
    ctype = ctx.request.headers.get("content-type", "")
    if ctype.startswith("multipart/"):
        if ctx.body_file is None:  # an empty multipart body
            return dict(ctx.data)
        return task_data.receive_files(ctx.caller, task, ctx.body_file, ctype)
    if ctx.body_file is not None:
        raise ValidationFailed({"detail": f"Unsupported content type {ctype[:100]!r}."})
    return dict(ctx.data)


def create_data(ctx: Ctx) -> Response:
    """``POST /api/tasks/{id}/data``: every protocol cvat-sdk speaks (CVAT's ``UploadMixin``),
    told apart by its headers."""
    headers, caller = ctx.request.headers, ctx.caller
    task = _task(ctx, "upload:data")
    if "upload-finish" in headers:
        return JSON({"rq_id": task_data.finish_upload(caller, task, _fields(ctx, task))},
                    status_code=202)
    if "upload-start" in headers:
        task_data.start_upload(caller, task)
        return Response(status_code=202)
    if "upload-length" in headers:
        return _tus_create(ctx, task)
    if "upload-multiple" in headers:
        _fields(ctx, task)
        return Response(status_code=200)
    task_data.start_upload(caller, task)  # a single request brings everything itself
    return JSON({"rq_id": task_data.finish_upload(caller, task, _fields(ctx, task))},
                status_code=202)


def _tus_create(ctx: Ctx, task: Task) -> Response:
    return tus.created(ctx, lambda name, length: task_data.tus_create(ctx.caller, task, name,
                                                                        length))


def append_data_chunk(ctx: Ctx) -> Response:
    """``PATCH /api/tasks/{id}/data/{file_id}``: one TUS chunk."""
    file_id = str(ctx.path_params["file_id"])
    task = _task(ctx, "upload:data")
    return tus.patched(task_data.tus_patch(ctx.caller, task, file_id, tus.offset(ctx),
                                           ctx.body_file))


def data_chunk_offset(ctx: Ctx) -> Response:
    """``HEAD``/``GET /api/tasks/{id}/data/{file_id}``: the upload's offset (to resume)."""
    file_id = str(ctx.path_params["file_id"])
    return tus.progress(task_data.tus_state(ctx.caller, _task(ctx, "upload:data"), file_id))


def retrieve_task_data(ctx: Ctx) -> Response:
    content, mime = serve.task_media(ctx.caller, ctx.path_params["id"], ctx.query)
    return Response(content, media_type=mime)


def retrieve_task_meta(ctx: Ctx) -> Response:
    return JSON(serve.task_meta(ctx.caller, ctx.path_params["id"]))


def update_task_meta(ctx: Ctx) -> Response:
    return JSON(serve.update_task_meta(ctx.caller, ctx.path_params["id"], ctx.data))


def retrieve_task_preview(ctx: Ctx) -> Response:
    preview = serve.task_preview(ctx.caller, ctx.path_params["id"])
    return Response(preview, media_type="image/jpeg")


def retrieve_job_data(ctx: Ctx) -> Response:
    content, mime = serve.job_media(ctx.caller, ctx.path_params["id"], ctx.query)
    return Response(content, media_type=mime)


def retrieve_job_meta(ctx: Ctx) -> Response:
    return JSON(serve.job_meta(ctx.caller, ctx.path_params["id"]))


def update_job_meta(ctx: Ctx) -> Response:
    return JSON(serve.update_job_meta(ctx.caller, ctx.path_params["id"], ctx.data))


def retrieve_job_preview(ctx: Ctx) -> Response:
    preview = serve.job_preview(ctx.caller, ctx.path_params["id"])
    return Response(preview, media_type="image/jpeg")


T = "/api/tasks/{id:int}"
J = "/api/jobs/{id:int}"
DATA_PARAMS = ("type", "quality", "number")
#: Frames, chunks and previews: bytes of the media type they are (image/*, a zip, a video).
# 409: a stored image that cannot be decoded (named in the answer).
BINARY = {"response_schema": {"type": "string", "format": "binary"}, "media_type": "*/*",
          "errors": (409,)}
IMAGE = {"response_schema": {"type": "string", "format": "binary"}, "media_type": "image/*",
         "errors": (409,)}

OPS: list[Op] = [
    # cvat-sdk uses the paths with the trailing slash, as CVAT's schema spells them.
    Op("POST", T + "/data/", create_data, "tasks_create_data", "tasks",
       "Attach data to a task (upload protocols, TUS, server files, cloud storage keys)",
       request="DataRequest", response="DataResponse", status=202, extra=UPLOAD),
    Op("POST", T + "/data", create_data, "tasks_create_data_no_slash", "tasks",
       "Attach data to a task (the same, without the trailing slash)", request="DataRequest",
       response="DataResponse", status=202, extra=UPLOAD),
    Op("GET", T + "/data/", retrieve_task_data, "tasks_retrieve_data", "tasks",
       "A frame, chunk or preview of a task", params=DATA_PARAMS, extra=BINARY),
    Op("GET", T + "/data", retrieve_task_data, "tasks_retrieve_data_no_slash", "tasks",
       "A frame, chunk or preview of a task", params=DATA_PARAMS, extra=BINARY),
    Op("GET", T + "/data/meta", retrieve_task_meta, "tasks_retrieve_data_meta", "tasks",
       "Frame names, sizes and deleted frames of a task", response="DataMetaRead"),
    Op("PATCH", T + "/data/meta", update_task_meta, "tasks_partial_update_data_meta", "tasks",
       "Mark frames of a task deleted", request="PatchedDataMetaWriteRequest",
       response="DataMetaRead"),
    Op("PATCH", T + "/data/{file_id:uuid}", append_data_chunk, "tasks_partial_update_data_file",
       "tasks", "One chunk of a TUS upload", status=204, extra=UPLOAD),
    Op("GET", T + "/data/{file_id:uuid}", data_chunk_offset, "tasks_retrieve_data_file",
       "tasks", "The offset of a TUS upload (HEAD as well)"),
    Op("GET", T + "/preview", retrieve_task_preview, "tasks_retrieve_preview", "tasks",
       "A preview of the task's first frame", extra=IMAGE),
    Op("GET", J + "/data", retrieve_job_data, "jobs_retrieve_data", "jobs",
       "A frame, chunk or preview of a job", params=(*DATA_PARAMS, "index"), extra=BINARY),
    Op("GET", J + "/data/meta", retrieve_job_meta, "jobs_retrieve_data_meta", "jobs",
       "Frame names and sizes of a job", response="DataMetaRead"),
    Op("PATCH", J + "/data/meta", update_job_meta, "jobs_partial_update_data_meta", "jobs",
       "Mark frames of a job deleted", request="PatchedJobDataMetaWriteRequest",
       response="DataMetaRead"),
    Op("GET", J + "/preview", retrieve_job_preview, "jobs_retrieve_preview", "jobs",
       "A preview of the job's first frame", extra=IMAGE),
]
