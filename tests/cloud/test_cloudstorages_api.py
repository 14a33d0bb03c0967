"""``/api/cloudstorages`` against Azurite: CVAT's behaviour, credentials encrypted at rest and
never shown."""

from __future__ import annotations

import io
import json
import logging

import pytest
from PIL import Image
from sqlalchemy import text

from cvatcore.core.services.caller import Caller
from cvatcore.hooks.testing.harness import ApiClient, build_test_app, test_settings


@pytest.fixture
def app(tmp_path, cvatcore_database_url):
    import cvatcore_azure

    settings = test_settings(tmp_path, cvatcore_database_url)
    app = build_test_app(settings, plugins=[(cvatcore_azure, "azure")])
    from cvatcore.core.services.accounts import create_user

    with app.state.cvatcore.db.unit_of_work() as session:
        caller = Caller.system(app.state.cvatcore, session)
        create_user(caller, "ann", "ann-pass", email="ann@example.com")
        create_user(caller, "bob", "bob-pass", email="bob@example.com")
    yield app
    app.state.cvatcore.db.dispose()


@pytest.fixture
def ann(app):
    with ApiClient(app) as client:
        client.login("ann", "ann-pass")
        yield client


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 10, 10)).save(out, "JPEG")
    return out.getvalue()


def _body(azurite, container, **extra):
    body = {
        "provider_type": "AZURE_CONTAINER", "resource": container, "display_name": "bucket",
        "credentials_type": "ACCOUNT_NAME_TOKEN_PAIR", "account_name": "devstoreaccount1",
        "session_token": azurite.container_sas(container),
        "specific_attributes": f"account_url={azurite.account_url}",
    }
    body.update(extra)
    return body


def _put(azurite, container, name, data=b"x"):
    azurite.service().get_blob_client(container, name).upload_blob(data, overwrite=True)


def test_create_list_and_read_never_show_credentials(app, ann, azurite, container, caplog):
    caplog.set_level(logging.DEBUG)
    body = _body(azurite, container, description="raw frames")
    sas = body["session_token"]
    created = ann.post("/api/cloudstorages", json=body)
    assert created.status_code == 201, created.text
    storage = created.json()
    assert storage["owner"]["username"] == "ann" and storage["manifests"] == []
    for response in (created, ann.get("/api/cloudstorages"),
                     ann.get(f"/api/cloudstorages/{storage['id']}")):
        assert sas not in response.text and "session_token" not in response.text
    assert ann.get(f"/api/cloudstorages/{storage['id']}/status").json() == "AVAILABLE"
    with app.state.cvatcore.db.engine.connect() as conn:
        stored = conn.execute(text("SELECT credentials FROM cloud_storages")).scalar_one()
    assert stored and sas not in stored and "sig=" not in stored  # encrypted at rest
    assert sas not in caplog.text


def test_wrong_credentials_and_missing_bucket_are_400_and_save_nothing(ann, azurite, container):
    other = f"{container}x"
    azurite.create_container(other)
    wrong = _body(azurite, container, session_token=azurite.container_sas(other))
    response = ann.post("/api/cloudstorages", json=wrong)
    assert response.status_code == 400 and "credentials" in response.json()
    assert wrong["session_token"] not in response.text
    missing = _body(azurite, container, resource="no-such-container")
    missing["session_token"] = azurite.container_sas("no-such-container")
    response = ann.post("/api/cloudstorages", json=missing)
    assert response.status_code == 400 and "resource" in response.json()
    bad_name = ann.post("/api/cloudstorages", json=_body(azurite, "Bad_Name!"))
    assert bad_name.status_code == 400 and "resource" in bad_name.json()
    assert ann.get("/api/cloudstorages").json()["count"] == 0


def test_manifests_must_exist(ann, azurite, container):
    response = ann.post("/api/cloudstorages", json=_body(azurite, container,
                                                         manifests=["manifest.jsonl"]))
    assert response.status_code == 400
    assert "manifest.jsonl" in response.json()["manifests"][0]
    _put(azurite, container, "manifest.jsonl", b'{"version":"1.1"}\n{"type":"images"}\n')
    response = ann.post("/api/cloudstorages", json=_body(azurite, container,
                                                         manifests=["manifest.jsonl"]))
    assert response.status_code == 201 and response.json()["manifests"] == ["manifest.jsonl"]


def test_content_v2_pages_through_a_prefix(ann, azurite, container):
    for i in range(5):
        _put(azurite, container, f"data/img_{i}.jpg")
    _put(azurite, container, "data/sub/inner.png")
    _put(azurite, container, "other.txt")
    sid = ann.post("/api/cloudstorages", json=_body(azurite, container)).json()["id"]
    seen, token = [], None
    while True:
        params = {"prefix": "data/", "page_size": 2, **({"next_token": token} if token else {})}
        page = ann.get(f"/api/cloudstorages/{sid}/content-v2", params=params).json()
        assert len(page["content"]) <= 2
        seen += page["content"]
        token = page["next"]
        if token is None:
            break
    names = sorted((e["name"], e["type"], e["mime_type"]) for e in seen)
    assert names == [(f"img_{i}.jpg", "REG", "image") for i in range(5)] + [
        ("sub", "DIR", "DIR")]
    bad = ann.get(f"/api/cloudstorages/{sid}/content-v2", params={"page_size": "many"})
    assert bad.status_code == 400


def test_preview_is_a_thumbnail_of_the_first_image(ann, azurite, container):
    _put(azurite, container, "a.jpg", _jpeg())
    sid = ann.post("/api/cloudstorages", json=_body(azurite, container)).json()["id"]
    preview = ann.get(f"/api/cloudstorages/{sid}/preview")
    assert preview.status_code == 200 and preview.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(preview.content)).size == (40, 30)


def test_patch_keeps_stored_credentials_and_others_cannot_see_it(app, ann, azurite, container):
    sid = ann.post("/api/cloudstorages", json=_body(azurite, container)).json()["id"]
    patched = ann.patch(f"/api/cloudstorages/{sid}", json={"display_name": "renamed"})
    assert patched.status_code == 200 and patched.json()["display_name"] == "renamed"
    assert ann.get(f"/api/cloudstorages/{sid}/status").json() == "AVAILABLE"
    with ApiClient(app) as bob:
        bob.login("bob", "bob-pass")
        assert bob.get(f"/api/cloudstorages/{sid}").status_code == 403
        assert bob.get("/api/cloudstorages").json()["count"] == 0
        assert bob.delete(f"/api/cloudstorages/{sid}").status_code == 403
    assert ann.delete(f"/api/cloudstorages/{sid}").status_code == 204
    assert ann.get(f"/api/cloudstorages/{sid}").status_code == 404


def test_keyless_credentials_need_the_operator(ann, azurite, container):
    body = _body(azurite, container, use_default_credentials=True)
    response = ann.post("/api/cloudstorages", json=body)
    assert response.status_code == 400 and "use_default_credentials" in response.json()


def test_key_rotation_reencrypts_and_old_key_can_then_go(tmp_path, cvatcore_database_url,
                                                          azurite, container):
    import cvatcore_azure

    from cvatcore.core.secrets import Secrets, new_key, rotate_all

    old, new = new_key(), new_key()

    def make_app(keys):
        settings = test_settings(tmp_path, cvatcore_database_url, secrets={"keys": keys})
        return build_test_app(settings, plugins=[(cvatcore_azure, "azure")])

    app = make_app([old])
    from cvatcore.core.services.accounts import create_user

    with app.state.cvatcore.db.unit_of_work() as session:
        caller = Caller.system(app.state.cvatcore, session)
        create_user(caller, "ann", "ann-pass", email="ann@example.com")
    with ApiClient(app) as client:
        client.login("ann", "ann-pass")
        sid = client.post("/api/cloudstorages", json=_body(azurite, container)).json()["id"]
    app.state.cvatcore.db.dispose()

    rotating = make_app([new, old])
    assert rotate_all(rotating.state.cvatcore.db, Secrets([new.encode(), old.encode()])) == 1
    rotating.state.cvatcore.db.dispose()

    app = make_app([new])  # the old key is gone; the credentials still work
    with ApiClient(app) as client:
        client.login("ann", "ann-pass")
        assert client.get(f"/api/cloudstorages/{sid}/status").json() == "AVAILABLE"
    app.state.cvatcore.db.dispose()


def test_log_scrubber_masks_credential_shapes_and_known_values(caplog):
    from cvatcore.core.secrets import install_log_scrubber, remember

    install_log_scrubber()
    remember({"key": "AKIAEXAMPLEKEY123"})
    log = logging.getLogger("some.sdk")
    with caplog.at_level(logging.DEBUG):
        log.debug("GET %s key=%s", "https://a.blob/c?sv=1&sig=abcDEF%2B123", "AKIAEXAMPLEKEY123")
        log.debug("headers {'Authorization': 'Bearer eyJhbGciOi.secret'}")
    assert "abcDEF" not in caplog.text and "AKIAEXAMPLEKEY123" not in caplog.text
    assert "eyJhbGciOi" not in caplog.text and "sig=********" in caplog.text


def test_hook_register_cloud_storage_types_twice_stops_startup(register_plugin, tmp_path):
    import types

    from cvatcore.core.plugins import PluginError
    from cvatcore.hooks import hookimpl

    def twice(name):
        return types.SimpleNamespace(register_cloud_storage_types=hookimpl(
            lambda register: register("AWS_S3_BUCKET", lambda spec: {}, provider=name)))

    with register_plugin(twice("first"), "first") as app:
        assert app.state.cvatcore.cloud_types["AWS_S3_BUCKET"].provider == "first"
    from cvatcore.hooks.testing.harness import build_test_app as build

    with pytest.raises(PluginError, match="AWS_S3_BUCKET.*registered by two plugins"):
        build(test_settings(tmp_path / "other"), plugins=[(twice("a"), "a"), (twice("b"), "b")])


def test_internal_endpoints_need_the_operators_allowlist(tmp_path, azurite, container):
    import cvatcore_azure

    settings = test_settings(tmp_path, outbound={"allow": []})
    app = build_test_app(settings, plugins=[(cvatcore_azure, "azure")])
    from cvatcore.core.services.accounts import create_user

    with app.state.cvatcore.db.unit_of_work() as session:
        caller = Caller.system(app.state.cvatcore, session)
        create_user(caller, "ann", "ann-pass", email="ann@example.com")
    with ApiClient(app) as client:
        client.login("ann", "ann-pass")
        refused = client.post("/api/cloudstorages", json=_body(azurite, container))
        assert refused.status_code == 400
        message = refused.json()["specific_attributes"][0]
        assert "internal address" in message and "[outbound] allow" in message
        metadata = _body(azurite, container,
                         specific_attributes="account_url=http://169.254.169.254/x")
        assert client.post("/api/cloudstorages", json=metadata).status_code == 400
    app.state.cvatcore.db.dispose()


def test_content_with_a_default_prefix_lists_below_it_once(ann, azurite, container):
    _put(azurite, container, "sub/a.jpg")
    _put(azurite, container, "sub/deeper/b.jpg")
    _put(azurite, container, "elsewhere/c.jpg")
    body = _body(azurite, container)
    body["specific_attributes"] += "&prefix=sub/"
    sid = ann.post("/api/cloudstorages", json=body).json()["id"]
    page = ann.get(f"/api/cloudstorages/{sid}/content-v2").json()
    assert sorted((e["name"], e["type"]) for e in page["content"]) == [
        ("a.jpg", "REG"), ("deeper", "DIR")]
    deeper = ann.get(f"/api/cloudstorages/{sid}/content-v2", params={"prefix": "sub/deeper/"})
    assert [e["name"] for e in deeper.json()["content"]] == ["b.jpg"]
    outside = ann.get(f"/api/cloudstorages/{sid}/content-v2", params={"prefix": "elsewhere/"})
    assert outside.json()["content"] == []


def _manifest(names: list[str]) -> bytes:
    lines = [b'{"version":"1.1"}', b'{"type":"images"}']
    for name in names:
        stem, ext = name.rsplit(".", 1)
        lines.append(json.dumps({"name": stem, "extension": f".{ext}", "width": 4,
                                 "height": 3, "meta": {}}, separators=(",", ":")).encode())
    return b"\n".join(lines) + b"\n"


def test_content_from_a_manifest_lists_its_tree(ann, azurite, container):
    names = ["img_10.jpg", "img_2.jpg", "b/x.jpg", "a/y.jpg", "a/deep/z.jpg"]
    _put(azurite, container, "set/manifest.jsonl", _manifest(names))
    _put(azurite, container, "set/broken.jsonl", b'{"version":"1.1"}\nnot json\n')
    sid = ann.post("/api/cloudstorages", json=_body(
        azurite, container, manifests=["set/manifest.jsonl"])).json()["id"]
    url = f"/api/cloudstorages/{sid}/content-v2"
    seen, token = [], None
    while True:
        params = {"manifest_path": "set/manifest.jsonl", "prefix": "set/", "page_size": 2,
                  **({"next_token": token} if token else {})}
        page = ann.get(url, params=params).json()
        seen += [(e["name"], e["type"]) for e in page["content"]]
        token = page["next"]
        if token is None:
            break
    assert seen == [("a", "DIR"), ("b", "DIR"), ("img_2.jpg", "REG"), ("img_10.jpg", "REG")]
    deeper = ann.get(url, params={"manifest_path": "set/manifest.jsonl", "prefix": "set/a/"})
    assert [(e["name"], e["type"]) for e in deeper.json()["content"]] == [
        ("deep", "DIR"), ("y.jpg", "REG")]
    broken = ann.get(url, params={"manifest_path": "set/broken.jsonl"})
    assert broken.status_code == 400 and "manifest_path" in broken.json()
    missing = ann.get(url, params={"manifest_path": "set/none.jsonl"})
    assert missing.status_code == 404
    assert ann.get(url, params={"manifest_path": "set/manifest.jsonl",
                                "next_token": "x"}).status_code == 400
