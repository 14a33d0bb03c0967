"""The ``deliver:webhook`` job: pending deliveries of the webhooks it holds, sent in order.

A drain *holds* webhooks: each one whose ``webhooks.drain_job_id`` is its id (one at first,
more as it adopts others' queued drains, up to ``HOLD_MAX``). It loops: read the held
webhooks' due deliveries (one statement), send them webhook after webhook, each in order,
outside any transaction; when nothing is due, wait for the next commit that adds one
(``CommitWatch``: this process's at once, another process's, e.g. the server's when the
drain runs in ``cvatcore worker``, by PostgreSQL's ``NOTIFY`` or SQLite's data version).

Attempts are recorded after sending (as soon as nothing more is due, at least every
``RECORD_SECONDS`` while events keep coming) by a thread of the drain's own (``Recorder``),
so sending never waits for the write lock (on SQLite held by the
application's writers most of the time, and between processes won by polling); each record
commits only while this worker still holds the job (``job.guard``). Deliveries sent but not
recorded yet are skipped by id when reading. A worker killed before the record has recorded
nothing of them: the next drain sends them again (at least once, in order). Letting go of a
webhook waits for its records and happens in a transaction of its own.

Why (measured with 4 webhooks, 2 workers and the changes committed in the same process):
a drain that held one webhook handed it over after every batch (a write transaction queued
behind the application's writers) and each event waited for its webhook's turn, and every
batch waited for its bookkeeping write before the next event went out: p99 from commit to
delivery 180 ms against 23 ms for plain httpx. Holding the webhooks and recording later
takes both writes off the path from commit to send.

Letting go, under the webhook's lock (see ``webhooks_delivery``): a webhook whose head waits
for a retry gets a successor job queued for that time (a failing receiver does not hold up
the healthy ones); one turned off, deleted, or idle for ``[webhooks] linger_seconds`` is
freed. When jobs of other kinds wait for a worker, a drain with nothing to send, or one that
has run ``SLICE_SECONDS``, lets go of everything (queueing successors where deliveries are
left) so those jobs get the worker.
"""

from __future__ import annotations

import queue
import threading
import time
from typing import Any

from sqlalchemy import select

from cvatcore.core.jobs.watch import CommitWatch
from cvatcore.core.models import Webhook
from cvatcore.core.services import webhooks_handoff as handoff
from cvatcore.core.services import webhooks_rounds as rounds
from cvatcore.core.services.webhooks_delivery import settled
from cvatcore.core.services.webhooks_rounds import BATCH

RECORD_SECONDS = 0.2  # while events keep coming, attempts are recorded at most this often
SLICE_SECONDS = 2.0  # running time after which a drain lets waiting jobs have its worker
HOLD_MAX = 8  # webhooks one drain holds at most (more are left to other workers)
# The outbox is read at least this often (hand-offs aside): retries, lingering, other jobs.
READ_SECONDS = 0.25
# A webhook whose receiver took this long to answer is slow: the drain keeps it alone,
# handing its other webhooks to other workers, and adopts none for SLOW_HOLD_SECONDS.
SLOW_SECONDS = 1.0
SLOW_HOLD_SECONDS = 30.0


class Recorder:
    """Records a drain's attempts in a thread of its own, batch after batch, each in one
    write transaction committed only while the worker holds the job. An error (the job was
    lost, the database failed) is raised to the drain by ``check`` and ``flush``."""

    def __init__(self, job: Any) -> None:
        self.job = job
        self._batches: queue.Queue[list[Any] | None] = queue.Queue()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True,
                                         name=f"{threading.current_thread().name}-recorder")
        self._thread.start()

    def put(self, attempts: list[Any]) -> None:
        self._batches.put(attempts)

    def check(self) -> None:
        if self._error is not None:
            raise self._error

    def flush(self) -> None:
        """Wait until every batch put so far is recorded."""
        self._batches.join()
        self.check()

    def close(self) -> None:
        self._batches.put(None)
        self._thread.join()

    def _run(self) -> None:
        state = self.job.state
        while (batch := self._batches.get()) is not None:
            try:
                if self._error is None:
                    with state.db.work() as work:  # Core statements alone: no ORM session
                        self.job.guard(work.connection)
                        rounds.record(work.connection, state, batch)
            except BaseException as exc:  # the drain stops; the next one sends again
                self._error = exc
            finally:
                self._batches.task_done()
        self._batches.task_done()


class Drain:
    """One running drain job: the webhooks it holds (and since when each idles), and the
    attempts it sent but has not handed to its recorder yet."""

    def __init__(self, job: Any, recorder: Recorder) -> None:
        self.job, self.state, self.recorder = job, job.state, recorder
        self.linger = self.state.settings.webhooks.linger_seconds
        self.started = time.monotonic()
        self.held: dict[int, float | None] = {}  # webhook id: idle since (monotonic)
        self.senders = rounds.Senders(self.state)
        self.unrecorded: list[tuple[Any, Any, int]] = []
        # Webhook id: the ``seq`` of the last delivery this drain sent; reads skip up to it
        # until the attempts are recorded for sure (``_write``).
        self.sent_upto: dict[int, int] = {}
        # Webhook id: the ``seq`` its next delivery will have (the one after the last this
        # drain delivered): a hand-off with it is sent without reading the outbox.
        self.expect: dict[int, int] = {}
        self.inbox: handoff.Inbox | None = None
        self.read_next = True  # read the outbox at the next step
        self.last_read = 0.0
        self.last_record = 0.0  # when attempts were last handed to the recorder
        self.slow: dict[int, float] = {}  # webhook id: when its receiver last was slow
        self.sent = 0
        self.turn = 0  # rotates which webhook sends first

    def load(self) -> None:
        with self.state.db.work(write=False) as work:
            self.held = dict.fromkeys(work.connection.scalars(
                select(Webhook.id).where(Webhook.drain_job_id == self.job.id)))

    def step(self, watch: CommitWatch) -> bool:
        """Send what was handed over, read and send when that may not be all, record and let
        go when it is time, else wait; False at the end."""
        fast, unsure = self._take_handed()
        let_go = self._send(fast) if fast else set()
        sending = bool(fast)
        now = time.monotonic()
        hand_over = self._hand_over()
        if hand_over:  # first: a read would send the slow one's next
            self.read_next = True
        elif unsure or self.read_next or now - self.last_read >= READ_SECONDS:
            read_let_go, read_sending = self._read_and_send(now)
            let_go |= read_let_go
            sending = sending or read_sending
            self.read_next = read_sending  # read again at once: more may have come
            hand_over = self._hand_over()  # the read's sends may have found a slow one
        if let_go or hand_over:
            return self._write(let_go, idle=not sending, hand_over=hand_over)
        if self.unrecorded and self._record_now():
            self.recorder.put(self.unrecorded)
            self.unrecorded, self.last_record = [], time.monotonic()
        if sending:
            self.senders.refresh()
            self._check()
            return True
        if self.last_read == now:  # idle after a read: other jobs may want the worker
            with self.state.db.work(write=False) as work:
                drains_wait, others_wait = rounds.jobs_waiting(work.connection, self.state)
            if others_wait or (drains_wait and len(self.held) < HOLD_MAX):
                return self._write(set(), idle=True)
            if not self.held:
                return False
        elsewhere = watch.wait(READ_SECONDS)
        # Woken by this process alone: by a hand-off, or (an empty inbox) by other work
        # queued here, which a read looks at.
        self.read_next = elsewhere or not self._waiting()
        self._check()
        return True

    def _record_now(self) -> bool:
        """Whether to hand the attempts to the recorder: ``BATCH`` of them, or, with nothing
        more to send right now, at once unless the last record is under ``RECORD_SECONDS``
        old. An occasional delivery's status is then written at once, while a busy drain
        writes a few records a second rather than one per delivery (a redelivery is
        recorded at once: someone asked for it and watches its status). A record is a write
        transaction, and one after every delivery (25 a second per drain in the bench) kept
        starting while the application wrote, waited for its commit and then ran just as
        the next delivery went out (bench, median of 3 rounds: p99 ratio 0.38-0.40; with
        this, 0.62-0.76)."""
        if len(self.unrecorded) >= BATCH or any(d.redelivery for d, _, _ in self.unrecorded):
            return True  # a redelivery is asked for by someone who watches its status
        return not (self.read_next or self._waiting()) and \
            time.monotonic() - self.last_record >= RECORD_SECONDS

    def _waiting(self) -> bool:
        return self.inbox is not None and self.inbox.waiting()

    def take_notification(self, payload: str) -> bool | None:
        """``CommitWatch``'s ``on_payload``: a hand-off to this drain from another process
        goes to its inbox (False: nothing else to look at); None for anything else."""
        handed = handoff.from_notification(payload, self.job.id)
        if handed is None or self.inbox is None:
            return None
        self.inbox.put([handed])
        return False

    def _take_handed(self) -> tuple[dict[int, Any], bool]:
        """The handed deliveries that are the next of their held webhook's sequence (as
        ``read_due`` gives them), and whether another one calls for a read."""
        fast: dict[int, Any] = {}
        unsure = False
        expect = dict(self.expect)
        for handed in sorted(self.inbox.take() if self.inbox else (),
                             key=lambda handed: handed.delivery.seq):
            hook, delivery = handed.hook, handed.delivery
            if hook.id not in self.held or delivery.seq <= self.sent_upto.get(hook.id, 0):
                continue  # not this drain's, or sent already
            if handed.secret_digest is not None:  # from another process: no secret
                hook = self.senders.known(hook, handed.secret_digest)
            if hook is None or delivery.seq != expect.get(hook.id):
                unsure = True  # a gap, or a webhook changed: read the outbox
                continue
            expect[hook.id] = delivery.seq + 1
            fast.setdefault(hook.id, (hook, [], False))[1].append(delivery)
        return fast, unsure

    def _read_and_send(self, now: float) -> tuple[set[int], bool]:
        """Read the held webhooks' due deliveries and send them: the webhooks to let go of
        (waiting for a retry with nothing due, idle past the linger, stuck), and whether
        anything was sent."""
        with self.state.db.work(write=False) as work:
            due = rounds.read_due(work.connection, self.job.id, list(self.held),
                                  self.sent_upto)
        self.last_read = now
        for webhook_id, idle_since in self.held.items():
            self.held[webhook_id] = None if webhook_id in due else (idle_since or now)
        let_go = {w for w, (_, rows, waiting) in due.items() if waiting and not rows}
        let_go |= {w for w, idle_since in self.held.items()
                   if idle_since is not None and now - idle_since >= self.linger}
        sending = {w: found for w, found in due.items() if found[1]}
        if sending:
            let_go |= self._send(sending)
        return let_go, bool(sending)

    def _check(self) -> None:
        self.job.check()
        self.recorder.check()

    def _send(self, due: dict[int, Any]) -> set[int]:
        """Send what is due (rotating which webhook goes first); the webhooks that stopped
        at a delivery that did not settle, to be let go once it is recorded."""
        order = sorted(due)
        self.turn += 1
        order = order[self.turn % len(order):] + order[:self.turn % len(order)]
        sent, stuck = rounds.send_round(self.job, self.senders, due, order)
        self.unrecorded += sent
        self.sent += len(sent)
        for delivery, result, duration_ms in sent:
            if duration_ms >= SLOW_SECONDS * 1000:
                self.slow[delivery.webhook_id] = time.monotonic()
            self.held[delivery.webhook_id] = None
            self.sent_upto[delivery.webhook_id] = delivery.seq
            if settled(result):
                self.expect[delivery.webhook_id] = delivery.seq + 1
        if len(sent) < sum(len(rows) for _, rows, _ in due.values()) - len(stuck):
            self.read_next = True  # the round ended early: the rest is read again
        return stuck

    def _slow_held(self) -> set[int]:
        now = time.monotonic()
        self.slow = {w: at for w, at in self.slow.items()
                     if now - at < SLOW_HOLD_SECONDS and w in self.held}
        return set(self.slow)

    def _hand_over(self) -> set[int]:
        """The webhooks to hand to other drains: all but the slow ones, once one is slow
        (its answers would hold up theirs; in CVAT every delivery is a job of its own)."""
        slow = self._slow_held()
        return set(self.held) - slow if slow else set()

    def _write(self, let_go: set[int], idle: bool, hand_over: set[int] = frozenset()
               ) -> bool:
        """Record the attempts, let go of ``let_go`` (of everything when other jobs should
        have the worker), hand ``hand_over`` to new drains (their pending deliveries queue
        one each) and adopt a queued drain unless a held receiver is slow, in one
        transaction after the recorder's; False at the end."""
        job = self.job
        self.recorder.flush()
        with self.state.db.work() as work:
            job.guard(work.session)  # commit only while this worker holds the drain
            if self.unrecorded:
                rounds.record(work.connection, self.state, self.unrecorded)
            drains_wait, others_wait = rounds.jobs_waiting(work.connection, self.state)
            slice_over = time.monotonic() - self.started > SLICE_SECONDS
            ending = (others_wait and (idle or slice_over)) or \
                (drains_wait and len(self.held) >= HOLD_MAX and slice_over)
            if ending:
                let_go = set(self.held)
            let_go = let_go | hand_over
            kept = rounds.release(work.session, job.id, let_go, ending, hand_over)
            adopted = None
            if not ending and drains_wait and len(self.held) < HOLD_MAX and \
                    not self._slow_held():
                adopted = rounds.adopt(work.session, job)
        # Every attempt is recorded now: a retry due at once (Retry-After: 0) is read again.
        self.unrecorded, self.sent_upto = [], {}
        for webhook_id in let_go - kept:
            self.held.pop(webhook_id, None)
            self.expect.pop(webhook_id, None)
        if adopted is not None:
            self.held[adopted] = None
        job.check()
        return bool(self.held) and not ending


def run_drain(job: Any) -> dict[str, Any]:
    """Send the held webhooks' due deliveries in order, woken by the commits that add them
    (this process's hand them over); end once every webhook was let go."""
    recorder = Recorder(job)
    try:
        drain = Drain(job, recorder)
        drain.load()
        with CommitWatch(job.state.db, on_payload=drain.take_notification) as watch:
            drain.inbox = handoff.open_inbox(job.id, watch.wake)
            try:
                while drain.step(watch):
                    pass
            finally:
                handoff.close_inbox(job.id)
    finally:
        recorder.close()
    recorder.check()
    return {"result_id": int(job.args["webhook_id"])} if drain.sent else {}
