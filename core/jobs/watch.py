"""Waiting for work that this process *or another one* commits.

Work committed in this process wakes its waiters at once (``queue.wake_after_commit``). A
``cvatcore worker`` process hears nothing of the server's commits that way, and a webhook
drain lingering there for the next event looked again only every 50 ms. ``CommitWatch``
ends the wait as soon as any commit may have added work:

* PostgreSQL: ``wake_after_commit`` also issues ``NOTIFY cvatcore_work`` in the committing
  transaction (PostgreSQL delivers it at the commit, never for a rollback); the watch
  ``LISTEN``s on a connection of its own, waiting (``select``) on that connection's socket
  and on a pipe that this process's wake-ups write to, so it hears both at once.
* SQLite (one machine): ``PRAGMA data_version`` on the watch's connection changes whenever
  another connection commits; the watch looks every ``SQLITE_POLL_SECONDS``. Not more often:
  on SQLite the workers run inside the server (``[jobs] in_process_workers``), where this
  process's commits wake them at once, and a tighter poll takes the interpreter lock from
  the requests (measured: 2 ms halved the bench's producer). A change seen while this
  process's own writers committed (``Database.local_writes``) is taken for theirs: those
  wake their waiters themselves, and every drain reading the database after every commit of
  the server cost the deliveries' latency more than it gained. Another process's commit in
  the same 20 ms is then seen at the waiter's next timeout.

``wait`` says why it returned: ``False`` when only this process woke it (``wake``, or work
it queued) or ``on_payload`` took a notification's payload as its own, ``True`` when another
process may have committed work, or at the timeout. A notification whose payload belongs to
another waiter (``on_payload`` returns None) is not a reason to wake.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import time
from collections.abc import Callable
from typing import Any

from cvatcore.core.jobs.queue import NOTIFY_CHANNEL as CHANNEL
from cvatcore.core.jobs.queue import add_wakeup, remove_wakeup

SQLITE_POLL_SECONDS = 0.02


class PipeEvent(threading.Event):
    """A ``threading.Event`` that ``select`` can wait on with sockets: ``set`` also writes
    a byte to a pipe (``fileno``), ``clear`` empties it. Once closed, ``set`` writes
    nothing (a late wake-up must not write to a reused descriptor)."""

    def __init__(self) -> None:
        super().__init__()
        self._read, self._write = os.pipe()
        os.set_blocking(self._read, False)
        os.set_blocking(self._write, False)
        self._pipe_lock = threading.Lock()
        self._open = True

    def fileno(self) -> int:
        return self._read

    def set(self) -> None:
        super().set()
        with self._pipe_lock, contextlib.suppress(BlockingIOError):  # full: set anyway
            if self._open:
                os.write(self._write, b"\0")

    def clear(self) -> None:
        super().clear()
        with self._pipe_lock, contextlib.suppress(BlockingIOError):  # empty
            while self._open and os.read(self._read, 512):
                pass

    def close(self) -> None:
        with self._pipe_lock:
            if self._open:
                self._open = False
                os.close(self._read)
                os.close(self._write)


class CommitWatch:
    """``with CommitWatch(db) as watch: watch.wait(timeout)``: returns once this process
    queued work, another process may have (see the module), or ``timeout`` passed."""

    def __init__(self, db: Any, on_payload: Callable[[str], bool | None] | None = None
                 ) -> None:
        self._db = db
        self._on_payload = on_payload
        self._dialect = db.engine.dialect.name
        # Only PostgreSQL's wait selects on the event with a socket; elsewhere a plain one.
        self._event = PipeEvent() if self._dialect == "postgresql" else threading.Event()
        self._raw: Any = None
        self._version: Any = None
        self._local_writes = 0

    def __enter__(self) -> CommitWatch:
        add_wakeup(self._event)
        try:
            self._raw = self._db.engine.raw_connection()
            driver = self._raw.driver_connection
            if self._dialect == "postgresql":
                driver.autocommit = True
                driver.execute(f"LISTEN {CHANNEL}")
            elif self._dialect == "sqlite":
                self._version = self._data_version()
                self._local_writes = self._db.local_writes()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *_exc: Any) -> None:
        remove_wakeup(self._event)
        raw, self._raw = self._raw, None
        if raw is None:
            self._close_event()
            return
        try:
            if self._dialect == "postgresql":
                raw.driver_connection.execute(f"UNLISTEN {CHANNEL}")
                raw.driver_connection.autocommit = False
        except Exception:
            raw.invalidate()  # a broken connection is not given back to the pool
        finally:
            raw.close()
            self._close_event()

    def _close_event(self) -> None:
        if isinstance(self._event, PipeEvent):
            self._event.close()

    def wake(self) -> None:
        """End the current (or next) ``wait`` of this watch."""
        self._event.set()

    def wait(self, timeout: float) -> bool:
        """Wait for work (see the module); whether it may come from elsewhere (or the
        timeout passed) rather than from this process alone."""
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            left = deadline - time.monotonic()
            if self._event.is_set():
                elsewhere = False
            elif left <= 0:
                elsewhere = True
            elif self._dialect == "postgresql":
                found = self._notified(left)
                if found is None:
                    continue
                elsewhere = found
            elif self._event.wait(min(SQLITE_POLL_SECONDS, max(0.0, left))):
                elsewhere = False
            elif self._changed():
                elsewhere = True
            else:
                continue
            break
        self._event.clear()
        return elsewhere

    def _notified(self, timeout: float) -> bool | None:
        """Whether a notification came that may mean work from elsewhere (True), or one
        whose payload ``on_payload`` took (False); None when none came (this process's
        wake-up, the timeout), or none for us."""
        connection = self._raw.driver_connection
        ready, _, _ = select.select([connection.fileno(), self._event], [], [], timeout)
        if self._event in ready or not ready:
            return None
        found = None
        for notify in connection.notifies(timeout=0):
            taken = self._on_payload(notify.payload) if notify.payload and \
                self._on_payload is not None else True
            if taken is not None:
                found = bool(found) or taken
        return found

    def _data_version(self) -> Any:
        return self._raw.driver_connection.execute("PRAGMA data_version").fetchone()[0]

    def _changed(self) -> bool:
        """Whether another process committed since the last look (see the module)."""
        if self._dialect != "sqlite":
            return False
        version, local = self._data_version(), self._db.local_writes()
        changed = version != self._version and local == self._local_writes
        self._version, self._local_writes = version, local
        return changed
