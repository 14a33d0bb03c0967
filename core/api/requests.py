"""``/api/requests``: the state of background work (task data, exports, imports, ...)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from starlette.responses import Response

from cvatcore.core.api.context import Ctx
from cvatcore.core.api.listing import ListSpec, apply_query, paginate
from cvatcore.core.api.responses import JSON, iso
from cvatcore.core.api.routing import Op
from cvatcore.core.api.serializers import base_url
from cvatcore.core.models import BackgroundJob, User
from cvatcore.core.services import requests

OPERATION_FIELDS = ("project_id", "task_id", "job_id", "org_id", "format", "function_id")

REQUEST_SPEC = ListSpec(
    fields={"created_date": BackgroundJob.created_date, "status": BackgroundJob.status,
            "id": BackgroundJob.id},
    default_sort="-created_date",
)


def request_record(ctx: Ctx, job: BackgroundJob, owners: dict[int, str]) -> dict[str, Any]:
    op = job.operation or {}
    action, _, target = job.kind.partition(":")
    operation = {"type": op.get("type", job.kind), "target": op.get("target", target)}
    operation.update({name: op.get(name) for name in OPERATION_FIELDS})
    operation["org_id"] = op.get("org_id", job.organization_id)
    result_url = job.result_url
    if result_url and result_url.startswith("/"):
        result_url = base_url(ctx) + result_url
    owner_id = job.owner_id
    return {
        "id": job.id,
        "status": job.status,
        "message": job.message or "",
        "progress": job.progress,
        "operation": operation,
        "created_date": iso(job.created_date),
        "started_date": iso(job.started_date),
        "finished_date": iso(job.finished_date),
        "expiry_date": iso(job.expiry_date),
        "owner": {"id": owner_id, "username": owners.get(owner_id, "")}
        if owner_id is not None else {"id": None, "username": ""},
        "result_url": result_url,
        "result_id": job.result_id,
    }


def requests_page(ctx: Ctx, jobs: Sequence[BackgroundJob]) -> list[dict[str, Any]]:
    ids = {j.owner_id for j in jobs if j.owner_id is not None}
    owners = dict(ctx.caller.session.execute(
        select(User.id, User.username).where(User.id.in_(ids))
    ).all()) if ids else {}
    return [request_record(ctx, job, owners) for job in jobs]


def list_requests(ctx: Ctx) -> Response:
    stmt = apply_query(ctx, requests.list_query(ctx.caller, ctx.query), REQUEST_SPEC)
    return JSON(paginate(ctx, stmt, lambda rows: requests_page(ctx, rows)))


def retrieve_request(ctx: Ctx) -> Response:
    return JSON(requests_page(ctx, [requests.get(ctx.caller, ctx.path_params["id"])])[0])


def cancel_request(ctx: Ctx) -> Response:
    requests.cancel(ctx.caller, ctx.path_params["id"])
    return Response(status_code=200)


PATH = "/api/requests"
OPS = [
    Op("GET", PATH, list_requests, "requests_list", "requests", "List background requests",
       response="Request", paginated=True,
       params=("action", "target", "status", "format", "project_id", "task_id", "job_id",
               "sort"),
       extra={"list_spec": REQUEST_SPEC}),
    Op("GET", PATH + "/{id}", retrieve_request, "requests_retrieve", "requests",
       "One background request", response="Request"),
    Op("POST", PATH + "/{id}/cancel", cancel_request, "requests_create_cancel", "requests",
       "Cancel a queued request"),
]
