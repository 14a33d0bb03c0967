"""Workers that take queued jobs and run them: in-process threads inside ``cvatcore serve``
(the embedded default) and ``cvatcore worker`` processes, on any number of machines.

A worker claims one job at a time by giving it a lease: on PostgreSQL with
``SELECT ... FOR UPDATE SKIP LOCKED`` (concurrent workers never wait on or take the same
row), on SQLite under the single writer lock. The lease is short (``[jobs] lease_seconds``)
and a heartbeat thread renews it while the handler runs, so a long job keeps its worker and
a job whose worker died (kill -9, a lost machine) is claimed again within about a lease.

Only a job whose lease ran out is claimed, so two workers never run one job at once: a
worker whose renewal finds the job in other hands (it stalled longer than a lease and was
taken over) marks the job lost, and from then on ``progress`` and ``guard`` raise
``JobLost`` and the runner records nothing. Handlers are still written to be safe to run
twice: a worker that died half-way leaves its partial work to the next one.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, delete, or_, select, update

from cvatcore.core.jobs.completion import announce
from cvatcore.core.jobs.queue import add_wakeup, expiry, remove_wakeup, wake_all
from cvatcore.core.logs import REQUEST_ID
from cvatcore.core.models import BackgroundJob
from cvatcore.core.models.base import utcnow
from cvatcore.hooks import JobFailed

logger = logging.getLogger("cvatcore.jobs")


class JobLost(Exception):
    """The job was cancelled, or its lease was taken over by another worker."""


class JobContext:
    """What a job handler receives (see ``register_job_kinds``)."""

    def __init__(self, runner: JobRunner, job: BackgroundJob) -> None:
        self.runner = runner
        self.state = runner.state
        self.id = job.id
        self.kind = job.kind
        self.args: dict[str, Any] = dict(job.args or {})
        self.operation: dict[str, Any] = dict(job.operation or {})
        self.owner_id = job.owner_id
        self.org_id = job.organization_id
        self.attempt = job.attempts
        #: Set (by the heartbeat, ``progress`` or ``guard``) once this worker no longer holds
        #: the job; a handler that neither reports progress nor writes may poll it.
        self.lost = threading.Event()

    def progress(self, fraction: float | None, message: str | None = None) -> None:
        """Record progress (0..1) and renew the lease; raises ``JobLost`` when the job was
        cancelled or another worker took it over, so the handler stops."""
        values: dict[str, Any] = {"progress": fraction}
        if message is not None:
            values["message"] = message
        with self.state.db.unit_of_work() as session:
            self._renew(session, values)

    def guard(self, session: Any) -> None:
        """Renew the lease inside ``session``'s transaction, or raise ``JobLost``: call it
        before a handler's final writes, so they commit only while this worker holds the job
        (the job's row stays locked, or on SQLite the database, until that commit).
        ``session`` may be a ``Connection`` in a transaction (no ORM session needed)."""
        self._renew(session, {})

    def check(self) -> None:
        """Raise ``JobLost`` if the heartbeat found the job in other hands."""
        if self.lost.is_set():
            raise JobLost(self.id)

    def _renew(self, session: Any, values: dict[str, Any]) -> None:
        self.check()
        if not self.runner.renew(session, self.id, values):
            self.lost.set()
            raise JobLost(self.id)


class JobRunner:
    """Claims and runs jobs of the kinds registered on ``state``."""

    def __init__(self, state: Any, name: str | None = None) -> None:
        self.state = state
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        settings = state.settings.jobs
        self.lease = timedelta(seconds=settings.lease_seconds)
        self.heartbeat_seconds = settings.heartbeat()
        self.poll_seconds = settings.poll_seconds
        self.keep_hours = settings.keep_finished_hours

    def claim(self) -> JobContext | None:
        """Lease the oldest runnable job of a known kind, or return None. A job is runnable
        when queued and due, or started with a lease that ran out (its worker stopped
        renewing it). One taken over that often already is failed rather than run again: a
        job that kills its worker every time must not take the workers down in turn."""
        while True:
            now = utcnow()
            with self.state.db.unit_of_work() as session:
                stmt = (
                    select(BackgroundJob)
                    .where(
                        BackgroundJob.kind.in_(list(self.state.job_kinds)),
                        or_(
                            and_(BackgroundJob.status == "queued",
                                 BackgroundJob.next_run_at <= now),
                            and_(BackgroundJob.status == "started",
                                 BackgroundJob.lease_until < now),
                        ),
                    )
                    .order_by(BackgroundJob.next_run_at, BackgroundJob.created_date)
                    .limit(1)
                )
                if session.bind.dialect.name == "postgresql":
                    stmt = stmt.with_for_update(skip_locked=True)
                job = session.scalar(stmt)
                if job is None:
                    return None
                if job.status == "started" and job.attempts >= job.max_attempts:
                    logger.warning("job %s (%s): its worker stopped on each of %d attempts; "
                                   "not run again", job.id, job.kind, job.attempts)
                    job.status, job.lease_until, job.finished_date = "failed", None, now
                    job.expiry_date = expiry(self.keep_hours)
                    job.message = ("The request did not finish: its worker stopped during "
                                   f"each attempt ({job.attempts}); see the server log.")
                    session.flush()
                    announce(self.state, session, job.id)
                    continue
                if job.status == "started":
                    logger.warning("job %s (%s): the lease of %s ran out; taking it over",
                                   job.id, job.kind, job.lease_owner)
                job.status, job.lease_owner = "started", self.name
                job.lease_until = now + self.lease
                job.attempts += 1
                job.started_date = job.started_date or now
                session.flush()
                return JobContext(self, job)

    def renew(self, session: Any, job_id: str, values: dict[str, Any] | None = None) -> bool:
        """Extend the lease of ``job_id`` (and set ``values``) if this runner still holds
        it; False when the job was cancelled, finished or taken over."""
        return bool(session.execute(
            update(BackgroundJob)
            .where(BackgroundJob.id == job_id, BackgroundJob.status == "started",
                   BackgroundJob.lease_owner == self.name)
            .values(lease_until=utcnow() + self.lease, **(values or {}))
        ).rowcount)

    def run_one(self) -> bool:
        """Claim and run one job (its lease renewed by a heartbeat meanwhile); False when
        there was nothing to do."""
        job = self.claim()
        if job is None:
            return False
        handler = self.state.job_kinds[job.kind]
        heartbeat = Heartbeat(self, job)
        heartbeat.start()
        outcome: tuple[str, Any] = ("lost", None)
        # The job's log records carry the id of the request that queued it (core/logs.py).
        request_id = REQUEST_ID.set((job.args or {}).get("request_id") or job.id)
        try:
            result = handler(job) or {}
        except JobLost:
            job.lost.set()
        except JobFailed as exc:
            outcome = ("failed", exc)
        except Exception as exc:
            logger.exception("job %s (%s) failed on attempt %d", job.id, job.kind, job.attempt)
            outcome = ("retry", exc)
        else:
            outcome = ("finished", result)
        finally:
            heartbeat.stop()
            REQUEST_ID.reset(request_id)
        if job.lost.is_set():  # another worker has the job now: its outcome is not ours
            logger.warning("job %s was cancelled or taken over; this worker stops", job.id)
        elif outcome[0] == "failed":
            self._finish(job, "failed", message=str(outcome[1]))
        elif outcome[0] == "retry":
            self._retry_or_fail(job, outcome[1])
        else:
            self._finish(job, "finished", result=outcome[1])
        return True

    def run_until_idle(self, limit: int = 1000) -> int:
        """Run jobs until none is runnable (tests, ``cvatcore worker --once``)."""
        count = 0
        while count < limit and self.run_one():
            count += 1
        return count

    def _finish(self, job: JobContext, status: str, message: str = "",
                result: dict[str, Any] | None = None) -> None:
        values: dict[str, Any] = {
            "status": status, "finished_date": utcnow(), "lease_until": None,
            "expiry_date": expiry(self.keep_hours), "message": message,
        }
        if status == "finished":
            values.update(progress=1.0, result_id=(result or {}).get("result_id"),
                          result_url=(result or {}).get("result_url"))
        with self.state.db.unit_of_work() as session:
            ended = session.execute(
                update(BackgroundJob)
                .where(BackgroundJob.id == job.id, BackgroundJob.lease_owner == self.name,
                       BackgroundJob.status == "started")
                .values(**values)
            ).rowcount
            if ended:  # in the same transaction: announced exactly when it ended, once
                announce(self.state, session, job.id)

    def _retry_or_fail(self, job: JobContext, exc: Exception) -> None:
        with self.state.db.unit_of_work() as session:
            row = session.get(BackgroundJob, job.id)
            if row is None or row.lease_owner != self.name or row.status != "started":
                return
            if row.attempts < row.max_attempts:
                row.status, row.lease_until = "queued", None
                row.next_run_at = utcnow() + timedelta(seconds=2 ** row.attempts)
                row.message = f"Attempt {row.attempts} failed; retrying."
                return
        # The message names the kind of error only: exception text from storage and network
        # libraries may carry URLs with credentials. The server log has the details.
        self._finish(job, "failed", message=f"The request failed ({type(exc).__name__}); "
                     "see the server log for details.")

    def purge_expired(self) -> int:
        with self.state.db.unit_of_work() as session:
            return session.execute(
                delete(BackgroundJob).where(BackgroundJob.status.in_(("finished", "failed")),
                                            BackgroundJob.expiry_date < utcnow())
            ).rowcount

    def serve(self, stop: threading.Event) -> None:
        """Run jobs until ``stop`` is set, sleeping ``poll_seconds`` (or until new work is
        committed in this process) when idle."""
        wake = threading.Event()
        add_wakeup(wake)
        idle_rounds = 0
        try:
            while not stop.is_set():
                try:
                    ran = self.run_one()
                except Exception:  # the database went away for a moment: wait, try again
                    logger.exception("job runner error")
                    ran = False
                if ran:
                    continue
                idle_rounds += 1
                if idle_rounds % 600 == 1:
                    self.purge_expired()
                wake.wait(self.poll_seconds)
                wake.clear()
        finally:
            remove_wakeup(wake)


class Heartbeat:
    """Renews a running job's lease every ``[jobs] heartbeat_seconds`` until stopped. A
    renewal that finds the job in other hands sets ``job.lost`` and ends the heartbeat; one
    that fails (the database is away for a moment) is tried again at the next beat: the lease
    gives a few beats of slack."""

    def __init__(self, runner: JobRunner, job: JobContext) -> None:
        self.runner, self.job = runner, job
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True,
                                        name=f"{threading.current_thread().name}-heartbeat")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        job = self.job
        while not self._stop.wait(self.runner.heartbeat_seconds):
            try:
                with self.runner.state.db.unit_of_work() as session:
                    held = self.runner.renew(session, job.id)
            except Exception:
                logger.exception("job %s: renewing the lease failed; trying again", job.id)
                continue
            if not held:
                logger.warning("job %s: the lease is no longer ours", job.id)
                job.lost.set()
                return


class InProcessWorkers:
    """``n`` runner threads: inside ``cvatcore serve`` (the app lifespan starts and stops
    them) and in ``cvatcore worker``."""

    def __init__(self, state: Any, count: int) -> None:
        self.state, self.count = state, count
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for number in range(self.count):
            runner = JobRunner(self.state)
            thread = threading.Thread(target=runner.serve, args=(self._stop,),
                                      name=f"cvatcore-jobs-{number + 1}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float | None = 10.0) -> None:
        """Ask the threads to stop after their current job; wait ``timeout`` s each (None:
        as long as the jobs take)."""
        self._stop.set()
        wake_all()
        for thread in self._threads:
            thread.join(timeout)
