"""Ordered, bounded parallel maps: results come back in input order, and only a few tasks are
ever in flight, so memory stays flat however many images there are."""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def cpu_count() -> int:
    """Cores this process may run on (what ``--jobs`` defaults to)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def ordered_map(
    executor: Executor, fn: Callable[..., R], items: Iterable[Any], window: int, *args: Any
) -> Iterator[R]:
    """``fn(item, *args)`` for each item, submitted ``window`` ahead of the one being yielded."""
    pending: deque[Future[R]] = deque()
    try:
        for item in items:
            pending.append(executor.submit(fn, item, *args))
            if len(pending) >= window:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        for future in pending:
            future.cancel()


class WorkerPool:
    """``jobs`` worker processes (none when ``jobs`` is 1: the work runs in this process).

    Workers are forked when this process has a single thread, which costs nothing and shares
    the parent's imports; they are started at once, on entering, so that the threads started
    afterwards (a progress bar, concurrent reads) are never forked. With threads already
    running (an fsspec event loop, a test server) forking can deadlock and Python 3.12+ warns
    about it, so the workers are spawned instead.
    """

    def __init__(self, jobs: int) -> None:
        self.jobs = jobs
        self._executor: ProcessPoolExecutor | None = None

    def __enter__(self) -> WorkerPool:
        if self.jobs > 1:
            self._executor = ProcessPoolExecutor(max_workers=self.jobs, mp_context=_context())
            self._executor.submit(int).result()  # starts the workers now
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def map(self, fn: Callable[..., R], items: Iterable[Any], window: int, *args: Any
            ) -> Iterator[R]:
        """``fn(item, *args)`` in order, with at most ``window`` items in flight."""
        if self._executor is None:
            for item in items:
                yield fn(item, *args)
            return
        yield from ordered_map(self._executor, fn, items, window, *args)


def _context() -> multiprocessing.context.BaseContext:
    if sys.platform == "linux" and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def thread_map(
    fn: Callable[[T], R], items: Iterable[T], threads: int, window: int
) -> Iterator[tuple[T, R]]:
    """``(item, fn(item))`` in order over a thread pool: concurrent reads from a bucket."""
    executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="manifest-read")
    try:
        yield from ordered_map(executor, _pair, items, window, fn)
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


def _pair(item: T, fn: Callable[[T], R]) -> tuple[T, R]:
    return item, fn(item)
