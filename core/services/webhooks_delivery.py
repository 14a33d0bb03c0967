"""Durable, ordered webhook delivery on the one job mechanism.

Deliveries are outbox rows (``webhook_deliveries``) written in the transaction of the change
they announce. Each webhook with pending deliveries is held by one *drain* job
(``deliver:webhook``, its id in ``webhooks.drain_job_id``; one drain may hold several
webhooks, see ``webhooks_drain``) that sends them one at a time, oldest first, so a receiver
sees one webhook's events in the order they happened. A delivery that fails (network error,
timeout, 408, 429, 5xx) is tried again with exponential back-off and jitter (or after the
receiver's ``Retry-After`` on 429/503) while later ones wait behind it; the drain lets go of
that webhook and a successor job is queued for the retry time, so no worker sleeps. After
``[webhooks] retry_window_seconds`` the delivery is failed and the webhook turned off, with
the reason. A killed worker's drain is taken over when its lease runs out and resends the
deliveries it was sending: delivery is at least once.

Queueing and finishing a drain both lock the webhook's row (``SELECT ... FOR UPDATE`` on
PostgreSQL; SQLite has one writer), so a delivery written while the drain decides to stop is
either seen by it or queues a new drain.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import hmac
import json
import random
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from cvatcore.core.jobs.queue import ACTIVE, enqueue, wake_after_commit
from cvatcore.core.models import BackgroundJob, Webhook, WebhookAttempt, WebhookDelivery
from cvatcore.core.models.base import as_utc, utcnow
from cvatcore.core.outbound import OutboundRefused, resolve
from cvatcore.core.services import webhooks_handoff as handoff
from cvatcore.hooks import DeliveryResult, OutboundRequest

KIND = "deliver:webhook"
RETRY_STATUSES = frozenset({408, 429}) | frozenset(range(500, 600))
HEAD_BYTES = 2048  # how much of each answer an attempt keeps


def body_of(payload: dict[str, Any]) -> bytes:
    """The bytes CVAT sends for ``payload`` (``requests``' ``json=``: ``json.dumps`` with its
    default separators), which the signatures cover."""
    return json.dumps(payload).encode()


def signature_headers(secret: str, message_id: str, body: bytes, now: int) -> dict[str, str]:
    """CVAT's ``X-Signature-256`` (only with a secret) and the Standard Webhooks headers
    (``webhook-signature`` signs ``id.timestamp.body`` with the secret's UTF-8 bytes)."""
    headers = {"webhook-id": message_id, "webhook-timestamp": str(now)}
    if secret:
        key = secret.encode()
        digest = hmac.new(key, body, hashlib.sha256).hexdigest()
        headers["X-Signature-256"] = f"sha256={digest}"
        signed = hmac.new(key, f"{message_id}.{now}.".encode() + body, hashlib.sha256).digest()
        headers["webhook-signature"] = "v1," + base64.b64encode(signed).decode()
    return headers


def secret_of(state: Any, hook: Webhook) -> str:
    """The webhook's secret in clear (to sign deliveries; never for output)."""
    return state.secrets.decrypt(hook.secret) if hook.secret else ""


# -- queueing -----------------------------------------------------------------------------

def lock_webhook(session: Session, webhook_id: int) -> Webhook | None:
    stmt = select(Webhook).where(Webhook.id == webhook_id)
    if session.bind is not None and session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return session.scalars(stmt.execution_options(populate_existing=True)).first()


def queue_drain(session: Session, hook: Webhook, at: datetime | None = None) -> None:
    job_id = f"action=deliver&target=webhook&id={hook.id}&drain={uuid.uuid4().hex[:12]}"
    job = enqueue(session, job_id=job_id, kind=KIND, args={"webhook_id": hook.id},
                  operation={"type": KIND, "target": "webhook"}, org_id=hook.organization_id,
                  max_attempts=20)
    if at is not None:
        job.next_run_at = at
    hook.drain_job_id = job_id


def ensure_drain(session: Session, webhook_id: int) -> None:
    """Make sure a drain job will send ``webhook_id``'s pending deliveries (inside the
    caller's transaction: the job exists exactly when the caller's changes do): a drain
    already running is woken at the commit, else one is queued."""
    hook = lock_webhook(session, webhook_id)
    if hook is None:
        return
    if hook.drain_job_id is not None and _drain_active(session, hook.drain_job_id):
        wake_after_commit(session)  # a drain waiting for more (linger) sends it
        return
    queue_drain(session, hook)


_STATUS = select(BackgroundJob.status).where(BackgroundJob.id == bindparam("job_id"))


def _drain_active(session: Session, job_id: str) -> bool:
    return session.connection().execute(_STATUS, {"job_id": job_id}).scalar() in ACTIVE


def _hand_or_wake(session: Session, job_id: str, handed: handoff.Handed | None) -> None:
    """The running drain ``job_id`` gets ``handed`` at the commit (``webhooks_handoff``: in
    this process, or by ``NOTIFY`` on PostgreSQL), or is woken to read it."""
    if handed is None or not (handoff.hand_after_commit(session, job_id, handed)
                              or handoff.notify_after_commit(session, job_id, handed)):
        wake_after_commit(session)


def recover(session: Session, settings: Any, job_id: str) -> None:
    """The sweeper: drain ``job_id`` failed for good (its handler kept raising, or its
    worker died during every attempt). The pending deliveries of the webhooks it held must
    not wait for each webhook's next event: a new drain is queued for each, after a pause
    (``retry_base_seconds``, at most a minute) so a drain that fails at once does not spin."""
    pause = min(60.0, settings.webhooks.retry_base_seconds)
    held = session.scalars(select(Webhook.id).where(Webhook.drain_job_id == job_id)
                           .order_by(Webhook.id)).all()
    for webhook_id in held:
        hook = lock_webhook(session, webhook_id)
        if hook is None or hook.drain_job_id != job_id:
            continue  # deleted, or another drain has it already
        pending = session.scalar(select(WebhookDelivery.id).where(
            WebhookDelivery.webhook_id == webhook_id,
            WebhookDelivery.state == "pending").limit(1))
        if pending is None:
            hook.drain_job_id = None
        else:
            queue_drain(session, hook, utcnow() + timedelta(seconds=pause))


# Built once: making a statement costs more than running it on this path.
_NUMBER = (update(Webhook).where(Webhook.id == bindparam("webhook_id"))
           .values(last_seq=Webhook.last_seq + 1)
           .returning(Webhook.last_seq, Webhook.drain_job_id, Webhook.is_active,
                      Webhook.target_url, Webhook.secret, Webhook.content_type,
                      Webhook.enable_ssl))
_INSERT = insert(WebhookDelivery).returning(WebhookDelivery.id)


def record(session: Session, hook: Any, event: str, payload: dict[str, Any], *,
           changed_fields: str = "", redelivery: bool = False) -> int | None:
    """Write one pending delivery of ``payload`` to ``hook`` (a webhook, or any row with its
    ``id``) and make sure it will be sent: its id, or
    None when the webhook was deleted meanwhile. Its ``seq`` is taken by the statement that
    locks the webhook's row until the commit, so one webhook's deliveries are numbered in
    the order their transactions commit; that statement also reads what the running drain
    needs to be handed the delivery. Core statements on the session's connection: this runs
    once per watching webhook on every change (through the ORM, a change to a watched
    project cost three times one to an unwatched one; now ~2x)."""
    session.flush()  # what the ORM holds of this transaction is in the database first
    connection = session.connection()
    locked = connection.execute(_NUMBER, {"webhook_id": hook.id}).first()
    if locked is None:
        return None
    now = utcnow()
    delivery_id = connection.execute(_INSERT, {
        "webhook_id": hook.id, "seq": locked.last_seq, "event": event, "request": payload,
        "changed_fields": changed_fields, "redelivery": redelivery, "created_date": now,
        "next_attempt_at": now, "updated_date": now}).scalar_one()
    if locked.drain_job_id is None or not _drain_active(session, locked.drain_job_id):
        # None runs for this webhook: queue one (the row is locked since the UPDATE above).
        queue_drain(session, lock_webhook(session, hook.id))
        return delivery_id
    handed = handoff.Handed(
        handoff.Hook(hook.id, locked.target_url, locked.secret, locked.content_type,
                     locked.enable_ssl),
        handoff.Due(delivery_id, hook.id, locked.last_seq, event, payload, 0, redelivery, now,
                    now)) if locked.is_active else None
    _hand_or_wake(session, locked.drain_job_id, handed)
    return delivery_id


# -- sending ------------------------------------------------------------------------------

def transport_of(state: Any) -> Any:
    """The configured transport, built once per application (it pools connections)."""
    transport = state.__dict__.get("_webhook_transport")
    if transport is None:
        name = state.settings.webhooks.transport
        transport = state.provider("webhooks", name, state.settings.webhooks.options.get(name))
        state.__dict__["_webhook_transport"] = transport
    return transport


class Sender:
    """Sends deliveries of one webhook. The outbound guard checks the target when a sender
    is made (it may resolve elsewhere by now) and the transport connects to the address it
    checked; the secret is decrypted once. A drain makes one per batch (a second or so of
    sending), so the target is checked again at every batch."""

    def __init__(self, state: Any, hook: Any) -> None:
        settings = state.settings
        self.hook, self.timeout = hook, settings.webhooks.timeout_seconds
        try:
            self.address: str | None = resolve(hook.target_url, settings.outbound.allow).address
            self.refused = ""
        except OutboundRefused as exc:
            self.address, self.refused = None, f"refused by the outbound guard: {exc}"
        self.secret = secret_of(state, hook) if self.address else ""
        self.transport = transport_of(state)

    def send(self, delivery: Any) -> tuple[DeliveryResult, int]:
        """One attempt: the result and its duration in ms; a target the guard refuses is
        status 0 (failed, not retried)."""
        if self.address is None:
            return DeliveryResult(0, self.refused), 0
        started = time.monotonic()
        body = body_of(delivery.request)
        hook = self.hook
        headers = {"Content-Type": hook.content_type, "User-Agent": "cvatcore-webhooks",
                   **signature_headers(self.secret, f"msg_{delivery.id}", body,
                                       int(time.time()))}
        request = OutboundRequest(hook.target_url, body, headers, verify_tls=hook.enable_ssl,
                                  timeout=self.timeout, connect_to=self.address)
        result = self.transport.send(request)
        return result, int((time.monotonic() - started) * 1000)


def send(state: Any, hook: Any, delivery: Any) -> tuple[DeliveryResult, int]:
    """One attempt at ``delivery`` (see ``Sender``)."""
    return Sender(state, hook).send(delivery)


def settled(result: DeliveryResult) -> bool:
    """Whether an attempt that came back with ``result`` delivered (a final answer): else the
    delivery waits for a retry or failed, and the webhook's later deliveries wait for it."""
    return bool(result.status_code) and result.status_code not in RETRY_STATUSES


def _retry_after(result: DeliveryResult) -> float | None:
    if result.status_code not in (429, 503):
        return None
    value = {k.lower(): v for k, v in (result.headers or {}).items()}.get("retry-after")
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - utcnow()).total_seconds())


def next_delay(settings: Any, attempts: int, result: DeliveryResult) -> float:
    """Seconds until the next attempt: the receiver's ``Retry-After``, else exponential
    back-off with jitter (between half and all of ``base * 2**(attempts-1)``, capped)."""
    asked = _retry_after(result)
    if asked is not None:
        return asked
    ceiling = min(settings.retry_max_interval_seconds,
                  settings.retry_base_seconds * 2 ** (attempts - 1))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def head_of(result: DeliveryResult) -> str:
    lines = [f"HTTP {result.status_code}"]
    lines += [f"{k}: {v}" for k, v in (result.headers or {}).items()]
    return "\n".join(lines) + "\n\n" + result.body[:HEAD_BYTES]


def outcome(settings: Any, delivery: Any, result: DeliveryResult, now: datetime
            ) -> tuple[dict[str, Any], str]:
    """What one attempt makes of ``delivery`` (anything with ``id``, ``event``,
    ``attempts``, ``created_date``): the column values to write, and the reason to turn
    the webhook off ("" to keep it). Delivered on any final answer (2xx, 3xx, most 4xx);
    retried on 408, 429, 5xx and network errors within the retry window; failed after it.
    A refusal by the outbound guard (status 0) fails at once and leaves the webhook on."""
    attempts = delivery.attempts + 1
    values: dict[str, Any] = {"attempts": attempts, "status_code": result.status_code or None,
                              "response": result.body, "updated_date": now}
    if result.status_code and result.status_code not in RETRY_STATUSES:
        values["state"] = "delivered"
        return values, ""
    retry_at = now + timedelta(seconds=next_delay(settings, attempts, result))
    deadline = as_utc(delivery.created_date) + timedelta(seconds=settings.retry_window_seconds)
    if result.status_code and retry_at <= deadline:
        values["next_attempt_at"] = retry_at
        return values, ""
    values["state"] = "failed"
    if not result.status_code:
        return values, ""
    return values, (f"Turned off at {now.isoformat()}: delivery {delivery.id} "
                    f"({delivery.event}) failed {attempts} times over "
                    f"{settings.retry_window_seconds:.0f} s, last with status "
                    f"{result.status_code}.")


def attempt_row(delivery_id: int, number: int, result: DeliveryResult, duration_ms: int,
                now: datetime) -> dict[str, Any]:
    return {"delivery_id": delivery_id, "number": number,
            "status_code": result.status_code or None, "response_head": head_of(result),
            "duration_ms": duration_ms, "created_date": now}


def apply_result(session: Session, state: Any, hook: Webhook, delivery: WebhookDelivery,
                 result: DeliveryResult, duration_ms: int) -> None:
    """Record one attempt on ORM objects and decide the delivery's fate."""
    now = utcnow()
    values, reason = outcome(state.settings.webhooks, delivery, result, now)
    session.add(WebhookAttempt(**attempt_row(delivery.id, values["attempts"], result,
                                             duration_ms, now)))
    for name, value in values.items():
        setattr(delivery, name, value)
    if reason:
        hook.is_active, hook.disabled_reason = False, reason


# -- ping ---------------------------------------------------------------------------------

def ping(caller: Any, hook: Webhook, payload: dict[str, Any]) -> WebhookDelivery:
    """Send ``ping`` now, in the request (as CVAT does), and return its delivery. Not
    retried: whoever pings reads the answer."""
    delivery = WebhookDelivery(webhook_id=hook.id, event="ping", request=payload)
    caller.session.add(delivery)
    caller.session.flush()
    result, duration = send(caller.state, hook, delivery)
    apply_result(caller.session, caller.state, hook, delivery, result, duration)
    if delivery.state == "pending":
        delivery.state = "failed"
    caller.session.flush()
    return delivery
