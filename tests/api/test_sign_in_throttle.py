"""Failed sign-ins are throttled per user name and per client address (429 with
Retry-After), shared by replicas through the database; sessions and tokens never are."""

from __future__ import annotations

import base64
import time

import pytest

from cvatcore.hooks.testing import ApiClient, build_test_app, test_settings

THROTTLE = {"failed_sign_ins_per_user": 5, "failed_sign_ins_per_address": 12,
            "sign_in_lockout_seconds": 1, "sign_in_max_lockout_seconds": 4}


@pytest.fixture
def cvatcore_settings(tmp_path, cvatcore_database_url):
    return test_settings(tmp_path, cvatcore_database_url, auth=THROTTLE,
                         jobs={"in_process_workers": 0})


@pytest.fixture
def users(make_user):
    make_user("alice")
    make_user("bob")


def _login(client, username, password):
    return client.post("/api/auth/login", json={"username": username, "password": password})


def _basic(username, password):
    value = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {value}"}


def _me(client, headers):
    return client.get("/api/users/self", headers=headers).status_code


def _assert_throttled(response, seconds):
    assert response.status_code == 429, response.text
    assert response.headers["Retry-After"] == str(seconds)
    assert response.json() == {"detail": "Request was throttled. Too many failed sign-ins. "
                                          f"Expected available in {seconds} "
                                          f"second{'s' if seconds > 1 else ''}."}


def test_wrong_passwords_lock_the_user_name_only(cvatcore_app, users):
    with ApiClient(cvatcore_app) as signed_in, ApiClient(cvatcore_app) as client:
        signed_in.login("alice", "alice-pass")  # a browser session from before
        token = signed_in.post("/api/auth/access_tokens", json={"name": "ci"}).json()["value"]
        for _ in range(5):
            assert _login(client, "alice", "wrong").status_code == 401
        # Locked: not even the right password is checked, by login or by Basic.
        _assert_throttled(_login(client, "alice", "alice-pass"), 1)
        _assert_throttled(client.get("/api/users/self", headers=_basic("alice", "alice-pass")), 1)
        # Other user names, and clients signed in with a session or a token, go on.
        assert _login(client, "bob", "bob-pass").status_code == 200
        assert signed_in.get("/api/users/self").json()["username"] == "alice"
        bearer = {"Authorization": f"Bearer {token}"}
        with ApiClient(cvatcore_app) as other:
            assert other.get("/api/users/self", headers=bearer).status_code == 200
        time.sleep(1.1)  # the lockout is over: the right password works again
        assert _login(client, "alice", "alice-pass").status_code == 200


def test_basic_failures_count_and_lockouts_double(cvatcore_app, users):
    with ApiClient(cvatcore_app) as client:
        for _ in range(5):
            r = client.get("/api/users/self", headers=_basic("alice", "wrong"))
            assert r.status_code == 401
        _assert_throttled(client.get("/api/users/self", headers=_basic("alice", "wrong")), 1)
        time.sleep(1.1)
        for _ in range(5):
            assert _login(client, "alice", "wrong").status_code == 401
        _assert_throttled(_login(client, "alice", "alice-pass"), 2)  # the second: twice as long


def test_a_sign_in_forgets_the_user_names_failures(cvatcore_app, users):
    with ApiClient(cvatcore_app) as client:
        for _ in range(4):
            assert _me(client, _basic("alice", "wrong")) == 401
        assert _me(client, _basic("alice", "alice-pass")) == 200
        for _ in range(4):
            assert _login(client, "alice", "wrong").status_code == 401
        assert _login(client, "alice", "alice-pass").status_code == 200


def test_one_address_guessing_many_names_is_locked_others_are_not(cvatcore_app, users):
    with ApiClient(cvatcore_app, client=("203.0.113.7", 40000)) as guesser, \
            ApiClient(cvatcore_app, client=("198.51.100.2", 40000)) as neighbour:
        for n in range(12):
            assert _login(guesser, f"name{n}", "guess").status_code == 401
        _assert_throttled(_login(guesser, "bob", "bob-pass"), 1)
        assert _login(neighbour, "bob", "bob-pass").status_code == 200
        assert _me(neighbour, _basic("alice", "alice-pass")) == 200


def test_replicas_share_the_count(cvatcore_app, cvatcore_settings, users):
    replica = build_test_app(cvatcore_settings)  # another server on the same database
    with ApiClient(cvatcore_app) as one, ApiClient(replica) as two:
        for n in range(5):
            client = one if n % 2 else two
            assert _login(client, "alice", "wrong").status_code == 401
        _assert_throttled(_login(one, "alice", "alice-pass"), 1)
        _assert_throttled(_login(two, "alice", "alice-pass"), 1)
