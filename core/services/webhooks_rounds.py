"""The steps of a webhook drain's round (see ``webhooks_drain``): read what is due, send it,
record the attempts, let go of webhooks and adopt others. Plain Core statements; the
drain decides when each runs."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, union_all, update
from sqlalchemy.orm import Session

from cvatcore.core.jobs.queue import expiry
from cvatcore.core.models import BackgroundJob, Webhook, WebhookAttempt, WebhookDelivery
from cvatcore.core.models.base import as_utc, utcnow
from cvatcore.core.services.webhooks_delivery import (
    KIND,
    Sender,
    attempt_row,
    lock_webhook,
    outcome,
    queue_drain,
    settled,
)
from cvatcore.core.services.webhooks_handoff import Hook, secret_digest

BATCH = 200  # deliveries of one webhook read at once
ROUND_SECONDS = 0.5  # sending time after which a round ends (and the next is read)
SENDER_SECONDS = 1.0  # a webhook's target is checked again (DNS, outbound guard) this often


_DUE = (WebhookDelivery.id, WebhookDelivery.webhook_id, WebhookDelivery.seq,
        WebhookDelivery.event,
        WebhookDelivery.request, WebhookDelivery.attempts, WebhookDelivery.redelivery,
        WebhookDelivery.created_date,
        WebhookDelivery.next_attempt_at, Webhook.target_url, Webhook.secret,
        Webhook.content_type, Webhook.enable_ssl)


def read_due(conn: Connection, job_id: str, held: list[int], sent_upto: dict[int, int]
             ) -> dict[int, tuple[Hook, list[Any], bool]]:
    """Per held webhook with pending deliveries: (its hook, the due ones oldest first, whether
    one waits for a retry), in one statement (one ``LIMIT`` per webhook, so a long backlog of
    one does not hide another's new event). Deliveries up to ``sent_upto[webhook]`` (a
    ``seq``) were sent already (their attempts wait to be recorded) and are left out; a
    webhook turned off, or
    no longer held by ``job_id``, has none."""
    if not held:
        return {}
    members = [
        select(*_DUE).join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
        .where(WebhookDelivery.webhook_id == webhook_id, WebhookDelivery.state == "pending",
               WebhookDelivery.seq > sent_upto.get(webhook_id, 0),
               Webhook.drain_job_id == job_id, Webhook.is_active.is_(True))
        .order_by(WebhookDelivery.seq).limit(BATCH).subquery()
        for webhook_id in held]
    stmt = union_all(*(select(m) for m in members)) if len(members) > 1 else select(members[0])
    found: dict[int, list[Any]] = {}
    for row in conn.execute(stmt):
        found.setdefault(row.webhook_id, []).append(row)
    now, result = utcnow(), {}
    for webhook_id, rows in found.items():
        rows.sort(key=lambda r: r.seq)
        due = []
        for row in rows:  # up to the first that waits for a retry: later ones wait behind it
            if as_utc(row.next_attempt_at) > now:
                break
            due.append(row)
        first = rows[0]
        hook = Hook(webhook_id, first.target_url, first.secret, first.content_type,
                    first.enable_ssl)
        result[webhook_id] = (hook, due, len(due) < len(rows))
    return result


def jobs_waiting(conn: Connection, state: Any) -> tuple[bool, bool]:
    """(another webhook's drain job waits to be run, a job of another kind waits)."""
    waiting = select(BackgroundJob.id).where(
        BackgroundJob.status == "queued", BackgroundJob.next_run_at <= utcnow()).limit(1)
    drains = conn.execute(waiting.where(BackgroundJob.kind == KIND)).first() is not None
    kinds = [kind for kind in state.job_kinds if kind != KIND]
    others = bool(kinds) and conn.execute(
        waiting.where(BackgroundJob.kind.in_(kinds))).first() is not None
    return drains, others


class Senders:
    """A ``Sender`` per webhook, made again after ``SENDER_SECONDS`` or when the webhook's
    target, secret or options changed: the outbound guard checks the target (it may resolve
    elsewhere by now) and the secret is decrypted once per sender, not per delivery."""

    def __init__(self, state: Any) -> None:
        self.state = state
        self._made: dict[int, tuple[Hook, float, Sender]] = {}

    def known(self, hook: Hook, digest: str) -> Hook | None:
        """The webhook as this drain last read it, when ``hook`` (from another process,
        without its secret) is the same and the stored secret's digest is ``digest``."""
        made = self._made.get(hook.id)
        if made is None or made[0]._replace(secret=None) != hook or \
                secret_digest(made[0].secret) != digest:
            return None
        return made[0]

    def of(self, hook: Hook) -> Sender:
        known = self._made.get(hook.id)
        now = time.monotonic()
        if known is None or known[0] != hook or now - known[1] > SENDER_SECONDS:
            known = self._made[hook.id] = (hook, now, Sender(self.state, hook))
        return known[2]

    def refresh(self) -> None:
        """Make again, now, the senders that ``of`` would make again soon: the drain calls
        this after sending, so that the check (a DNS lookup) is not on the way from a
        commit to its delivery."""
        now = time.monotonic()
        for hook, made, _ in list(self._made.values()):
            if now - made > SENDER_SECONDS / 2:
                self._made[hook.id] = (hook, now, Sender(self.state, hook))


def send_round(job: Any, senders: Senders, due: dict[int, tuple[Hook, list[Any], bool]],
               order: list[int]) -> tuple[list[tuple[Any, Any, int]], set[int]]:
    """Send the due deliveries, webhook after webhook in ``order``, each in order; a webhook
    stops at a delivery that did not settle. Stops after ``ROUND_SECONDS`` or when the job
    was lost. Returns (delivery, result, ms) per attempt and the webhooks that stopped."""
    started, sent, stuck = time.monotonic(), [], set()
    for webhook_id in order:
        hook, rows, _ = due[webhook_id]
        sender = senders.of(hook)
        for delivery in rows:
            result, duration = sender.send(delivery)
            sent.append((delivery, result, duration))
            if not settled(result):
                stuck.add(webhook_id)
                break
            if job.lost.is_set() or time.monotonic() - started > ROUND_SECONDS:
                return sent, stuck
    return sent, stuck


_UPDATE = (update(WebhookDelivery).where(WebhookDelivery.id == bindparam("b_id"))
           .values({name: bindparam(f"b_{name}") for name in (
               "attempts", "status_code", "response", "updated_date", "state",
               "next_attempt_at")}))


def record(conn: Connection, state: Any, sent: list[tuple[Any, Any, int]]) -> None:
    """Every attempt, in one statement per table; a webhook whose delivery failed for good
    is turned off with the reason. Deliveries gone meanwhile (their webhook was deleted)
    are left out."""
    alive = set(conn.scalars(select(WebhookDelivery.id).where(
        WebhookDelivery.id.in_([delivery.id for delivery, _, _ in sent]))))
    now, attempts, changes, reasons = utcnow(), [], [], {}
    for delivery, result, duration in sent:
        if delivery.id not in alive:
            continue
        values, why = outcome(state.settings.webhooks, delivery, result, now)
        attempts.append(attempt_row(delivery.id, values["attempts"], result, duration, now))
        values.setdefault("state", "pending")
        values.setdefault("next_attempt_at", delivery.next_attempt_at)
        changes.append({"b_id": delivery.id, **{f"b_{k}": v for k, v in values.items()}})
        if why:
            reasons[delivery.webhook_id] = why
    if not attempts:
        return
    conn.execute(insert(WebhookAttempt), attempts)
    conn.execute(_UPDATE, changes)
    for webhook_id, reason in reasons.items():
        conn.execute(update(Webhook).where(Webhook.id == webhook_id)
                     .values(is_active=False, disabled_reason=reason))


def pending_head(session: Session, webhook_id: int) -> WebhookDelivery | None:
    return session.scalars(
        select(WebhookDelivery)
        .where(WebhookDelivery.webhook_id == webhook_id, WebhookDelivery.state == "pending")
        .order_by(WebhookDelivery.seq).limit(1)
    ).first()


def release(session: Session, job_id: str, ids: set[int], ending: bool = False,
            hand_over: set[int] = frozenset()) -> set[int]:
    """Let go of ``ids`` under their locks (see ``webhooks_delivery``): free a webhook with
    nothing pending (or turned off), queue a successor for one whose head waits for a retry
    (or, ``ending`` or in ``hand_over``, for one with due deliveries, behind the jobs already
    waiting). Returns
    the ones kept: a delivery became due meanwhile (a change committed while the drain
    decided). A webhook deleted or held by another drain is simply dropped."""
    kept = set()
    for webhook_id in sorted(ids):
        hook = lock_webhook(session, webhook_id)
        if hook is None or hook.drain_job_id != job_id:
            continue
        head = pending_head(session, webhook_id) if hook.is_active else None
        if head is None:
            hook.drain_job_id = None
        elif as_utc(head.next_attempt_at) > utcnow():
            queue_drain(session, hook, as_utc(head.next_attempt_at))
        elif ending or webhook_id in hand_over:
            queue_drain(session, hook)
        else:
            kept.add(webhook_id)
    return kept


def adopt(session: Session, job: Any) -> int | None:
    """Take over the oldest due drain job still queued (another webhook's), in a transaction
    of this drain: the webhook is then held by this job (a worker taking the job over after
    a crash finds it by ``drain_job_id``), and the queued job is finished unrun."""
    stmt = (select(BackgroundJob)
            .where(BackgroundJob.kind == KIND, BackgroundJob.status == "queued",
                   BackgroundJob.next_run_at <= utcnow())
            .order_by(BackgroundJob.next_run_at, BackgroundJob.created_date).limit(1))
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    queued = session.scalars(stmt).first()
    if queued is None:
        return None
    queued.status, queued.progress, queued.finished_date = "finished", 1.0, utcnow()
    queued.expiry_date = expiry(job.runner.keep_hours)
    queued.message = f"Its webhook was taken over by the running drain {job.id}."
    hook = lock_webhook(session, int(queued.args["webhook_id"]))
    if hook is None or hook.drain_job_id != queued.id:
        return None  # a stale drain: nothing left to hand over
    hook.drain_job_id = job.id
    return hook.id
