"""Networks fail: refused, dropped and hung connections and throttling become
``StorageUnavailableError`` with a message that says what happened (and no secret), and
``status()`` answers ``NOT_FOUND`` as CVAT does, without raising."""

from __future__ import annotations

import time

import pytest
from cvatcore_s3 import S3Config, S3Storage
from cvatcore_s3.testing import faulty_endpoint

from cvatcore.hooks import StorageStatus, StorageUnavailableError
from cvatcore.hooks.testing.contracts import assert_no_secret

SECRET = "do-not-show-this-secret-key"


def storage_at(url: str, **options: object) -> S3Storage:
    return S3Storage(S3Config(bucket="cvat-data", endpoint_url=url,
                              credentials_type="KEY_SECRET_KEY_PAIR", key="AKIAEXAMPLE",
                              secret_key=SECRET, **options))


@pytest.mark.parametrize(("mode", "said", "attempts"), [
    ("refuse", "could not connect", 1),
    ("drop", "connection was dropped", 1),
    ("throttle", "throttled|unavailable", 2),
])
def test_unreachable_or_throttling_server(mode, said, attempts):
    with faulty_endpoint(mode) as endpoint:
        storage = storage_at(endpoint.url, max_attempts=attempts)
        started = time.monotonic()
        for call in (lambda: storage.read("a.jpg"), lambda: storage.list_page("", None, 10)):
            with pytest.raises(StorageUnavailableError, match=said) as caught:
                call()
            assert endpoint.url in str(caught.value) or mode == "throttle"
            assert "Traceback" not in str(caught.value) and caught.value.__cause__ is None
            assert_no_secret(caught.value, [SECRET])
        assert storage.status() == StorageStatus.NOT_FOUND
    assert time.monotonic() - started < 20
    if mode == "throttle":
        assert endpoint.hits >= 2 * attempts  # botocore retried each call


def test_hung_server_times_out():
    with faulty_endpoint("hang") as endpoint:
        storage = storage_at(endpoint.url, read_timeout=0.5, max_attempts=1)
        started = time.monotonic()
        with pytest.raises(StorageUnavailableError, match="timed out"):
            storage.read("a.jpg", 0, 100)
        assert time.monotonic() - started < 10


def test_secrets_stay_out_of_reprs():
    storage = storage_at("http://127.0.0.1:9", session_token="token-that-is-secret-too")
    assert SECRET not in repr(storage) and SECRET not in repr(storage.config)
    assert "token-that-is-secret-too" not in repr(storage.config)
    assert SECRET not in str(storage.config.model_dump())
