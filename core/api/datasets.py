"""Dataset formats, export and import (thin handlers over ``services/datasets_*``):
``GET /api/server/annotation/formats``, ``POST /api/{tasks|jobs|projects}/{id}/dataset/export``,
``GET .../dataset/download?rq_id=``, and ``POST /api/{tasks|jobs}/{id}/annotations/`` through
the upload protocol cvat-sdk speaks (``Upload-Start``, TUS ``PATCH``/``HEAD``,
``Upload-Finish``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from starlette.responses import Response, StreamingResponse

from cvatcore.core.api import tus
from cvatcore.core.api.context import Ctx
from cvatcore.core.api.responses import JSON
from cvatcore.core.api.routing import Op
from cvatcore.core.datasets.registry import collect_formats
from cvatcore.core.errors import ValidationFailed
from cvatcore.core.media import store
from cvatcore.core.services import datasets_export, datasets_import

CHUNK = 1 << 20
TARGETS = {"tasks": "task", "jobs": "job", "projects": "project"}


def flag(ctx: Ctx, name: str, default: bool) -> bool:
    value = ctx.query.get(name)
    if value is None or value == "":
        return default
    if value.lower() in ("true", "1", "yes"):
        return True
    if value.lower() in ("false", "0", "no"):
        return False
    raise ValidationFailed.field(name, "Must be true or false.")


def _target(ctx: Ctx) -> tuple[str, int]:
    return TARGETS[ctx.request.url.path.split("/")[2]], int(ctx.path_params["id"])


def formats(ctx: Ctx) -> Response:
    return JSON(collect_formats(ctx.state.pm).listing())


def export(ctx: Ctx) -> Response:
    target, target_id = _target(ctx)
    q = ctx.query
    rq_id = datasets_export.start_export(
        ctx.caller, target, target_id, q.get("format"), flag(ctx, "save_images", False),
        q.get("filename") or None, q.get("location"), q.get("cloud_storage_id"))
    return JSON({"rq_id": rq_id}, status_code=202)


def download(ctx: Ctx) -> Response:
    target, target_id = _target(ctx)
    return zip_download(ctx, *datasets_export.download(ctx.caller, target, target_id,
                                                       ctx.query.get("rq_id")))


def zip_download(ctx: Ctx, key: str, size: int, filename: str) -> StreamingResponse:
    """A finished archive in the media store, streamed as the attachment ``filename``."""
    media = ctx.state.media

    def chunks() -> Iterator[bytes]:
        with store.open_read(media, key) as source:
            while chunk := source.read(CHUNK):
                yield chunk

    return StreamingResponse(chunks(), media_type="application/zip", headers={
        "Content-Length": str(size),
        "Content-Disposition": f'attachment; filename="{filename}"'})


def import_annotations(ctx: Ctx) -> Response:
    """``POST /api/{tasks|jobs}/{id}/annotations/`` and ``/api/projects/{id}/dataset/``."""
    target, target_id = _target(ctx)
    headers, caller = ctx.request.headers, ctx.caller
    if "upload-start" in headers:
        datasets_import.start_upload(caller, target, target_id)
        return Response(status_code=202)
    if "upload-length" in headers:
        return _tus_create(ctx, target, target_id)
    fields: dict[str, Any] = {**dict(ctx.query), **(ctx.data if isinstance(ctx.data, dict)
                                                     else {})}
    if "upload-finish" in headers:
        rq_id = datasets_import.finish_upload(caller, target, target_id, fields)
    else:  # no file comes with the request: one of a cloud storage
        rq_id = datasets_import.start_cloud_import(caller, target, target_id, fields)
    return JSON({"rq_id": rq_id}, status_code=202)


def _tus_create(ctx: Ctx, target: str, target_id: int) -> Response:
    return tus.created(ctx, lambda name, length: datasets_import.tus_create(
        ctx.caller, target, target_id, name, length))


def tus_chunk(ctx: Ctx) -> Response:
    target, target_id = _target(ctx)
    return tus.patched(datasets_import.tus_patch(ctx.caller, target, target_id,
                                                 str(ctx.path_params["file_id"]), tus.offset(ctx),
                                                 ctx.body_file))


def tus_offset(ctx: Ctx) -> Response:
    target, target_id = _target(ctx)
    return tus.progress(datasets_import.tus_state(ctx.caller, target, target_id,
                                                  str(ctx.path_params["file_id"])))


UPLOAD = {"stream_body": True, "errors": (409, 413)}
EXPORT_PARAMS = ("format", "filename", "save_images", "location", "cloud_storage_id")
IMPORT_PARAMS = ("format", "filename", "conv_mask_to_poly", "import_mode", "location",
                 "cloud_storage_id", "use_default_location")
ZIP = {"response_schema": {"type": "string", "format": "binary"},
       "media_type": "application/zip"}


def _target_ops(kind: str) -> list[Op]:
    tag, base = kind, f"/api/{kind}/{{id:int}}"
    ops = [
        Op("POST", base + "/dataset/export", export, f"{kind}_create_dataset_export", tag,
           "Export annotations (and images) in a dataset format: a background request",
           response="RqId", status=202, params=EXPORT_PARAMS, extra={"errors": (405, 409)}),
        Op("GET", base + "/dataset/download", download, f"{kind}_retrieve_dataset_download",
           tag, "The archive a finished export request wrote", params=("rq_id",), extra=ZIP),
    ]
    if kind == "projects":
        path, what, op_name = base + "/dataset/", "a dataset (a new task of the project)", \
            "dataset"
    else:
        path, what, op_name = base + "/annotations/", "annotations", "annotations"
    return [*ops,
            Op("POST", path, import_annotations, f"{kind}_create_{op_name}", tag,
               f"Import {what} from a file in a dataset format (upload protocol)",
               response="RqId", status=202, params=IMPORT_PARAMS, extra=UPLOAD),
            Op("PATCH", path + "{file_id:uuid}", tus_chunk,
               f"{kind}_partial_update_{op_name}_file", tag,
               "One chunk of a TUS upload of the file to import", status=204, extra=UPLOAD),
            Op("GET", path + "{file_id:uuid}", tus_offset,
               f"{kind}_retrieve_{op_name}_file", tag,
               "The offset of a TUS upload of the file to import (HEAD as well)")]


OPS: list[Op] = [
    Op("GET", "/api/server/annotation/formats", formats, "server_retrieve_annotation_formats",
       "server", "The dataset formats this server imports and exports",
       response="DatasetFormats"),
    *_target_ops("tasks"), *_target_ops("jobs"), *_target_ops("projects"),
]
