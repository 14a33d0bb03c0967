"""Workers that take queued jobs and run them: in-process threads inside ``cvatcore serve``
(the embedded default) and ``cvatcore worker`` processes, on any number of machines.

A worker claims one job at a time by giving it a lease: on PostgreSQL with
``SELECT ... FOR UPDATE SKIP LOCKED`` (concurrent workers never wait on or take the same
row), on SQLite under the single writer lock. A job whose worker died is claimed again when
its lease runs out; handlers are written to be safe to run twice.
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

from cvatcore.core.jobs.queue import add_wakeup, expiry, remove_wakeup, wake_all
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

    def progress(self, fraction: float | None, message: str | None = None) -> None:
        """Record progress (0..1) and renew the lease; raises ``JobLost`` when the job was
        cancelled or another worker took it over, so the handler stops."""
        values: dict[str, Any] = {
            "progress": fraction, "lease_until": utcnow() + self.runner.lease,
        }
        if message is not None:
            values["message"] = message
        with self.state.db.unit_of_work() as session:
            done = session.execute(
                update(BackgroundJob)
                .where(BackgroundJob.id == self.id, BackgroundJob.status == "started",
                       BackgroundJob.lease_owner == self.runner.name)
                .values(**values)
            ).rowcount
        if not done:
            raise JobLost(self.id)


class JobRunner:
    """Claims and runs jobs of the kinds registered on ``state``."""

    def __init__(self, state: Any, name: str | None = None) -> None:
        self.state = state
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        settings = state.settings.jobs
        self.lease = timedelta(seconds=settings.lease_seconds)
        self.poll_seconds = settings.poll_seconds
        self.keep_hours = settings.keep_finished_hours

    def claim(self) -> JobContext | None:
        """Lease the oldest runnable job of a known kind, or return None."""
        now = utcnow()
        with self.state.db.unit_of_work() as session:
            stmt = (
                select(BackgroundJob)
                .where(
                    BackgroundJob.kind.in_(list(self.state.job_kinds)),
                    or_(
                        and_(BackgroundJob.status == "queued", BackgroundJob.next_run_at <= now),
                        and_(BackgroundJob.status == "started", BackgroundJob.lease_until < now),
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
            job.status, job.lease_owner = "started", self.name
            job.lease_until = now + self.lease
            job.attempts += 1
            job.started_date = job.started_date or now
            session.flush()
            return JobContext(self, job)

    def run_one(self) -> bool:
        """Claim and run one job; False when there was nothing to do."""
        job = self.claim()
        if job is None:
            return False
        handler = self.state.job_kinds[job.kind]
        try:
            result = handler(job) or {}
        except JobLost:
            logger.info("job %s was cancelled or taken over", job.id)
        except JobFailed as exc:
            self._finish(job, "failed", message=str(exc))
        except Exception as exc:
            logger.exception("job %s (%s) failed on attempt %d", job.id, job.kind, job.attempt)
            self._retry_or_fail(job, exc)
        else:
            self._finish(job, "finished", result=result)
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
            session.execute(
                update(BackgroundJob)
                .where(BackgroundJob.id == job.id, BackgroundJob.lease_owner == self.name,
                       BackgroundJob.status == "started")
                .values(**values)
            )

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
