"""A bucket of 100,000 objects: the first page is one ``ListObjectsV2`` of ``page_size``
keys, and neither its time in the provider nor its memory grows with the bucket.

moto itself answers such a request in O(objects): it sorts every key of the bucket on each
call, so its own time (measured here with the same request sent straight through botocore)
is reported next to the provider's. S3 answers a ``MaxKeys`` page from its index.
"""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from cvatcore_s3.testing import SEED_KEY, MotoError, MotoServer, start_moto

from cvatcore.hooks import StorageStatus

BIG, SMALL = 100_000, 1_000
PAGE = 100


@pytest.fixture(scope="module")
def seeded_moto() -> Iterator[MotoServer]:
    try:
        server = start_moto(seed={"big": BIG, "small": SMALL})
    except MotoError as exc:
        pytest.fail(f"cannot run the S3 scale test: {exc}", pytrace=False)
    yield server
    server.stop()


def peak_memory(call: Callable[[], Any]) -> int:
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_first_page_of_100k_objects(seeded_moto, make_storage, capsys, monkeypatch):
    storage = make_storage(seeded_moto, "big")
    assert storage.status() == StorageStatus.AVAILABLE  # connects; not part of the timing
    in_request = []
    call_s3 = storage.fs.call_s3

    def timed_call_s3(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return call_s3(*args, **kwargs)
        finally:
            in_request.append(time.perf_counter() - started)

    monkeypatch.setattr(storage.fs, "call_s3", timed_call_s3)
    started = time.perf_counter()
    page = storage.list_page("img/", None, PAGE)
    first_time = time.perf_counter() - started
    assert len(in_request) == 1, "one request per page"
    request_time = in_request[0]
    assert [e.name for e in page.entries] == [SEED_KEY.format(i) for i in range(PAGE)]
    assert page.next is not None

    small = make_storage(seeded_moto, "small")
    small.list_page("img/", None, PAGE)
    peak_small = peak_memory(lambda: small.list_page("img/", None, PAGE))
    peak_big = peak_memory(lambda: storage.list_page("img/", None, PAGE))
    overhead = first_time - request_time
    with capsys.disabled():
        print(f"\n[s3 scale] first page of {BIG:,} objects: {first_time * 1000:.0f} ms end to end"
              f", of which the ListObjectsV2 request to moto {request_time * 1000:.0f} ms and"
              f" the provider {overhead * 1000:.2f} ms; peak memory {peak_big / 1024:.0f} KiB"
              f" (vs {peak_small / 1024:.0f} KiB on a bucket of {SMALL:,})")
    assert overhead < 0.02, "the provider adds more than one page's worth of work"
    assert peak_big < 2 * 1024 * 1024
    assert peak_big < 1.5 * peak_small + 256 * 1024, "memory grows with the bucket"

    # The cursor walks on from there, without repeats or gaps.
    seen = [e.name for e in page.entries]
    for _ in range(2):
        page = storage.list_page("img/", page.next, 500)
        seen += [e.name for e in page.entries]
    assert seen == [SEED_KEY.format(i) for i in range(PAGE + 1000)]
