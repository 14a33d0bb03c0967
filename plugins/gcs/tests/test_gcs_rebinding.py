"""DNS rebinding and internal token endpoints for a user's bucket: with ``outbound_allow`` set,
as the core sets it for cloud storages users create, neither gcsfs (the endpoint) nor
google-auth (the key's ``token_uri``) connects to an address the outbound guard refuses
(issue 16, item 6). Without it (operator-configured buckets) the same set-up works, so the
refusals are the guard's doing."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest
from cvatcore_gcs import GcsConfig, GcsStorage
from cvatcore_gcs.testing import make_service_account_key

from cvatcore.hooks import StorageUnavailableError
from cvatcore.hooks.outbound import checked_addresses
from cvatcore.hooks.testing import dns


def storage(fake_gcs, bucket, allow, **options):
    host = f"localhost.{dns.DOMAIN}"
    assert checked_addresses(host, 80, []) == [dns.PUBLIC]  # what the core saw
    options.setdefault("credentials_type", "ANONYMOUS_ACCESS")
    return GcsStorage(GcsConfig(
        bucket=bucket, endpoint_url=f"http://{host}:{urlsplit(fake_gcs.url).port}",
        max_attempts=1, outbound_allow=allow, **options))


@pytest.fixture
def filled(fake_gcs, bucket):
    fake_gcs.put(bucket, "a.txt", b"internal data")
    return bucket


def test_the_endpoint_is_not_reached_through_a_second_answer(fake_gcs, filled, monkeypatch):
    dns.rebinding_dns(monkeypatch)
    with pytest.raises(StorageUnavailableError, match="outbound guard") as caught:
        storage(fake_gcs, filled, allow=[]).read("a.txt")
    assert "127.0.0.1, an internal address" in str(caught.value)


def test_without_the_guard_the_same_answers_reach_the_emulator(fake_gcs, filled, monkeypatch):
    dns.rebinding_dns(monkeypatch)
    assert storage(fake_gcs, filled, allow=None).read("a.txt") == b"internal data"


def test_an_internal_token_uri_in_a_users_key_is_refused(fake_gcs, filled, tokens):
    """The endpoint is allowed (127.0.0.1); the key sends its token request to 127.0.0.2,
    which is not: only the token request meets the guard, before it connects."""
    inside = tokens.url.replace("127.0.0.1", "127.0.0.2")
    key = make_service_account_key(inside)
    user = GcsStorage(GcsConfig(bucket=filled, endpoint_url=fake_gcs.url, max_attempts=1,
                                credentials_type="KEY_FILE_PATH", key_json=json.dumps(key),
                                outbound_allow=["127.0.0.1"]))
    with pytest.raises(StorageUnavailableError,
                       match="token endpoint: refused by the outbound guard") as caught:
        user.read("a.txt")
    assert "127.0.0.2, an internal address" in str(caught.value)
