"""OpenAPI component schemas of ``/api/requests`` (see ``openapi_components.all_schemas``)."""

from __future__ import annotations

from cvatcore.core.api.openapi_components import (
    DATE_TIME,
    INTEGER,
    STRING,
    Schema,
    enum,
    nullable,
    obj,
    ref,
)

SCHEMAS: dict[str, Schema] = {
    "RequestStatus": enum(("queued", "started", "failed", "finished")),
    "RequestDataOperation": obj(
        {
            "type": STRING,
            "target": STRING,
            "project_id": nullable(INTEGER),
            "task_id": nullable(INTEGER),
            "job_id": nullable(INTEGER),
            "org_id": nullable(INTEGER),
            "format": nullable(STRING),
            "function_id": nullable(STRING),
        },
        required=("type", "target"),
    ),
    "RequestOwner": obj({"id": nullable(INTEGER), "username": STRING}, required=("username",)),
    "Request": obj(
        {
            "status": ref("RequestStatus"),
            "message": STRING,
            "id": STRING,
            "operation": ref("RequestDataOperation"),
            "progress": nullable({"type": "number", "format": "double", "minimum": 0,
                                  "maximum": 1}),
            "created_date": DATE_TIME,
            "started_date": nullable(DATE_TIME),
            "finished_date": nullable(DATE_TIME),
            "expiry_date": nullable(DATE_TIME),
            "owner": ref("RequestOwner"),
            "result_url": nullable({"type": "string", "format": "uri"}),
            "result_id": nullable(INTEGER),
        },
        required="all",
    ),
    "RqId": obj({"rq_id": STRING}, required="all"),
}
