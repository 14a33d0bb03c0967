"""OpenAPI component schemas of ``/api/webhooks`` (see ``openapi_components``)."""

from __future__ import annotations

from cvatcore.core.api.openapi_components import (
    BOOLEAN,
    DATE_TIME,
    INTEGER,
    STRING,
    URI,
    Schema,
    array,
    enum,
    nullable,
    obj,
    ref,
    string,
)
from cvatcore.core.services.webhooks import CONTENT_TYPES, EVENTS, TYPES

_EVENTS = sorted(EVENTS["project"] | EVENTS["organization"])
_WRITE = {
    "target_url": string(format="uri", maxLength=8192, minLength=1),
    "description": string(maxLength=128),
    "content_type": ref("WebhookContentType"),
    "secret": string(maxLength=64, writeOnly=True),
    "is_active": BOOLEAN,
    "enable_ssl": BOOLEAN,
    "events": array(ref("EventsEnum")),
}

SCHEMAS: dict[str, Schema] = {
    "WebhookType": enum(TYPES),
    "AllWebhookType": enum((*TYPES, "all")),
    "WebhookContentType": enum(CONTENT_TYPES),
    "EventsEnum": enum(_EVENTS),
    "WebhooksEventGroup": obj({"display_name": STRING}, required="all"),
    "WebhooksEvent": obj({"key": ref("EventsEnum"), "group": ref("WebhooksEventGroup")},
                         required="all"),
    "Events": obj({"webhook_type": ref("AllWebhookType"),
                   "events": array(ref("WebhooksEvent"))}, required="all"),
    "WebhookRead": obj(
        {
            "id": INTEGER, "url": URI, "target_url": URI, "description": STRING,
            "type": ref("WebhookType"), "content_type": ref("WebhookContentType"),
            "is_active": BOOLEAN, "enable_ssl": BOOLEAN, "created_date": DATE_TIME,
            "updated_date": DATE_TIME, "owner": nullable(ref("BasicUser")),
            "project_id": nullable(INTEGER), "organization": nullable(INTEGER),
            "events": array(ref("EventsEnum")), "last_status": INTEGER,
            "last_delivery_date": DATE_TIME,
            "disabled_reason": string(description="Why the server turned the webhook off "
                                                  "(its deliveries kept failing); empty "
                                                  "otherwise. A cvatcore addition."),
        },
        required=("id", "url", "target_url", "description", "type", "content_type",
                  "is_active", "enable_ssl", "created_date", "updated_date", "owner",
                  "project_id", "organization", "events"),
    ),
    "WebhookWriteRequest": obj({**_WRITE, "type": ref("WebhookType"),
                                "project_id": nullable(INTEGER)},
                               required=("target_url", "type", "events")),
    "PatchedWebhookWriteRequest": obj(_WRITE),
    "WebhookDeliveryRead": obj(
        {
            "id": INTEGER, "webhook_id": INTEGER, "event": STRING,
            "status_code": nullable(INTEGER), "redelivery": BOOLEAN,
            "attempt": nullable(INTEGER), "request_duration": nullable(INTEGER),
            "created_date": DATE_TIME, "updated_date": DATE_TIME, "changed_fields": STRING,
            "request": {"type": "object", "additionalProperties": {}},
            "response": STRING,
            "state": enum(("pending", "delivered", "failed"),
                          "pending: waiting to be sent or retried; delivered: the receiver "
                          "answered; failed: given up (a cvatcore addition)."),
            "next_attempt_at": nullable({**DATE_TIME, "description": "When a pending "
                                         "delivery is tried next (a cvatcore addition)."}),
        },
        required="all",
    ),
}
