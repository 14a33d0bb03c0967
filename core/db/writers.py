"""A first-come, first-served queue for SQLite's one writer, among the threads of a process.

SQLite lets one transaction write at a time. A ``BEGIN IMMEDIATE`` that finds the lock taken
waits in SQLite's busy handler, which polls: it sleeps 1, 2, 5, 10, ... up to 100 ms between
tries. A thread that writes back to back (a request loop, a producer) takes the lock again
the moment it lets go, while the others are asleep; they can wait for seconds (measured:
webhook drains waiting up to 2 s for a 1 ms write while changes were committed next to them).
Inside one process the writers therefore queue here first and get the lock in the order
they asked, handed from one to the next; SQLite's busy handler remains for other processes
(``cvatcore worker`` next to ``cvatcore serve``).
"""

from __future__ import annotations

import threading
from collections import deque


class WriterQueue:
    """A lock that serves waiters in order (FIFO): ``release`` hands it to the oldest."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._held = False
        self._waiters: deque[threading.Event] = deque()
        # Turns ended so far: a reader of SQLite's ``data_version`` (``jobs/watch.py``)
        # tells this process's own commits from other processes' by it.
        self.turns = 0

    def acquire(self, timeout: float) -> bool:
        """Wait (at most ``timeout`` s) for the turn; False when it did not come. A caller
        that gets False goes on without the queue (SQLite's own busy handling still
        applies): a writer nested in another writer of its own thread must not hang here."""
        with self._mutex:
            if not self._held:
                self._held = True
                return True
            turn = threading.Event()
            self._waiters.append(turn)
        if turn.wait(timeout):
            return True
        with self._mutex:
            if turn in self._waiters:
                self._waiters.remove(turn)
                return False
        return True  # handed over between the timeout and the removal

    def release(self) -> None:
        with self._mutex:
            self.turns += 1
            if self._waiters:
                self._waiters.popleft().set()  # still held: it passes to the next in line
            else:
                self._held = False
