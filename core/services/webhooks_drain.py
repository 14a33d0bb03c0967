"""The ``deliver:webhook`` job: one webhook's pending deliveries, sent in order.

The job holds the webhook (``webhooks.drain_job_id``) and loops: read the oldest pending
delivery, send it (outside any transaction), then record the attempt and read the next one
in one write transaction, committed only while this worker still holds the job
(``job.guard``). Plain Core statements: one delivery costs one small write transaction. When
nothing is due it stops under the webhook's lock: it lets go of the webhook, or queues its
successor for the next retry time (see ``webhooks_delivery``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.orm import Session

from cvatcore.core.models import Webhook, WebhookAttempt, WebhookDelivery
from cvatcore.core.models.base import as_utc, utcnow
from cvatcore.core.services.webhooks_delivery import (
    attempt_row,
    lock_webhook,
    outcome,
    queue_drain,
    send,
)

_HOOK = (Webhook.id, Webhook.is_active, Webhook.drain_job_id, Webhook.target_url,
         Webhook.secret, Webhook.content_type, Webhook.enable_ssl)
_DELIVERY = (WebhookDelivery.id, WebhookDelivery.event, WebhookDelivery.request,
             WebhookDelivery.attempts, WebhookDelivery.created_date,
             WebhookDelivery.next_attempt_at)


def pending_head(session: Session, webhook_id: int) -> WebhookDelivery | None:
    return session.scalars(
        select(WebhookDelivery)
        .where(WebhookDelivery.webhook_id == webhook_id, WebhookDelivery.state == "pending")
        .order_by(WebhookDelivery.id).limit(1)
    ).first()


def _due(conn: Connection, job_id: str, webhook_id: int) -> tuple[Any, Any]:
    """(the webhook's row, its oldest pending delivery if this drain sends it now)."""
    hook = conn.execute(select(*_HOOK).where(Webhook.id == webhook_id)).first()
    if hook is None or hook.drain_job_id != job_id or not hook.is_active:
        return hook, None
    delivery = conn.execute(
        select(*_DELIVERY)
        .where(WebhookDelivery.webhook_id == webhook_id, WebhookDelivery.state == "pending")
        .order_by(WebhookDelivery.id).limit(1)).first()
    if delivery is None or as_utc(delivery.next_attempt_at) > utcnow():
        return hook, None
    return hook, delivery


def _record(conn: Connection, state: Any, webhook_id: int, delivery: Any, result: Any,
            duration_ms: int) -> None:
    now = utcnow()
    values, reason = outcome(state.settings.webhooks, delivery, result, now)
    conn.execute(insert(WebhookAttempt).values(
        **attempt_row(delivery.id, values["attempts"], result, duration_ms, now)))
    conn.execute(update(WebhookDelivery).where(WebhookDelivery.id == delivery.id)
                 .values(**values))
    if reason:
        conn.execute(update(Webhook).where(Webhook.id == webhook_id)
                     .values(is_active=False, disabled_reason=reason))


def _stop(job: Any, webhook_id: int) -> bool:
    """End the drain under the webhook's lock: let go when nothing is pending, or queue a
    successor for the next retry. True when a delivery became due meanwhile."""
    with job.state.db.unit_of_work() as session:
        hook = lock_webhook(session, webhook_id)
        if hook is None or hook.drain_job_id != job.id:
            return False  # deleted, or another drain has taken over
        job.guard(session)
        delivery = pending_head(session, webhook_id) if hook.is_active else None
        if delivery is None:
            hook.drain_job_id = None
        elif as_utc(delivery.next_attempt_at) > utcnow():
            queue_drain(session, hook, as_utc(delivery.next_attempt_at))
        else:
            return True
        return False


def run_drain(job: Any) -> dict[str, Any]:
    """Send the webhook's due deliveries in order, then stop or reschedule."""
    state, webhook_id = job.state, int(job.args["webhook_id"])
    sent = 0
    while True:
        with state.db.work(write=False) as work:
            hook, delivery = _due(work.connection, job.id, webhook_id)
        while delivery is not None:
            result, duration = send(state, hook, delivery)
            sent += 1
            with state.db.work() as work:
                job.guard(work.session)  # commit only while this worker holds the drain
                conn = work.connection
                _record(conn, state, webhook_id, delivery, result, duration)
                hook, delivery = _due(conn, job.id, webhook_id)
            job.check()
        if not _stop(job, webhook_id):
            return {"result_id": webhook_id} if sent else {}
