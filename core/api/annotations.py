"""``/api/jobs/{id}/annotations/`` and ``/api/tasks/{id}/annotations/``: GET, PUT,
PATCH ``?action=create|update|delete`` and DELETE (thin handlers over
``services/annotations.py``). The paths end in ``/`` as CVAT's do; without it, Starlette
redirects."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from cvatcore.core.api.context import Ctx
from cvatcore.core.api.responses import no_content
from cvatcore.core.api.routing import Op
from cvatcore.core.errors import ValidationFailed
from cvatcore.core.services import annotations
from cvatcore.core.services.annotations_json import encode


def JSON(data: dict[str, Any]) -> Response:  # noqa: N802  (reads as the other modules')
    """A ``LabeledData`` answer, encoded by ``annotations_json`` (orjson, stored points
    spliced in as they are)."""
    return Response(encode(data), media_type="application/json")


def _no_export(ctx: Ctx, kind: str) -> None:
    """CVAT 2.x exports datasets with ``POST .../dataset/export``; the old GET with
    ``format`` is not served here."""
    if "format" in ctx.query:
        raise ValidationFailed.field(
            "format", f"Export annotations with POST /api/{kind}/{{id}}/dataset/export.")


def retrieve_job(ctx: Ctx) -> Response:
    _no_export(ctx, "jobs")
    return JSON(annotations.job_annotations(ctx.caller, ctx.path_params["id"], raw=True))


def replace_job(ctx: Ctx) -> Response:
    return JSON(annotations.replace_job(ctx.caller, ctx.path_params["id"], ctx.data))


def patch_job(ctx: Ctx) -> Response:
    return JSON(annotations.patch_job(ctx.caller, ctx.path_params["id"], ctx.query.get("action"),
                                      ctx.data))


def delete_job(ctx: Ctx) -> Response:
    annotations.delete_job(ctx.caller, ctx.path_params["id"])
    return no_content()


def retrieve_task(ctx: Ctx) -> Response:
    _no_export(ctx, "tasks")
    return JSON(annotations.task_annotations(ctx.caller, ctx.path_params["id"], raw=True))


def replace_task(ctx: Ctx) -> Response:
    return JSON(annotations.replace_task(ctx.caller, ctx.path_params["id"], ctx.data))


def patch_task(ctx: Ctx) -> Response:
    return JSON(annotations.patch_task(ctx.caller, ctx.path_params["id"], ctx.query.get("action"),
                                       ctx.data))


def delete_task(ctx: Ctx) -> Response:
    annotations.delete_task(ctx.caller, ctx.path_params["id"])
    return no_content()


# Annotation bodies are checked value by value by annotations_validate (its ranges are the
# same); walking 50,000 shapes a second time for the schema's bounds would double the cost.
_VALIDATED_BY_SERVICE = {"body_schema": None}


def _ops(kind: str, tag: str, handlers: tuple) -> list[Op]:
    path = f"/api/{kind}/{{id:int}}/annotations/"
    get, put, patch, delete = handlers
    what = tag[:-1]
    return [
        Op("GET", path, get, f"{kind}_retrieve_annotations", tag,
           f"The {what}'s annotations", response="LabeledData"),
        Op("PUT", path, put, f"{kind}_update_annotations", tag,
           f"Replace the {what}'s annotations", request="LabeledDataRequest",
           response="LabeledData", extra=_VALIDATED_BY_SERVICE),
        Op("PATCH", path, patch, f"{kind}_partial_update_annotations", tag,
           f"Add, change (by id) or remove (by id) some of the {what}'s annotations",
           request="PatchedLabeledDataRequest", response="LabeledData", params=("action",),
           extra=_VALIDATED_BY_SERVICE),
        Op("DELETE", path, delete, f"{kind}_destroy_annotations", tag,
           f"Remove all of the {what}'s annotations", status=204),
    ]


OPS = [
    *_ops("jobs", "jobs", (retrieve_job, replace_job, patch_job, delete_job)),
    *_ops("tasks", "tasks", (retrieve_task, replace_task, patch_task, delete_task)),
]
