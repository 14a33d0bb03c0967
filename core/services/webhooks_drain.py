"""The ``deliver:webhook`` job: pending deliveries of the webhooks it holds, sent in order.

A drain *holds* webhooks: each one whose ``webhooks.drain_job_id`` is its id (one at first,
more as it adopts others). It loops over *rounds*: read each held webhook's due deliveries,
oldest first (up to ``BATCH``), send them webhook after webhook (outside any transaction)
until one does not settle (it waits for a retry, or failed) or ``ROUND_SECONDS`` have
passed, then record every attempt in one write transaction, committed only while this
worker still holds the job (``job.guard``). A worker killed mid-round has recorded nothing
of it: the next drain sends the round again (at least once, in order).

Why several webhooks per drain: with more busy webhooks than workers, a drain holding one
webhook had to hand it over (a write transaction behind the application's own writers)
before another webhook's events could go out, and each event waited for its webhook's turn
(measured: p99 change-to-delivery 180 ms against 23 ms for plain httpx). A drain that holds
them all sends each event as soon as its commit wakes it.

In the round's transaction the drain also lets go (under the webhook's lock, see
``webhooks_delivery``) of webhooks it should no longer hold: one whose head delivery now
waits for a retry gets a successor job queued for that time (a failing receiver does not
hold up the healthy ones), one turned off or idle for ``[webhooks] linger_seconds`` is
freed. It adopts another webhook whose drain job is queued (``_adopt``), up to
``HOLD_MAX``. When other jobs wait for a worker, a drain with nothing to send, or one that
has run ``SLICE_SECONDS``, lets go of everything (queueing successors where deliveries are
left) so those jobs get the worker.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
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

BATCH = 200  # deliveries read (and recorded) at once per webhook
ROUND_SECONDS = 0.5  # sending time after which a round ends (and the next is read)
RECORD_SECONDS = 0.2  # attempts are recorded at most this long after they were sent
SLICE_SECONDS = 2.0  # running time after which a drain lets waiting jobs have its worker
HOLD_MAX = 8  # webhooks one drain holds at most (more are left to other workers)
LINGER_POLL_SECONDS = 0.05  # an idle drain looks again this often (other processes' work)

_HOOK = (Webhook.id, Webhook.is_active, Webhook.drain_job_id, Webhook.target_url,
         Webhook.secret, Webhook.content_type, Webhook.enable_ssl)
_DELIVERY = (WebhookDelivery.id, WebhookDelivery.webhook_id, WebhookDelivery.event,
             WebhookDelivery.request, WebhookDelivery.attempts, WebhookDelivery.created_date,
             WebhookDelivery.next_attempt_at)


@dataclass
class View:
    """What one read found of the held webhooks."""

    due: dict[int, tuple[Any, list[Any]]] = field(default_factory=dict)  # id: (hook, rows)
    idle: set[int] = field(default_factory=set)  # held, nothing pending at all
    release: set[int] = field(default_factory=set)  # turned off, or the head awaits a retry
    gone: set[int] = field(default_factory=set)  # deleted, or held by another drain now
    drains_wait: bool = False  # another webhook's drain job waits to be run
    others_wait: bool = False  # a job of another kind waits for a worker


def pending_head(session: Session, webhook_id: int) -> WebhookDelivery | None:
    return session.scalars(
        select(WebhookDelivery)
        .where(WebhookDelivery.webhook_id == webhook_id, WebhookDelivery.state == "pending")
        .order_by(WebhookDelivery.id).limit(1)
    ).first()


def _read(conn: Connection, job: Any, held: list[int], sent_upto: dict[int, int]) -> View:
    """The held webhooks' state; deliveries up to ``sent_upto[webhook]`` were sent already
    (their attempts wait to be recorded) and are left out."""
    view, now = View(), utcnow()
    hooks = {h.id: h for h in conn.execute(select(*_HOOK).where(Webhook.id.in_(held)))}
    for webhook_id in held:
        hook = hooks.get(webhook_id)
        if hook is None or hook.drain_job_id != job.id:
            view.gone.add(webhook_id)
            continue
        if not hook.is_active:
            view.release.add(webhook_id)
            continue
        rows = conn.execute(
            select(*_DELIVERY)
            .where(WebhookDelivery.webhook_id == webhook_id, WebhookDelivery.state == "pending",
                   WebhookDelivery.id > sent_upto.get(webhook_id, 0))
            .order_by(WebhookDelivery.id).limit(BATCH)).all()
        due = []
        for row in rows:  # up to the first that waits for a retry: later ones wait behind it
            if as_utc(row.next_attempt_at) > now:
                break
            due.append(row)
        if due:
            view.due[webhook_id] = (hook, due)
        elif rows:
            view.release.add(webhook_id)
        else:
            view.idle.add(webhook_id)
    waiting = (select(BackgroundJob.id).where(
        BackgroundJob.status == "queued", BackgroundJob.next_run_at <= now).limit(1))
    view.drains_wait = conn.execute(waiting.where(BackgroundJob.kind == KIND)).first() is not None
    others = [kind for kind in job.state.job_kinds if kind != KIND]
    view.others_wait = bool(others) and conn.execute(
        waiting.where(BackgroundJob.kind.in_(others))).first() is not None
    return view


def _send(job: Any, view: View, order: list[int]) -> tuple[list[tuple[Any, Any, int]], set[int]]:
    """Send the due deliveries, webhook after webhook in ``order``, each in order; a webhook
    stops at a delivery that did not settle. Stops after ``ROUND_SECONDS`` or when the job
    was lost. Returns (delivery, result, ms) per attempt and the webhooks that stopped."""
    started, sent, stuck = time.monotonic(), [], set()
    for webhook_id in order:
        hook, rows = view.due[webhook_id]
        sender = Sender(job.state, hook)
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


def _record(conn: Connection, state: Any, sent: list[tuple[Any, Any, int]]) -> None:
    """Every attempt of a round, in one statement per table; a webhook whose delivery failed
    for good is turned off with the reason."""
    now, attempts, changes, reasons = utcnow(), [], [], {}
    alive = set(conn.scalars(select(WebhookDelivery.id).where(
        WebhookDelivery.id.in_([delivery.id for delivery, _, _ in sent]))))
    sent = [attempt for attempt in sent if attempt[0].id in alive]  # webhook deleted since
    if not sent:
        return
    for delivery, result, duration in sent:
        values, why = outcome(state.settings.webhooks, delivery, result, now)
        attempts.append(attempt_row(delivery.id, values["attempts"], result, duration, now))
        values.setdefault("state", "pending")
        values.setdefault("next_attempt_at", delivery.next_attempt_at)
        changes.append({"b_id": delivery.id, **{f"b_{k}": v for k, v in values.items()}})
        if why:
            reasons[delivery.webhook_id] = why
    conn.execute(insert(WebhookAttempt), attempts)
    conn.execute(_UPDATE, changes)
    for webhook_id, reason in reasons.items():
        conn.execute(update(Webhook).where(Webhook.id == webhook_id)
                     .values(is_active=False, disabled_reason=reason))


def _release(session: Session, job: Any, ids: set[int], ending: bool = False) -> set[int]:
    """Let go of ``ids`` under their locks: free a webhook with nothing pending (or turned
    off), queue a successor for one whose head waits for a retry (or, ``ending``, for one
    with due deliveries, behind the waiting jobs). Returns the ones kept: a delivery became
    due meanwhile (a change committed while the drain decided)."""
    kept = set()
    for webhook_id in sorted(ids):
        hook = lock_webhook(session, webhook_id)
        if hook is None or hook.drain_job_id != job.id:
            continue
        head = pending_head(session, webhook_id) if hook.is_active else None
        if head is None:
            hook.drain_job_id = None
        elif as_utc(head.next_attempt_at) > utcnow():
            queue_drain(session, hook, as_utc(head.next_attempt_at))
        elif ending:
            queue_drain(session, hook)
        else:
            kept.add(webhook_id)
    return kept


def _adopt(session: Session, job: Any) -> int | None:
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


class Drain:
    """One running drain job: the webhooks it holds (and since when each idles), and the
    attempts it sent but has not recorded yet."""

    def __init__(self, job: Any) -> None:
        self.job, self.state = job, job.state
        self.linger = self.state.settings.webhooks.linger_seconds
        self.started = time.monotonic()
        self.held: dict[int, float | None] = {}  # webhook id: idle since (monotonic)
        self.unrecorded: list[tuple[Any, Any, int]] = []
        self.sent_upto: dict[int, int] = {}  # webhook id: last delivery sent, unrecorded
        self.since = 0.0  # when the oldest unrecorded attempt was sent
        self.sent = 0
        self.turn = 0  # rotates which webhook sends first in a round

    def load(self) -> None:
        with self.state.db.work(write=False) as work:
            self.held = dict.fromkeys(work.connection.scalars(
                select(Webhook.id).where(Webhook.drain_job_id == self.job.id)))

    def step(self, wake: threading.Event) -> bool:
        """Read, send, and (when due) record and let go; False once the drain ends."""
        job = self.job
        with self.state.db.work(write=False) as work:
            view = _read(work.connection, job, list(self.held), self.sent_upto)
        for webhook_id in view.gone:
            self.held.pop(webhook_id, None)
        now = time.monotonic()
        for webhook_id in self.held:
            self.held[webhook_id] = (self.held[webhook_id] or now) \
                if webhook_id in view.idle else None
        release = view.release | {w for w in view.idle
                                  if now - (self.held[w] or now) >= self.linger}
        if view.due:
            release |= self._send(view)
        slice_over = now - self.started > SLICE_SECONDS
        ending = (view.others_wait and (not view.due or slice_over)) or \
            (view.drains_wait and len(self.held) >= HOLD_MAX and slice_over)
        adopt = view.drains_wait and not ending and len(self.held) < HOLD_MAX
        record_due = bool(self.unrecorded) and (
            time.monotonic() - self.since >= RECORD_SECONDS or len(self.unrecorded) >= BATCH)
        if not (release or ending or adopt or record_due or not self.held):
            if not view.due:  # wait for a commit (or the next look, or the record's time)
                left = RECORD_SECONDS - (time.monotonic() - self.since)
                wake.wait(min(LINGER_POLL_SECONDS, left) if self.unrecorded
                          else LINGER_POLL_SECONDS)
                wake.clear()
            job.check()
            return True
        with self.state.db.work() as work:
            job.guard(work.session)  # commit only while this worker holds the drain
            self._record(work.connection)
            if ending or not self.held:
                release = set(self.held)
            kept = _release(work.session, job, release, ending)
            for webhook_id in release - kept:
                self.held.pop(webhook_id, None)
            if adopt and (adopted := _adopt(work.session, job)) is not None:
                self.held[adopted] = None
        job.check()
        return bool(self.held) and not ending

    def _send(self, view: View) -> set[int]:
        """Send a round (rotating which webhook goes first); the webhooks that stopped at a
        delivery that did not settle, to be let go once it is recorded."""
        order = sorted(view.due)
        self.turn += 1
        order = order[self.turn % len(order):] + order[:self.turn % len(order)]
        if not self.unrecorded:
            self.since = time.monotonic()
        sent, stuck = _send(self.job, view, order)
        self.unrecorded += sent
        for delivery, _, _ in sent:
            self.sent_upto[delivery.webhook_id] = delivery.id
        return stuck

    def _record(self, conn: Connection) -> None:
        if self.unrecorded:
            _record(conn, self.state, self.unrecorded)
            self.sent += len(self.unrecorded)
            self.unrecorded, self.sent_upto = [], {}


def run_drain(job: Any) -> dict[str, Any]:
    """Send the held webhooks' due deliveries in order, round after round, woken by the
    commits that add deliveries; end once every webhook was let go."""
    drain = Drain(job)
    drain.load()
    wake = threading.Event()
    add_wakeup(wake)
    try:
        while drain.step(wake):
            pass
    finally:
        remove_wakeup(wake)
    return {"result_id": int(job.args["webhook_id"])} if drain.sent else {}
