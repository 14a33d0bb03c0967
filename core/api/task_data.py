"""Task and job data endpoints: uploads (CVAT's upload protocols and TUS), data meta, frames,
chunks and previews (thin handlers: parse, call a service, answer)."""

from __future__ import annotations

from starlette.responses import Response

from cvatcore.core.api.context import Ctx
from cvatcore.core.api.responses import JSON
from cvatcore.core.api.routing import Op
from cvatcore.core.models import Task
from cvatcore.core.services import task_data
from cvatcore.core.services import task_media as serve
from cvatcore.core.services.task_data import Reply

UPLOAD = {"stream_body": True, "errors": (409, 413)}


def _task(ctx: Ctx, scope: str) -> Task:
    from cvatcore.core.services import tasks

    return tasks.get(ctx, ctx.path_params["id"], scope)


def _answer(reply: Reply) -> Response:
    if reply.body is None:
        return Response(status_code=reply.status, headers=reply.headers)
    return JSON(reply.body, status_code=reply.status, headers=reply.headers)


def create_data(ctx: Ctx) -> Response:
    return _answer(task_data.upload(ctx, _task(ctx, "upload:data")))


def append_data_chunk(ctx: Ctx) -> Response:
    file_id = str(ctx.path_params["file_id"])
    return _answer(task_data.tus_patch(ctx, _task(ctx, "upload:data"), file_id))


def data_chunk_offset(ctx: Ctx) -> Response:
    file_id = str(ctx.path_params["file_id"])
    return _answer(task_data.tus_head(ctx, _task(ctx, "upload:data"), file_id))


def retrieve_task_data(ctx: Ctx) -> Response:
    content, mime = serve.task_media(ctx, ctx.path_params["id"])
    return Response(content, media_type=mime)


def retrieve_task_meta(ctx: Ctx) -> Response:
    return JSON(serve.task_meta(ctx, ctx.path_params["id"]))


def update_task_meta(ctx: Ctx) -> Response:
    return JSON(serve.update_task_meta(ctx, ctx.path_params["id"], ctx.data))


def retrieve_task_preview(ctx: Ctx) -> Response:
    preview = serve.task_preview(ctx, ctx.path_params["id"])
    return Response(preview, media_type="image/jpeg")


def retrieve_job_data(ctx: Ctx) -> Response:
    content, mime = serve.job_media(ctx, ctx.path_params["id"])
    return Response(content, media_type=mime)


def retrieve_job_meta(ctx: Ctx) -> Response:
    return JSON(serve.job_meta(ctx, ctx.path_params["id"]))


def update_job_meta(ctx: Ctx) -> Response:
    return JSON(serve.update_job_meta(ctx, ctx.path_params["id"], ctx.data))


def retrieve_job_preview(ctx: Ctx) -> Response:
    preview = serve.job_preview(ctx, ctx.path_params["id"])
    return Response(preview, media_type="image/jpeg")


T = "/api/tasks/{id:int}"
J = "/api/jobs/{id:int}"
DATA_PARAMS = ("type", "quality", "number")
#: Frames, chunks and previews: bytes of the media type they are (image/*, a zip, a video).
BINARY = {"response_schema": {"type": "string", "format": "binary"}, "media_type": "*/*"}
IMAGE = {"response_schema": {"type": "string", "format": "binary"}, "media_type": "image/*"}

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
