"""OpenAPI component schemas of ``/api/events`` (CVAT's ``EventSerializer`` and
``ClientEventsSerializer``)."""

from __future__ import annotations

from cvatcore.core.api.openapi_components import (
    DATE_TIME,
    INTEGER,
    STRING,
    Schema,
    array,
    nullable,
    obj,
    ref,
)

_EVENT: dict[str, Schema] = {
    "scope": STRING, "obj_name": nullable(STRING), "obj_id": nullable(INTEGER),
    "obj_val": nullable(STRING), "source": nullable(STRING), "timestamp": DATE_TIME,
    "count": nullable(INTEGER), "duration": INTEGER, "project_id": nullable(INTEGER),
    "task_id": nullable(INTEGER), "job_id": nullable(INTEGER), "user_id": nullable(INTEGER),
    "user_name": nullable(STRING), "user_email": nullable(STRING), "org_id": nullable(INTEGER),
    "org_slug": nullable(STRING), "payload": nullable(STRING),
}

SCHEMAS: dict[str, Schema] = {
    "Event": obj(_EVENT, required=("scope", "timestamp")),
    "EventRequest": obj(_EVENT, required=("scope", "timestamp")),
    "ClientEvents": obj({"events": array(ref("Event")), "timestamp": DATE_TIME},
                        required=("timestamp",)),
    "ClientEventsRequest": obj(
        {"events": array(ref("EventRequest")),
         "previous_event": nullable(ref("EventRequest")), "timestamp": DATE_TIME},
        required=("timestamp",)),
}
