"""Fixtures for cvatcore-s3's tests: real moto servers (one lenient, one that enforces IAM),
a fresh bucket per test, and a factory for providers pointed at them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from cvatcore_s3 import S3Config, S3Storage
from cvatcore_s3.testing import (
    DUMMY_KEY,
    MotoError,
    MotoServer,
    start_moto,
    unique_bucket_name,
)


def _start(**options: Any) -> MotoServer:
    try:
        return start_moto(**options)
    except MotoError as exc:
        # Never skip: a missing moto must not turn the S3 suite silently green.
        pytest.fail(f"cannot run the S3 tests: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def moto() -> Iterator[MotoServer]:
    """moto without IAM checks: any key works, ACLs still apply to unsigned requests."""
    server = _start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def strict_moto() -> Iterator[MotoServer]:
    """moto that checks every signature and key against its IAM (see ``MotoServer.iam``)."""
    server = _start(strict=True)
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _no_instance_metadata(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep botocore's credential chain off the network: no EC2 metadata look-ups, and no
    credentials from the machine's environment or ~/.aws leaking into a test."""
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                 "AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")


@pytest.fixture
def make_storage() -> Callable[..., S3Storage]:
    """``make_storage(server, bucket, **options)``: a provider over ``bucket`` on ``server``
    with the server's working key pair unless other credentials are given."""

    def make(server: MotoServer, bucket: str, **options: Any) -> S3Storage:
        if "credentials_type" not in options:
            key, secret = (server.iam["key"], server.iam["secret"]) if server.iam else DUMMY_KEY
            options.update(credentials_type="KEY_SECRET_KEY_PAIR", key=key, secret_key=secret)
        options.setdefault("max_attempts", 1)
        return S3Storage(S3Config(bucket=bucket, endpoint_url=server.endpoint_url, **options))

    return make


@pytest.fixture
def bucket(moto: MotoServer) -> str:
    """A new, empty bucket on the lenient server."""
    name = unique_bucket_name()
    moto.client().create_bucket(Bucket=name)
    return name
