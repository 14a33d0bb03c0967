"""``/api/cloudstorages`` with ``AWS_S3_BUCKET`` against a moto that checks every signature:
the plug-in's cloud-storage type turns CVAT's fields into a working provider."""

from __future__ import annotations

import cvatcore_s3
import pytest
from cvatcore_s3.testing import unique_bucket_name

from cvatcore.core.services.caller import Caller
from cvatcore.hooks.testing.harness import ApiClient, build_test_app, test_settings


@pytest.fixture
def ann(tmp_path, cvatcore_database_url):
    app = build_test_app(test_settings(tmp_path, cvatcore_database_url),
                         plugins=[(cvatcore_s3, "s3")])
    from cvatcore.core.services.accounts import create_user

    with app.state.cvatcore.db.unit_of_work() as session:
        caller = Caller.system(app.state.cvatcore, session)
        create_user(caller, "ann", "ann-pass", email="ann@example.com")
    with ApiClient(app) as client:
        client.login("ann", "ann-pass")
        yield client
    app.state.cvatcore.db.dispose()


@pytest.fixture
def filled_bucket(strict_moto):
    name = unique_bucket_name()
    client = strict_moto.client(strict_moto.iam["key"], strict_moto.iam["secret"])
    client.create_bucket(Bucket=name)
    for key in ("frames/a.jpg", "frames/b.png", "frames/sub/c.jpg", "manifest.jsonl"):
        client.put_object(Bucket=name, Key=key, Body=b"x")
    return name


def body(strict_moto, bucket, **extra):
    data = {"provider_type": "AWS_S3_BUCKET", "resource": bucket, "display_name": "frames",
            "credentials_type": "KEY_SECRET_KEY_PAIR", "key": strict_moto.iam["key"],
            "secret_key": strict_moto.iam["secret"],
            "specific_attributes": f"endpoint_url={strict_moto.endpoint_url}&prefix=frames/"}
    data.update(extra)
    return data


def test_create_status_and_content(ann, strict_moto, filled_bucket):
    created = ann.post("/api/cloudstorages", json=body(strict_moto, filled_bucket,
                                                       manifests=["manifest.jsonl"]))
    assert created.status_code == 201, created.text
    assert strict_moto.iam["secret"] not in created.text
    storage_id = created.json()["id"]
    assert ann.get(f"/api/cloudstorages/{storage_id}/status").json() == "AVAILABLE"
    content = ann.get(f"/api/cloudstorages/{storage_id}/content-v2",
                      params={"prefix": "frames/", "page_size": 2})
    assert content.status_code == 200, content.text
    seen = content.json()["content"]
    nxt = content.json()["next"]
    while nxt:
        more = ann.get(f"/api/cloudstorages/{storage_id}/content-v2",
                       params={"prefix": "frames/", "page_size": 2, "next_token": nxt}).json()
        seen += more["content"]
        nxt = more["next"]
    assert sorted((e["name"], e["type"]) for e in seen) == [
        ("a.jpg", "REG"), ("b.png", "REG"), ("sub", "DIR")]


def test_wrong_secret_and_missing_bucket_are_400(ann, strict_moto, filled_bucket):
    wrong = ann.post("/api/cloudstorages", json=body(strict_moto, filled_bucket,
                                                     secret_key="wrong-secret-never-shown"))
    assert wrong.status_code == 400 and "credentials" in wrong.text
    assert "wrong-secret-never-shown" not in wrong.text
    missing = ann.post("/api/cloudstorages", json=body(strict_moto, unique_bucket_name()))
    assert missing.status_code == 400 and "resource" in missing.text
    half = ann.post("/api/cloudstorages", json=body(strict_moto, filled_bucket, key=""))
    assert half.status_code == 400
    assert ann.get("/api/cloudstorages").json()["count"] == 0
