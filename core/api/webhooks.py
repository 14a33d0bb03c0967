"""``/api/webhooks``: thin handlers over ``services/webhooks*.py``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from starlette.responses import Response

from cvatcore.core.api.context import Ctx
from cvatcore.core.api.listing import ListSpec, apply_query, paginate
from cvatcore.core.api.responses import JSON, iso, no_content
from cvatcore.core.api.routing import Op
from cvatcore.core.api.serializers import base_url, basic_user, users_by_id
from cvatcore.core.models import User, Webhook, WebhookAttempt, WebhookDelivery
from cvatcore.core.services import webhooks, webhooks_delivery

owner_name = select(User.username).where(User.id == Webhook.owner_id).scalar_subquery()
WEBHOOK_SPEC = ListSpec(
    fields={"id": Webhook.id, "target_url": Webhook.target_url, "owner": owner_name,
            "type": Webhook.type, "project_id": Webhook.project_id,
            "description": Webhook.description, "updated_date": Webhook.updated_date},
    search=("target_url", "owner", "type", "description"),
    simple_filters=("target_url", "owner", "type", "project_id"),
    casts={"project_id": int},
)


def _last_deliveries(ctx: Ctx, ids: list[int]) -> dict[int, WebhookDelivery]:
    if not ids:
        return {}
    newest = (select(func.max(WebhookDelivery.id)).where(WebhookDelivery.webhook_id.in_(ids))
              .group_by(WebhookDelivery.webhook_id))
    rows = ctx.caller.session.scalars(select(WebhookDelivery).where(
        WebhookDelivery.id.in_(newest)))
    return {d.webhook_id: d for d in rows}


def webhooks_page(ctx: Ctx, rows: Sequence[Webhook]) -> list[dict[str, Any]]:
    owners = users_by_id(ctx, (h.owner_id for h in rows))
    last = _last_deliveries(ctx, [h.id for h in rows])
    return [webhook_record(ctx, h, owners.get(h.owner_id or -1), last.get(h.id)) for h in rows]


def webhook_record(ctx: Ctx, h: Webhook, owner: User | None,
                   last: WebhookDelivery | None) -> dict[str, Any]:
    """CVAT's ``WebhookRead`` (never the secret); ``last_status`` and
    ``last_delivery_date`` are left out until a delivery has an answer, as CVAT's."""
    record: dict[str, Any] = {
        "id": h.id, "url": f"{base_url(ctx)}/api/webhooks/{h.id}", "target_url": h.target_url,
        "description": h.description, "type": h.type, "content_type": h.content_type,
        "is_active": h.is_active, "enable_ssl": h.enable_ssl,
        "created_date": iso(h.created_date), "updated_date": iso(h.updated_date),
        "owner": basic_user(ctx, owner), "project_id": h.project_id,
        "organization": h.organization_id,
        "events": sorted(e for e in h.events.split(",") if e),
        "disabled_reason": h.disabled_reason,
    }
    if last is not None and last.status_code is not None:
        record["last_status"] = last.status_code
        record["last_delivery_date"] = iso(last.updated_date)
    return record


def one(ctx: Ctx, hook: Webhook, status: int = 200) -> Response:
    return JSON(webhooks_page(ctx, [hook])[0], status_code=status)


def list_webhooks(ctx: Ctx) -> Response:
    stmt = apply_query(ctx, webhooks.list_query(ctx.caller), WEBHOOK_SPEC)
    return JSON(paginate(ctx, stmt, lambda rows: webhooks_page(ctx, rows)))


def create_webhook(ctx: Ctx) -> Response:
    return one(ctx, webhooks.create(ctx.caller, ctx.data), 201)


def retrieve_webhook(ctx: Ctx) -> Response:
    return one(ctx, webhooks.get(ctx.caller, ctx.path_params["id"]))


def update_webhook(ctx: Ctx) -> Response:
    return one(ctx, webhooks.update(ctx.caller, ctx.path_params["id"], ctx.data))


def delete_webhook(ctx: Ctx) -> Response:
    webhooks.delete(ctx.caller, ctx.path_params["id"])
    return no_content()


def events(ctx: Ctx) -> Response:
    """CVAT 2.80's shape: each event a ``{key, group: {display_name}}`` object, sorted by key
    (older servers listed the bare keys)."""
    kind = ctx.query.get("type", "all")
    return JSON({"webhook_type": kind, "events": [
        {"key": key, "group": {"display_name": key.partition(":")[2].capitalize()}}
        for key in webhooks.events_of(kind)]})


# -- deliveries ---------------------------------------------------------------------------

def deliveries_page(ctx: Ctx, rows: Sequence[WebhookDelivery]) -> list[dict[str, Any]]:
    durations: dict[int, int] = {}
    if rows:
        for delivery_id, ms in ctx.caller.session.execute(
                select(WebhookAttempt.delivery_id, WebhookAttempt.duration_ms)
                .where(WebhookAttempt.delivery_id.in_([d.id for d in rows]))
                .order_by(WebhookAttempt.number)):
            durations[delivery_id] = ms
    return [{
        "id": d.id, "webhook_id": d.webhook_id, "event": d.event, "status_code": d.status_code,
        "redelivery": d.redelivery, "attempt": d.attempts,
        "request_duration": durations.get(d.id), "created_date": iso(d.created_date),
        "updated_date": iso(d.updated_date), "changed_fields": d.changed_fields,
        "request": d.request, "response": d.response, "state": d.state,
        "next_attempt_at": iso(d.next_attempt_at) if d.state == "pending" else None,
    } for d in rows]


def list_deliveries(ctx: Ctx) -> Response:
    hook = webhooks.get(ctx.caller, ctx.path_params["id"])
    stmt = (select(WebhookDelivery).where(WebhookDelivery.webhook_id == hook.id)
            .order_by(WebhookDelivery.updated_date.desc(), WebhookDelivery.id.desc()))
    return JSON(paginate(ctx, stmt, lambda rows: deliveries_page(ctx, rows)))


def _delivery(ctx: Ctx, scope: str = "view") -> tuple[Webhook, WebhookDelivery]:
    from cvatcore.core.errors import NotFound

    hook = webhooks.get(ctx.caller, ctx.path_params["id"], scope)
    delivery = ctx.caller.session.get(WebhookDelivery, ctx.path_params["delivery_id"])
    if delivery is None or delivery.webhook_id != hook.id:
        raise NotFound("Delivery not found.")
    return hook, delivery


def retrieve_delivery(ctx: Ctx) -> Response:
    return JSON(deliveries_page(ctx, [_delivery(ctx)[1]])[0])


def redeliver(ctx: Ctx) -> Response:
    hook, delivery = _delivery(ctx, "update")
    webhooks_delivery.record(ctx.caller.session, hook, delivery.event, delivery.request,
                             changed_fields=delivery.changed_fields, redelivery=True)
    return JSON({})


def ping(ctx: Ctx) -> Response:
    hook = webhooks.get(ctx.caller, ctx.path_params["id"], "update")
    payload = {"event": "ping", "webhook": webhooks_page(ctx, [hook])[0],
               "sender": basic_user(ctx, ctx.caller.user)}
    delivery = webhooks_delivery.ping(ctx.caller, hook, payload)
    return JSON(deliveries_page(ctx, [delivery])[0])


PATH = "/api/webhooks"
ONE = PATH + "/{id:int}"
OPS = [
    Op("GET", PATH, list_webhooks, "webhooks_list", "webhooks", "List webhooks",
       response="WebhookRead", paginated=True,
       params=("filter", "search", "sort", *WEBHOOK_SPEC.simple_filters),
       extra={"list_spec": WEBHOOK_SPEC}),
    Op("POST", PATH, create_webhook, "webhooks_create", "webhooks", "Create a webhook",
       request="WebhookWriteRequest", response="WebhookRead", status=201),
    Op("GET", PATH + "/events", events, "webhooks_retrieve_events", "webhooks",
       "The events webhooks of a type may ask for", response="Events", params=("type",)),
    Op("GET", ONE, retrieve_webhook, "webhooks_retrieve", "webhooks", "One webhook",
       response="WebhookRead"),
    Op("PUT", ONE, update_webhook, "webhooks_update", "webhooks", "Replace a webhook",
       request="WebhookWriteRequest", response="WebhookRead"),
    Op("PATCH", ONE, update_webhook, "webhooks_partial_update", "webhooks",
       "Change a webhook", request="PatchedWebhookWriteRequest", response="WebhookRead"),
    Op("DELETE", ONE, delete_webhook, "webhooks_destroy", "webhooks", "Delete a webhook",
       status=204),
    Op("POST", ONE + "/ping", ping, "webhooks_create_ping", "webhooks",
       "Send a ping now and return its delivery", response="WebhookDeliveryRead"),
    Op("GET", ONE + "/deliveries", list_deliveries, "webhooks_list_deliveries", "webhooks",
       "The webhook's deliveries, newest first", response="WebhookDeliveryRead",
       paginated=True),
    Op("GET", ONE + "/deliveries/{delivery_id:int}", retrieve_delivery,
       "webhooks_retrieve_deliveries", "webhooks", "One delivery",
       response="WebhookDeliveryRead"),
    Op("POST", ONE + "/deliveries/{delivery_id:int}/redelivery", redeliver,
       "webhooks_create_deliveries_redelivery", "webhooks", "Send a delivery again",
       extra={"response_schema": {"type": "object"}}),
]
