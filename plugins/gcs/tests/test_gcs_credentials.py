"""Every way to authenticate against the emulator: a service-account key (file or JSON,
exchanged for a token at a real local token endpoint), anonymous access, and Application
Default Credentials. fake-gcs-server itself checks no tokens, so refusals come from the
token endpoint, as a revoked or forged key's would from Google's."""

from __future__ import annotations

import json

import pytest
from cvatcore_gcs.testing import make_service_account_key

from cvatcore.hooks import StorageStatus, StorageUnavailableError
from cvatcore.hooks.testing.contracts import assert_no_secret


def private_lines(key: dict) -> list[str]:
    return [line for line in key["private_key"].splitlines() if "-----" not in line]


def test_key_file_path(fake_gcs, bucket, make_storage, service_key, tokens, tmp_path):
    path = tmp_path / "key.json"
    path.write_text(json.dumps(service_key))
    storage = make_storage(bucket, credentials_type="KEY_FILE_PATH", key_file=path)
    before = tokens.issued.count(service_key["client_email"])
    storage.write("a.txt", b"signed in")
    assert storage.read("a.txt") == b"signed in"
    assert storage.status() == StorageStatus.AVAILABLE
    assert tokens.issued.count(service_key["client_email"]) == before + 1  # one token, reused


def test_unreadable_key_file_is_forbidden(bucket, make_storage, tmp_path):
    storage = make_storage(bucket, credentials_type="KEY_FILE_PATH",
                           key_file=tmp_path / "absent.json")
    assert storage.status() == StorageStatus.FORBIDDEN
    with pytest.raises(PermissionError, match="the key file cannot be read"):
        storage.read("a.txt")


def test_key_file_that_is_no_key_is_forbidden(bucket, make_storage, tmp_path):
    path = tmp_path / "key.json"
    path.write_text('{"type": "authorized_user", "client_id": "x"}')
    storage = make_storage(bucket, credentials_type="KEY_FILE_PATH", key_file=path)
    assert storage.status() == StorageStatus.FORBIDDEN
    with pytest.raises(PermissionError, match="not a valid service-account key"):
        storage.read("a.txt")


def test_untrusted_key_is_refused_without_showing_it(bucket, make_storage, tokens):
    key = make_service_account_key(tokens.url, email="stranger@test-project.iam")
    storage = make_storage(bucket, credentials_type="KEY_FILE_PATH", key_json=json.dumps(key))
    with pytest.raises(PermissionError, match="refused") as caught:
        storage.list_page("", None, 10)
    assert_no_secret(caught.value, private_lines(key))
    assert "stranger@test-project.iam" not in tokens.issued
    assert "BEGIN PRIVATE KEY" not in repr(storage.config)


def test_token_endpoint_down_is_unavailable(bucket, make_storage):
    key = make_service_account_key("http://127.0.0.1:9/token")  # nothing listens
    storage = make_storage(bucket, credentials_type="KEY_FILE_PATH", key_json=json.dumps(key))
    with pytest.raises(StorageUnavailableError, match="token endpoint"):
        storage.read("a.txt")


def test_anonymous_access(fake_gcs, bucket, make_storage):
    fake_gcs.put(bucket, "public/1.jpg", b"jpeg")
    storage = make_storage(bucket, credentials_type="ANONYMOUS_ACCESS")
    assert storage.status() == StorageStatus.AVAILABLE
    assert storage.read("public/1.jpg", 1, 3) == b"pe"


def test_application_default_credentials(bucket, make_storage, service_key, tokens, tmp_path,
                                         monkeypatch):
    path = tmp_path / "adc.json"
    path.write_text(json.dumps(service_key))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(path))
    storage = make_storage(bucket, credentials_type="DEFAULT_CREDENTIALS")
    storage.write("adc.txt", b"keyless")
    assert storage.read("adc.txt") == b"keyless"
    assert service_key["client_email"] in tokens.issued


def test_no_default_credentials_is_forbidden(bucket, make_storage):
    # conftest removed GOOGLE_APPLICATION_CREDENTIALS, gcloud's file and metadata look-ups.
    storage = make_storage(bucket, credentials_type="DEFAULT_CREDENTIALS")
    assert storage.status() == StorageStatus.FORBIDDEN
    with pytest.raises(PermissionError, match="no application default credentials"):
        storage.read("a.txt")
