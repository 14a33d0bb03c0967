"""The ``deliver:webhook`` job: one webhook's pending deliveries, sent in order.

The job holds the webhook (``webhooks.drain_job_id``) and loops over *batches*: read the
webhook's due deliveries, oldest first (up to ``BATCH``), send them one after the other
(outside any transaction) until one does not settle (it waits for a retry, or failed) or
``BATCH_SECONDS`` have passed, then record every attempt and read the next batch in one
write transaction, committed only while this worker still holds the job (``job.guard``).
So the bookkeeping costs one transaction per batch rather than one per delivery, and a
worker killed mid-batch has recorded nothing of it: the next drain sends the batch again
(at least once, in order). Plain Core statements, executemany for the batch's rows.

A drain that has sent for ``SLICE_SECONDS`` hands the webhook to a successor queued behind
the jobs already waiting, so a busy webhook cannot keep the workers from the others. A
drain that sent everything waits up to ``[webhooks] linger_seconds`` for the webhook's next
delivery (woken when one commits in this process, polling for other processes' ones), unless
another job waits for a worker: a steady stream of events then goes out without a job being
queued and claimed for each. When nothing is due it stops under the webhook's lock: it lets
go of the webhook, or queues its successor for the next retry time (see
``webhooks_delivery``); then, within its time slice, it takes over another webhook whose
drain is queued (``_adopt``) rather than end.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.orm import Session

from cvatcore.core.jobs.queue import add_wakeup, expiry, remove_wakeup
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

BATCH = 200  # deliveries read (and recorded) at once
BATCH_SECONDS = 0.5  # sending time after which a batch is recorded
SLICE_SECONDS = 2.0  # sending time after which a drain lets the other webhooks' drains run
LINGER_POLL_SECONDS = 0.05  # a lingering drain looks again this often (other processes' work)

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


def _due(conn: Connection, job_id: str, webhook_id: int) -> tuple[Any, list[Any]]:
    """(the webhook's row, its oldest pending deliveries this drain sends now): up to
    ``BATCH``, ending before the first that waits for a retry (later ones wait behind it).
    The row is None when the drain no longer holds an active webhook."""
    hook = conn.execute(select(*_HOOK).where(Webhook.id == webhook_id)).first()
    if hook is None or hook.drain_job_id != job_id or not hook.is_active:
        return None, []
    rows = conn.execute(
        select(*_DELIVERY)
        .where(WebhookDelivery.webhook_id == webhook_id, WebhookDelivery.state == "pending")
        .order_by(WebhookDelivery.id).limit(BATCH)).all()
    now, due = utcnow(), []
    for row in rows:
        if as_utc(row.next_attempt_at) > now:
            break
        due.append(row)
    return hook, due


def _send(job: Any, hook: Any, batch: list[Any]) -> list[tuple[Any, Any, int]]:
    """Send ``batch`` in order; stop after a delivery that did not settle, after
    ``BATCH_SECONDS``, or when the job was lost. Returns (delivery, result, ms) per attempt."""
    sender, started, sent = Sender(job.state, hook), time.monotonic(), []
    for delivery in batch:
        result, duration = sender.send(delivery)
        sent.append((delivery, result, duration))
        if not settled(result) or job.lost.is_set() or \
                time.monotonic() - started > BATCH_SECONDS:
            break
    return sent


_UPDATE = (update(WebhookDelivery).where(WebhookDelivery.id == bindparam("b_id"))
           .values({name: bindparam(f"b_{name}") for name in (
               "attempts", "status_code", "response", "updated_date", "state",
               "next_attempt_at")}))


def _record(conn: Connection, state: Any, webhook_id: int, sent: list[tuple[Any, Any, int]]
            ) -> None:
    """Every attempt of a batch, in one statement per table."""
    now, attempts, changes, reason = utcnow(), [], [], ""
    for delivery, result, duration in sent:
        values, why = outcome(state.settings.webhooks, delivery, result, now)
        attempts.append(attempt_row(delivery.id, values["attempts"], result, duration, now))
        values.setdefault("state", "pending")
        values.setdefault("next_attempt_at", delivery.next_attempt_at)
        changes.append({"b_id": delivery.id, **{f"b_{k}": v for k, v in values.items()}})
        reason = reason or why
    conn.execute(insert(WebhookAttempt), attempts)
    conn.execute(_UPDATE, changes)
    if reason:
        conn.execute(update(Webhook).where(Webhook.id == webhook_id)
                     .values(is_active=False, disabled_reason=reason))


def _stop(job: Any, webhook_id: int, hand_over: bool = False, adopt: bool = False
          ) -> int | None:
    """Let go of the webhook under its lock: free it when nothing is pending, or queue a
    successor for the next retry (``hand_over``: for now, behind the waiting jobs). Returns
    the webhook to go on with: this one when a delivery became due meanwhile, another one
    whose queued drain this one took over (``adopt``, see ``_adopt``), or None to end."""
    with job.state.db.unit_of_work() as session:
        job.guard(session)
        hook = lock_webhook(session, webhook_id)
        if hook is not None and hook.drain_job_id == job.id:
            delivery = pending_head(session, webhook_id) if hook.is_active else None
            if delivery is None:
                hook.drain_job_id = None
            elif hand_over:
                queue_drain(session, hook)
            elif as_utc(delivery.next_attempt_at) > utcnow():
                queue_drain(session, hook, as_utc(delivery.next_attempt_at))
            else:
                return webhook_id
        return _adopt(session, job) if adopt else None


def _adopt(session: Session, job: Any) -> int | None:
    """Take over the oldest due drain job still queued (another webhook's), in the
    transaction that let go of this drain's webhook: the webhook is then held by this job
    (its ``args`` say which, so a worker taking the job over after a crash drains it), and
    the queued job is finished unrun. With more webhooks than workers, a webhook's next
    event then costs no job ending and no job claimed (two write transactions)."""
    stmt = (select(BackgroundJob)
            .where(BackgroundJob.kind == KIND, BackgroundJob.status == "queued",
                   BackgroundJob.next_run_at <= utcnow())
            .order_by(BackgroundJob.next_run_at, BackgroundJob.created_date).limit(1))
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    queued = session.scalars(stmt).first()
    if queued is None:
        return None
    other = int(queued.args["webhook_id"])
    queued.status, queued.progress, queued.finished_date = "finished", 1.0, utcnow()
    queued.expiry_date = expiry(job.runner.keep_hours)
    queued.message = f"Its webhook was taken over by the running drain {job.id}."
    hook = lock_webhook(session, other)
    if hook is None or hook.drain_job_id != queued.id:
        return None  # a stale drain: nothing left to hand over
    hook.drain_job_id = job.id
    row = session.get(BackgroundJob, job.id)
    row.args = {**row.args, "webhook_id": other}
    return other


def _idle(conn: Connection, job: Any, webhook_id: int) -> bool:
    """Whether the drain may wait for the webhook's next delivery: nothing is pending (not
    even a retry later on) and no other job waits for a worker."""
    if conn.execute(select(WebhookDelivery.id).where(
            WebhookDelivery.webhook_id == webhook_id, WebhookDelivery.state == "pending")
            .limit(1)).first() is not None:
        return False
    return conn.execute(select(BackgroundJob.id).where(
        BackgroundJob.status == "queued", BackgroundJob.next_run_at <= utcnow(),
        BackgroundJob.kind.in_(list(job.state.job_kinds))).limit(1)).first() is None


def _send_batches(job: Any, webhook_id: int, hook: Any, batch: list[Any], started: float
                  ) -> bool:
    """Send and record batch after batch while deliveries are due; True when the drain
    handed the webhook to a successor (it ran ``SLICE_SECONDS``)."""
    state = job.state
    while batch:
        attempts = _send(job, hook, batch)
        with state.db.work() as work:
            job.guard(work.session)  # commit only while this worker holds the drain
            _record(work.connection, state, webhook_id, attempts)
            hook, batch = _due(work.connection, job.id, webhook_id)
        job.check()
        if batch and time.monotonic() - started > SLICE_SECONDS:
            _stop(job, webhook_id, hand_over=True)
            return True
    return False


def run_drain(job: Any) -> dict[str, Any]:
    """Send the webhook's due deliveries in order, batch by batch; when none is left, wait
    up to ``[webhooks] linger_seconds`` for the next (woken by its commit), then stop or
    reschedule."""
    state, webhook_id = job.state, int(job.args["webhook_id"])
    linger = state.settings.webhooks.linger_seconds
    started, sent, idle_since = time.monotonic(), False, None
    wake = threading.Event()
    add_wakeup(wake)
    try:
        while True:
            with state.db.work(write=False) as work:
                hook, batch = _due(work.connection, job.id, webhook_id)
                idle = hook is not None and not batch and linger > 0 and \
                    _idle(work.connection, job, webhook_id)
            if batch:
                idle_since = None
                if _send_batches(job, webhook_id, hook, batch, started):
                    return {"result_id": webhook_id}  # handed over to a successor
                sent = True
                continue  # read again: more may have come meanwhile, or wait for it
            if idle:
                idle_since = idle_since or time.monotonic()
                left = linger - (time.monotonic() - idle_since)
                if left > 0:
                    wake.wait(min(left, LINGER_POLL_SECONDS))
                    wake.clear()
                    job.check()
                    continue
            going_on = _stop(job, webhook_id, adopt=time.monotonic() - started < SLICE_SECONDS)
            if going_on is None:
                return {"result_id": webhook_id} if sent else {}
            webhook_id, idle_since = going_on, None
    finally:
        remove_wakeup(wake)
