"""Fixtures for cvatcore-gcs's tests: one fake-gcs-server for the session, a fresh bucket per
test, an OAuth token endpoint and service-account keys that it trusts."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from cvatcore_gcs import GcsConfig, GcsStorage
from cvatcore_gcs.testing import (
    FakeGcs,
    FakeGcsError,
    TokenEndpoint,
    make_service_account_key,
    start_fake_gcs,
    token_endpoint,
    unique_bucket_name,
)


@pytest.fixture(scope="session")
def fake_gcs() -> Iterator[FakeGcs]:
    try:
        server = start_fake_gcs()
    except FakeGcsError as exc:
        # Never skip: a missing emulator must not turn the GCS suite silently green.
        pytest.fail(f"cannot run the GCS tests: {exc}", pytrace=False)
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _no_ambient_google_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """No credentials from the machine, and no metadata-server look-ups off this machine."""
    for name in ("GOOGLE_APPLICATION_CREDENTIALS", "STORAGE_EMULATOR_HOST",
                 "GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT"):
        monkeypatch.delenv(name, raising=False)
    # google-auth reads these switches when it is imported, so set the module's copies too:
    # never ask a metadata server (169.254.169.254 is not this machine).
    from google.auth.compute_engine import _metadata

    monkeypatch.setenv("NO_GCE_CHECK", "true")
    monkeypatch.setattr(_metadata, "_NO_GCE_CHECK", True)
    monkeypatch.setattr(_metadata, "_GCE_METADATA_HOST", "127.0.0.1:9")  # nothing listens
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))  # no gcloud ADC file


@pytest.fixture(scope="session")
def tokens() -> Iterator[TokenEndpoint]:
    with token_endpoint() as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def service_key(tokens: TokenEndpoint) -> dict:
    """A service-account key the token endpoint trusts."""
    key = make_service_account_key(tokens.url)
    tokens.trust(key)
    return key


@pytest.fixture
def bucket(fake_gcs: FakeGcs) -> str:
    name = unique_bucket_name()
    fake_gcs.create_bucket(name)
    return name


@pytest.fixture
def make_storage(fake_gcs: FakeGcs, service_key: dict) -> Callable[..., GcsStorage]:
    """``make_storage(bucket, **options)``: a provider on the emulator, authenticated with a
    trusted service-account key (given as JSON) unless other credentials are given."""

    def make(bucket: str, **options: Any) -> GcsStorage:
        if "credentials_type" not in options:
            options.update(credentials_type="KEY_FILE_PATH", key_json=json.dumps(service_key))
        options.setdefault("endpoint_url", fake_gcs.url)
        options.setdefault("max_attempts", 1)
        return GcsStorage(GcsConfig(bucket=bucket, **options))

    return make
