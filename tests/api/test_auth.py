"""Sign-in as CVAT's clients do it: session cookie + CSRF, Token, Bearer, Basic."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest


@pytest.fixture
def alice(make_user):
    return make_user("alice")


def test_login_sets_session_and_csrf_cookies(cvatcore_client, alice):
    creds = {"username": "alice", "password": "alice-pass"}
    r = cvatcore_client.post("/api/auth/login", json=creds)
    assert r.status_code == 200
    assert r.json()["key"]
    assert {"sessionid", "csrftoken"} <= set(cvatcore_client.cookies.keys())
    me = cvatcore_client.get("/api/users/self")
    assert me.status_code == 200 and me.json()["username"] == "alice"


def test_unsafe_request_with_session_needs_csrf(cvatcore_client, alice):
    cvatcore_client.post("/api/auth/login", json={"username": "alice", "password": "alice-pass"})
    r = cvatcore_client.post("/api/organizations", json={"slug": "nocsrf"})
    assert r.status_code == 403 and "CSRF" in r.json()["detail"]
    r = cvatcore_client.post(
        "/api/organizations", json={"slug": "badcsrf"}, headers={"X-CSRFToken": "forged"}
    )
    assert r.status_code == 403
    r = cvatcore_client.post(
        "/api/organizations", json={"slug": "withcsrf"},
        headers={"X-CSRFToken": cvatcore_client.cookies["csrftoken"]},
    )
    assert r.status_code == 201


def test_wrong_password_and_unknown_user_look_the_same(cvatcore_client, alice):
    wrong = cvatcore_client.post("/api/auth/login", json={"username": "alice", "password": "nope"})
    unknown = cvatcore_client.post("/api/auth/login", json={"username": "zed", "password": "nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert "sessionid" not in cvatcore_client.cookies


def test_token_key_from_login_authenticates_without_csrf(cvatcore_client, alice):
    key = cvatcore_client.login("alice", "alice-pass")["key"]
    cvatcore_client.cookies.clear()
    headers = {"Authorization": f"Token {key}"}
    assert cvatcore_client.get("/api/users/self", headers=headers).json()["username"] == "alice"
    r = cvatcore_client.post("/api/organizations", json={"slug": "tok"}, headers=headers)
    assert r.status_code == 201


def test_logout_ends_session_and_token(cvatcore_client, alice):
    key = cvatcore_client.login("alice", "alice-pass")["key"]
    assert cvatcore_client.post("/api/auth/logout").status_code == 200
    cvatcore_client.cookies.clear()
    assert cvatcore_client.get("/api/users/self").status_code == 401
    r = cvatcore_client.get("/api/users/self", headers={"Authorization": f"Token {key}"})
    assert r.status_code == 401


def test_invalid_token_is_401(cvatcore_client):
    r = cvatcore_client.get("/api/users/self", headers={"Authorization": "Token bogus"})
    assert r.status_code == 401 and r.json()["detail"]


def test_basic_auth(cvatcore_client, alice):
    good = base64.b64encode(b"alice:alice-pass").decode()
    bad = base64.b64encode(b"alice:wrong").decode()
    r = cvatcore_client.get("/api/users/self", headers={"Authorization": f"Basic {good}"})
    assert r.status_code == 200 and r.json()["username"] == "alice"
    r = cvatcore_client.get("/api/users/self", headers={"Authorization": f"Basic {bad}"})
    assert r.status_code == 401
    r = cvatcore_client.get("/api/users/self", headers={"Authorization": "Basic %%%"})
    assert r.status_code == 401


def _make_token(client, **fields):
    r = client.post("/api/auth/access_tokens", json={"name": "ci", **fields})
    assert r.status_code == 201, r.text
    return r.json()


def test_personal_access_token_as_bearer(cvatcore_client, alice):
    cvatcore_client.login("alice", "alice-pass")
    token = _make_token(cvatcore_client)
    assert token["value"] and token["owner"]["username"] == "alice"
    cvatcore_client.logout()
    bearer = {"Authorization": f"Bearer {token['value']}"}
    assert cvatcore_client.get("/api/users/self", headers=bearer).json()["username"] == "alice"
    own = cvatcore_client.get("/api/auth/access_tokens/self", headers=bearer).json()
    assert own["id"] == token["id"] and "value" not in own and own["last_used_date"]
    listed = cvatcore_client.get("/api/auth/access_tokens", headers=bearer).json()
    assert [t["id"] for t in listed["results"]] == [token["id"]]
    assert all("value" not in t for t in listed["results"])
    r = cvatcore_client.delete(f"/api/auth/access_tokens/{token['id']}", headers=bearer)
    assert r.status_code == 204
    assert cvatcore_client.get("/api/users/self", headers=bearer).status_code == 401


def test_read_only_token_cannot_write(cvatcore_client, alice):
    cvatcore_client.login("alice", "alice-pass")
    token = _make_token(cvatcore_client, read_only=True)
    cvatcore_client.logout()
    bearer = {"Authorization": f"Bearer {token['value']}"}
    assert cvatcore_client.get("/api/users/self", headers=bearer).status_code == 200
    r = cvatcore_client.post("/api/organizations", json={"slug": "ro"}, headers=bearer)
    assert r.status_code == 403


def test_expired_token_is_refused(cvatcore_client, alice):
    cvatcore_client.login("alice", "alice-pass")
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    token = _make_token(cvatcore_client, expiry_date=past)
    cvatcore_client.logout()
    bearer = {"Authorization": f"Bearer {token['value']}"}
    r = cvatcore_client.get("/api/users/self", headers=bearer)
    assert r.status_code == 401


def test_other_users_tokens_are_invisible(cvatcore_client, alice, make_user):
    make_user("bob")
    cvatcore_client.login("alice", "alice-pass")
    token = _make_token(cvatcore_client)
    cvatcore_client.logout()
    cvatcore_client.login("bob", "bob-pass")
    assert cvatcore_client.get(f"/api/auth/access_tokens/{token['id']}").status_code == 404
    assert cvatcore_client.delete(f"/api/auth/access_tokens/{token['id']}").status_code == 404


def test_register_then_sign_in(cvatcore_client):
    body = {"username": "newbie", "email": "n@example.com", "password1": "long-enough-1",
            "password2": "long-enough-1", "first_name": "New"}
    r = cvatcore_client.post("/api/auth/register", json=body)
    assert r.status_code == 201 and r.json()["username"] == "newbie"
    again = cvatcore_client.post("/api/auth/register", json=body)
    assert again.status_code == 400 and "username" in again.json()
    me = cvatcore_client.login("newbie", "long-enough-1")
    assert me["key"]
    assert cvatcore_client.get("/api/users/self").json()["groups"] == ["user"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"username": "x", "password1": "short", "password2": "short"}, "password1"),
        ({"username": "x", "password1": "long-enough-1", "password2": "other-one-2"}, "password2"),
        ({"username": "bad name!", "password1": "long-enough-1", "password2": "long-enough-1"},
         "username"),
        ({"username": "y", "email": "not-an-email", "password1": "long-enough-1",
          "password2": "long-enough-1"}, "email"),
    ],
)
def test_register_rejects_bad_input(cvatcore_client, body, field):
    r = cvatcore_client.post("/api/auth/register", json=body)
    assert r.status_code == 400 and field in r.json()
    assert cvatcore_client.post(
        "/api/auth/login", json={"username": body["username"], "password": body["password1"]}
    ).status_code == 401


def test_registration_can_be_switched_off(tmp_path):
    from cvatcore.hooks.testing.harness import ApiClient, build_test_app, test_settings

    app = build_test_app(test_settings(tmp_path, auth={"allow_registration": False}))
    with ApiClient(app) as client:
        r = client.post("/api/auth/register", json={
            "username": "x", "password1": "long-enough-1", "password2": "long-enough-1"})
        assert r.status_code == 403


def test_password_change(cvatcore_client, alice):
    cvatcore_client.login("alice", "alice-pass")
    r = cvatcore_client.post("/api/auth/password/change", json={
        "old_password": "wrong", "new_password1": "brand-new-1", "new_password2": "brand-new-1"})
    assert r.status_code == 400
    r = cvatcore_client.post("/api/auth/password/change", json={
        "old_password": "alice-pass", "new_password1": "brand-new-1",
        "new_password2": "brand-new-1"})
    assert r.status_code == 200
    cvatcore_client.logout()
    assert cvatcore_client.post(
        "/api/auth/login", json={"username": "alice", "password": "alice-pass"}
    ).status_code == 401
    cvatcore_client.login("alice", "brand-new-1")


def test_anonymous_gets_401_on_protected_endpoints(cvatcore_client):
    for path in ("/api/users/self", "/api/users", "/api/organizations", "/api/memberships"):
        r = cvatcore_client.get(path)
        assert r.status_code == 401, path
        assert r.json()["detail"]


def test_keys_and_tokens_never_start_with_a_dash():
    from cvatcore.core.services.credentials import new_key

    keys = [new_key() for _ in range(2000)]  # 1 in 64 random ones would
    assert not [k for k in keys if k.startswith("-")]
    assert len(set(keys)) == len(keys) and all(len(k) == 40 for k in keys)
