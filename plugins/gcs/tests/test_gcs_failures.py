"""Refused and dropped connections and throttling become ``StorageUnavailableError`` with a
clear message and no secret; ``status()`` answers ``NOT_FOUND`` without raising."""

from __future__ import annotations

import json
import time

import pytest
from cvatcore_gcs.testing import faulty_endpoint

from cvatcore.hooks import StorageStatus, StorageUnavailableError
from cvatcore.hooks.testing.contracts import assert_no_secret


@pytest.mark.parametrize(("mode", "said", "attempts"), [
    ("refuse", "could not connect", 1),
    ("drop", "dropped|connection failed", 1),
    ("throttle", r"busy or failing \(429\)", 2),
])
def test_unreachable_or_throttling_server(make_storage, service_key, mode, said, attempts):
    with faulty_endpoint(mode) as endpoint:
        storage = make_storage("cvat-data", endpoint_url=endpoint.url, max_attempts=attempts)
        started = time.monotonic()
        for call in (lambda: storage.read("a.jpg"), lambda: storage.list_page("", None, 10)):
            with pytest.raises(StorageUnavailableError, match=said) as caught:
                call()
            assert_no_secret(caught.value, [json.dumps(service_key)])
            assert caught.value.__cause__ is None
        assert storage.status() == StorageStatus.NOT_FOUND
        assert time.monotonic() - started < 20
    if mode == "throttle":
        assert endpoint.hits >= 2 * attempts  # each call was retried


def test_foreign_cursor_is_a_value_error(bucket, make_storage):
    storage = make_storage(bucket)
    with pytest.raises(ValueError, match="cursor"):
        storage.list_page("", "not-a-cursor-of-ours", 10)
