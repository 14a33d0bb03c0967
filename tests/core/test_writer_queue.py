"""``core/db/writers.py``: SQLite writers of one process get the lock in the order they asked
for it, and a wait that runs out lets the writer go on without the queue."""

from __future__ import annotations

import threading
import time

from cvatcore.core.db.writers import WriterQueue


def test_writers_are_served_in_the_order_they_asked():
    queue, order = WriterQueue(), []
    assert queue.acquire(1.0)

    def writer(name: str) -> None:
        assert queue.acquire(5.0)
        order.append(name)
        queue.release()

    threads = []
    for name in ("first", "second", "third"):
        thread = threading.Thread(target=writer, args=(name,))
        thread.start()
        threads.append(thread)
        time.sleep(0.05)  # each is waiting before the next asks
    # The holder writes again at once (as a busy request loop would): it queues behind them.
    queue.release()
    assert queue.acquire(5.0)
    order.append("holder again")
    queue.release()
    for thread in threads:
        thread.join(5)
    assert order == ["first", "second", "third", "holder again"]


def test_a_wait_that_runs_out_goes_on_without_the_queue():
    queue = WriterQueue()
    assert queue.acquire(1.0)
    started = time.monotonic()
    assert not queue.acquire(0.1)  # e.g. a writer nested in its own thread's writer
    assert time.monotonic() - started < 1.0
    queue.release()
    assert queue.acquire(0.1)  # the timed-out waiter left no trace in the line
    queue.release()
