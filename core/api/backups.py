"""Task and project backups (thin handlers over ``services/backups_*``):
``POST /api/{tasks|projects}/{id}/backup/export`` (202 ``rq_id``),
``GET .../backup/download?rq_id=`` (the archive), and ``POST /api/{tasks|projects}/backup/``
through the upload protocol cvat-sdk speaks (``Upload-Start``, TUS ``PATCH``/``HEAD``,
``Upload-Finish``) or naming a file in a cloud storage."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from cvatcore.core.api import tus
from cvatcore.core.api.context import Ctx
from cvatcore.core.api.datasets import UPLOAD, ZIP, flag, zip_download
from cvatcore.core.api.responses import JSON
from cvatcore.core.api.routing import Op
from cvatcore.core.errors import ValidationFailed
from cvatcore.core.services import backups_export, backups_import

TARGETS = {"tasks": "task", "projects": "project"}


def _target(ctx: Ctx) -> str:
    return TARGETS[ctx.request.url.path.split("/")[2]]


def export(ctx: Ctx) -> Response:
    q = ctx.query
    rq_id = backups_export.start_export(
        ctx.caller, _target(ctx), int(ctx.path_params["id"]), q.get("filename") or None,
        q.get("location"), q.get("cloud_storage_id"), flag(ctx, "lightweight", False))
    return JSON({"rq_id": rq_id}, status_code=202)


def download(ctx: Ctx) -> Response:
    return zip_download(ctx, *backups_export.download(
        ctx.caller, _target(ctx), int(ctx.path_params["id"]), ctx.query.get("rq_id")))


def restore(ctx: Ctx) -> Response:
    target, headers, caller = _target(ctx), ctx.request.headers, ctx.caller
    if "upload-start" in headers:
        backups_import.start_upload(caller, target)
        return Response(status_code=202)
    if "upload-length" in headers:
        return tus.created(ctx, lambda name, length: backups_import.tus_create(
            caller, target, name, length))
    fields: dict[str, Any] = {**dict(ctx.query), **(ctx.data if isinstance(ctx.data, dict)
                                                     else {})}
    if "upload-finish" in headers or fields.get("location") == "cloud_storage":
        rq_id = backups_import.finish_upload(caller, target, fields)
        return JSON({"rq_id": rq_id}, status_code=202)
    raise ValidationFailed({"detail": "Send the backup with the upload protocol (Upload-Start, "
                                      "TUS, then Upload-Finish), or name a file in a cloud "
                                      "storage (location=cloud_storage)."})


def tus_chunk(ctx: Ctx) -> Response:
    return tus.patched(backups_import.tus_patch(ctx.caller, _target(ctx),
                                                str(ctx.path_params["file_id"]), tus.offset(ctx),
                                                ctx.body_file))


def tus_offset(ctx: Ctx) -> Response:
    return tus.progress(backups_import.tus_state(ctx.caller, _target(ctx),
                                                 str(ctx.path_params["file_id"])))


EXPORT_PARAMS = ("filename", "location", "cloud_storage_id", "lightweight")
IMPORT_PARAMS = ("filename", "location", "cloud_storage_id")


def _ops(kind: str) -> list[Op]:
    base = f"/api/{kind}"
    return [
        Op("POST", base + "/{id:int}/backup/export", export, f"{kind}_create_backup_export",
           kind, "Back up in CVAT's archive format: a background request", response="RqId",
           status=202, params=EXPORT_PARAMS, extra={"errors": (409,)}),
        Op("GET", base + "/{id:int}/backup/download", download,
           f"{kind}_retrieve_backup_download", kind,
           "The archive a finished backup request wrote", params=("rq_id",), extra=ZIP),
        Op("POST", base + "/backup/", restore, f"{kind}_create_backup", kind,
           "Restore a backup as a new object (upload protocol, or a cloud storage file)",
           response="RqId", status=202, params=IMPORT_PARAMS, extra=UPLOAD),
        Op("PATCH", base + "/backup/{file_id:uuid}", tus_chunk,
           f"{kind}_partial_update_backup_file", kind,
           "One chunk of a TUS upload of a backup", status=204, extra=UPLOAD),
        Op("GET", base + "/backup/{file_id:uuid}", tus_offset,
           f"{kind}_retrieve_backup_file", kind,
           "The offset of a TUS upload of a backup (HEAD as well)"),
    ]


OPS: list[Op] = [*_ops("tasks"), *_ops("projects")]
