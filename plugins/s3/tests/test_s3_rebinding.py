"""DNS rebinding: a user's ``endpoint_url`` whose host answers a public address when the core
checks it and ``127.0.0.1`` when the S3 client connects. The client must connect only to
addresses the outbound guard passed (issue 16, item 6).

The hostile DNS server is the testing kit's stand-in (``cvatcore.hooks.testing.dns``).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import cvatcore_s3
import pytest
from cvatcore_s3 import S3Config, S3Storage
from cvatcore_s3.testing import DUMMY_KEY, unique_bucket_name

from cvatcore.hooks import StorageUnavailableError
from cvatcore.hooks.outbound import checked_addresses
from cvatcore.hooks.testing import dns
from cvatcore.hooks.testing.dns import DOMAIN, PUBLIC
from cvatcore.hooks.testing.harness import build_test_app, signed_in, test_settings


@pytest.fixture
def rebinding_dns(monkeypatch):
    """Names under ``rebind.test``: ``PUBLIC`` the first time, then ``127.0.0.1``."""
    return dns.rebinding_dns(monkeypatch)


def rebound_endpoint(moto) -> str:
    # "localhost…": moto reads buckets from the path for such hosts (not from a subdomain).
    return f"http://localhost.{DOMAIN}:{urlsplit(moto.endpoint_url).port}"


def storage(moto, bucket: str, allow: list[str] | None) -> S3Storage:
    return S3Storage(S3Config(
        bucket=bucket, endpoint_url=rebound_endpoint(moto), addressing_style="path",
        credentials_type="KEY_SECRET_KEY_PAIR", key=DUMMY_KEY[0], secret_key=DUMMY_KEY[1],
        max_attempts=1, outbound_allow=allow))


def test_a_user_bucket_is_not_reached_through_a_second_dns_answer(moto, bucket,
                                                                 rebinding_dns):
    moto.client().put_object(Bucket=bucket, Key="secret.txt", Body=b"internal data")
    assert checked_addresses(f"localhost.{DOMAIN}", 80, []) == [PUBLIC]  # what the core saw
    user_bucket = storage(moto, bucket, allow=[])
    with pytest.raises(StorageUnavailableError, match="outbound guard") as caught:
        user_bucket.read("secret.txt")
    assert "127.0.0.1" in str(caught.value) and "internal address" in str(caught.value)
    assert len(rebinding_dns) >= 2  # the client did look the name up again


def test_the_stand_in_dns_does_reach_moto_for_trusted_buckets(moto, bucket, rebinding_dns):
    """The same answers for a bucket the operator configured (no guard): it is read, so the
    refusal above is the guard's doing and not a broken stand-in."""
    moto.client().put_object(Bucket=bucket, Key="a.txt", Body=b"operator data")
    checked_addresses(f"localhost.{DOMAIN}", 80, [])
    assert storage(moto, bucket, allow=None).read("a.txt") == b"operator data"


def test_allowed_internal_targets_still_work_through_the_guard(moto, bucket, rebinding_dns):
    moto.client().put_object(Bucket=bucket, Key="a.txt", Body=b"allowed")
    checked_addresses(f"localhost.{DOMAIN}", 80, [])
    assert storage(moto, bucket, allow=["127.0.0.0/8"]).read("a.txt") == b"allowed"


@pytest.fixture
def ann(tmp_path, cvatcore_database_url):
    # No internal targets allowed: the emulators' loopback is off limits, as for a real user.
    app = build_test_app(test_settings(tmp_path, cvatcore_database_url, outbound={"allow": []}),
                         plugins=[(cvatcore_s3, "s3")])
    with signed_in(app) as client:
        yield client


def test_creating_a_cloud_storage_on_a_rebinding_host_is_refused(ann, moto, rebinding_dns):
    bucket = unique_bucket_name()
    moto.client().create_bucket(Bucket=bucket)
    created = ann.post("/api/cloudstorages", json={
        "provider_type": "AWS_S3_BUCKET", "resource": bucket, "display_name": "rebinding",
        "credentials_type": "KEY_SECRET_KEY_PAIR", "key": DUMMY_KEY[0],
        "secret_key": DUMMY_KEY[1],
        "specific_attributes": f"endpoint_url={rebound_endpoint(moto)}"})
    # The bucket exists on moto: a client that followed the second answer would have found
    # it (201). CVAT's words for a storage that cannot be checked; the log has the reason.
    assert created.status_code == 400, created.text
    assert "was not found" in created.json()["resource"][0]
    assert len(rebinding_dns) >= 2
    assert ann.get("/api/cloudstorages").json()["count"] == 0
