"""HTTP Basic clients send the password with every request: a success is remembered for a
minute (no argon2 verification each time), but never past a password change or a disabled
account, and no password is kept."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import update

from cvatcore.core.models import User
from cvatcore.core.services import passwords


def _basic(username, password):
    value = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {value}"}


@pytest.fixture
def verifications(monkeypatch):
    """How many full password verifications ran."""
    calls = []
    real = passwords.verify_password

    def counting(stored, password):
        calls.append(password)
        return real(stored, password)

    monkeypatch.setattr(passwords, "verify_password", counting)
    return calls


def test_repeated_basic_requests_verify_the_password_once(cvatcore_client, make_user,
                                                          verifications):
    make_user("alice")
    for _ in range(5):
        r = cvatcore_client.get("/api/users/self", headers=_basic("alice", "alice-pass"))
        assert r.status_code == 200
    assert len(verifications) == 1
    for _ in range(2):  # failures are never remembered: each one is checked in full
        assert cvatcore_client.get("/api/users/self",
                                   headers=_basic("alice", "wrong")).status_code == 401
    assert len(verifications) == 3


def test_old_password_stops_working_at_once_after_a_change(cvatcore_client, make_user):
    make_user("alice")
    old, new = _basic("alice", "alice-pass"), _basic("alice", "brand-new-pass-1")
    assert cvatcore_client.get("/api/users/self", headers=old).status_code == 200
    r = cvatcore_client.post("/api/auth/password/change", headers=old, json={
        "old_password": "alice-pass", "new_password1": "brand-new-pass-1",
        "new_password2": "brand-new-pass-1"})
    assert r.status_code == 200
    assert cvatcore_client.get("/api/users/self", headers=old).status_code == 401
    assert cvatcore_client.get("/api/users/self", headers=new).status_code == 200


def test_a_disabled_account_stops_at_once(cvatcore_app, cvatcore_client, make_user):
    make_user("alice")
    basic = _basic("alice", "alice-pass")
    assert cvatcore_client.get("/api/users/self", headers=basic).status_code == 200
    with cvatcore_app.state.cvatcore.db.unit_of_work() as session:
        session.execute(update(User).where(User.username == "alice").values(is_active=False))
    assert cvatcore_client.get("/api/users/self", headers=basic).status_code == 401


def test_the_memory_keeps_no_password():
    memory = passwords.VerifiedPasswords(ttl=60)
    stored = passwords.hash_password("secret-password-1")
    assert memory.verify("carol", stored, "secret-password-1")
    assert not memory.verify("carol", stored, "secret-password-2")
    (entry,) = memory._entries
    assert b"secret-password" not in entry and b"carol" not in entry and len(entry) == 32
    other = passwords.VerifiedPasswords(ttl=60)  # another process: another key
    assert other._digest("carol", stored, "secret-password-1") != entry


def test_the_memory_forgets_after_its_ttl(monkeypatch):
    memory = passwords.VerifiedPasswords(ttl=60)
    stored = passwords.hash_password("secret-password-1")
    now = [1000.0]
    monkeypatch.setattr(passwords.time, "monotonic", lambda: now[0])
    calls = []
    real = passwords.verify_password
    monkeypatch.setattr(passwords, "verify_password", lambda s, p: calls.append(p) or real(s, p))
    for moment in (1000.0, 1030.0, 1061.0):
        now[0] = moment
        assert memory.verify("carol", stored, "secret-password-1")
    assert len(calls) == 2  # at 1000 and again after the minute
