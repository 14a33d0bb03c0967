"""``/api/events``: client events in, the event log out as CSV (both of CVAT's flows)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from starlette.responses import Response, StreamingResponse

from cvatcore.core.api.context import Ctx
from cvatcore.core.api.listing import ListSpec
from cvatcore.core.api.responses import JSON, FastJSON
from cvatcore.core.api.routing import Op
from cvatcore.core.errors import ApiError, NotFound, PayloadTooLarge, ValidationFailed
from cvatcore.core.models import StoredEvent
from cvatcore.core.services import client_events, events_export

_READ_CHUNK = 1 << 20


def send_events(ctx: Ctx) -> Response:
    limit = ctx.state.settings.analytics.max_request_bytes
    if len(ctx.body) > limit:
        raise PayloadTooLarge(f"The request body is larger than the limit of {limit} bytes.")
    return FastJSON(client_events.record(ctx.caller, ctx.data), status_code=201)


def export_events(ctx: Ctx) -> Response:
    """CVAT's newer flow: ``{"rq_id"}``, polled at ``/api/requests/{rq_id}``."""
    query_id = events_export.start(ctx.caller, ctx.query)
    rq_id = events_export.job_id(query_id, ctx.caller.require_user().id)
    return JSON({"rq_id": rq_id}, status_code=202)


def list_events(ctx: Ctx) -> Response:
    """CVAT's older flow: 202 ``{"query_id"}`` while the file is made, 201 once it is ready,
    200 with the file for ``action=download``."""
    action = ctx.query.get("action")
    if action not in (None, "", "download"):
        raise ValidationFailed.field("action", "Unexpected action specified for the request.")
    query_id = ctx.query.get("query_id")
    if not query_id:
        return JSON({"query_id": events_export.start(ctx.caller, ctx.query)}, status_code=202)
    job = events_export.find(ctx.caller, query_id)
    if job.status in ("queued", "started"):
        return JSON({"query_id": query_id}, status_code=202)
    if job.status == "failed":
        raise ApiError({"detail": job.message or "The export failed."}, status=400)
    if action != "download":
        return JSON({"query_id": query_id}, status_code=201)
    return _download(ctx, job)


def _download(ctx: Ctx, job: Any) -> Response:
    media, key = ctx.state.media, events_export.file_key(job.id)
    name = events_export.file_name(job)
    try:
        source = media.open_read(key)
    except FileNotFoundError:
        raise NotFound("The exported file has expired; export again.") from None
    events_export.forget_job(ctx.caller, job)  # the file goes once it was sent

    def chunks() -> Iterator[bytes]:
        try:
            while block := source.read(_READ_CHUNK):
                yield block
        finally:
            source.close()
            media.delete(key)

    return StreamingResponse(chunks(), media_type="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{name}"'})


FILTERS = ListSpec(fields={
    "org_id": StoredEvent.org_id, "project_id": StoredEvent.project_id,
    "task_id": StoredEvent.task_id, "job_id": StoredEvent.job_id,
    "user_id": StoredEvent.user_id, "from": StoredEvent.timestamp,
    "to": StoredEvent.timestamp, "filename": StoredEvent.scope, "action": StoredEvent.scope,
    "query_id": StoredEvent.scope, "location": StoredEvent.scope,
})
FILTER_NAMES = ("org_id", "project_id", "task_id", "job_id", "user_id", "from", "to",
                "filename")

QUERY_ID = {"type": "object", "properties": {"query_id": {"type": "string"}},
            "required": ["query_id"]}

PATH = "/api/events"
OPS = [
    Op("POST", PATH, send_events, "events_create", "events", "Log client events",
       request="ClientEventsRequest", response="ClientEvents", status=201,
       extra={"stream_body": True, "max_body": 64 << 20, "errors": (413,)}),
    Op("GET", PATH, list_events, "events_list", "events",
       "Get the event log as CSV (query_id: 202 while running, 201 when ready, "
       "action=download: the file)", params=(*FILTER_NAMES, "action", "query_id"),
       # "writes": without query_id it starts the export (a background job)
       extra={"list_spec": FILTERS, "media_type": "text/csv", "errors": (404,), "writes": True,
              "response_schema": {"type": "string", "format": "binary"},
              "json_statuses": {201: ("The CSV file is ready", QUERY_ID),
                                202: ("The CSV file is being made", QUERY_ID)}}),
    Op("POST", PATH + "/export", export_events, "events_create_export", "events",
       "Export the event log as CSV (a background request)", response="RqId", status=202,
       params=(*FILTER_NAMES, "location", "cloud_storage_id"),
       extra={"list_spec": FILTERS, "errors": (404,)}),  # 404: no such cloud storage
]
