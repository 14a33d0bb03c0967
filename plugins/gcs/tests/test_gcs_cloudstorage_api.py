"""``/api/cloudstorages`` with ``GOOGLE_CLOUD_STORAGE`` against fake-gcs-server, with a
service-account key uploaded as CVAT's ``key_file``."""

from __future__ import annotations

import json

import cvatcore_gcs
import pytest
from cvatcore_gcs.testing import make_service_account_key

from cvatcore.hooks.testing.harness import build_test_app, signed_in, test_settings


@pytest.fixture
def ann(tmp_path, cvatcore_database_url):
    app = build_test_app(test_settings(tmp_path, cvatcore_database_url),
                         plugins=[(cvatcore_gcs, "gcs")])
    with signed_in(app, email="ann@example.com") as client:
        yield client


def body(fake_gcs, bucket, key):
    # The key file's text as a JSON field (CVAT's multipart upload is the API's concern).
    return {"provider_type": "GOOGLE_CLOUD_STORAGE", "resource": bucket, "display_name": "g",
            "credentials_type": "KEY_FILE_PATH", "key_file": json.dumps(key),
            "specific_attributes": f"endpoint_url={fake_gcs.url}"}


def test_key_file_upload_status_and_content(ann, fake_gcs, bucket, service_key, tokens):
    fake_gcs.put(bucket, "img/1.jpg", b"x")
    fake_gcs.put(bucket, "img/deep/2.jpg", b"x")
    created = ann.post("/api/cloudstorages", json=body(fake_gcs, bucket, service_key))
    assert created.status_code == 201, created.text
    assert "PRIVATE KEY" not in created.text
    storage_id = created.json()["id"]
    assert ann.get(f"/api/cloudstorages/{storage_id}/status").json() == "AVAILABLE"
    content = ann.get(f"/api/cloudstorages/{storage_id}/content-v2",
                      params={"prefix": "img/"}).json()
    assert sorted((e["name"], e["type"]) for e in content["content"]) == [
        ("1.jpg", "REG"), ("deep", "DIR")]


def test_untrusted_key_is_400(ann, fake_gcs, bucket, tokens):
    key = make_service_account_key(tokens.url, email="nobody@test-project.iam")
    refused = ann.post("/api/cloudstorages", json=body(fake_gcs, bucket, key))
    assert refused.status_code == 400 and "credentials" in refused.text
    assert key["private_key"].splitlines()[1] not in refused.text
