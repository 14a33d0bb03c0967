"""Small leaks: anonymous callers learn nothing from object paths (401 whether or not the
id exists), a 405 lists every allowed method, and a malformed ``org_id`` is a 400."""

from __future__ import annotations

import re

import pytest

from cvatcore.core.api.operations import core_ops
from cvatcore.hooks.testing.pytest_plugin import module_app_fixtures

cvatcore_database_url, cvatcore_settings, cvatcore_app = module_app_fixtures(
    "leaks", jobs={"in_process_workers": 0})


@pytest.fixture(scope="module")
def clients(cvatcore_app):
    from cvatcore.hooks.testing.client import ApiClient

    with ApiClient(cvatcore_app) as admin, ApiClient(cvatcore_app) as anonymous:
        admin.post("/api/auth/register", json={
            "username": "boss", "password1": "Boss-pass-123", "password2": "Boss-pass-123",
            "email": "boss@example.com"})
        admin.login("boss", "Boss-pass-123")
        assert admin.post("/api/projects", json={"name": "p"}).json()["id"] == 1
        yield admin, anonymous


UUID = "00000000-0000-4000-8000-000000000000"


def test_anonymous_gets_401_on_every_object_path(clients):
    _, anonymous = clients
    for op in core_ops():
        if op.public or "{" not in op.path:
            continue
        for value in ("1", "99999"):
            path = re.sub(r"\{\w+:int\}", value, op.path).replace("{file_id:uuid}", UUID)
            r = anonymous.request(op.method, path, json={} if op.method != "GET" else None)
            assert r.status_code == 401, (op.method, path, r.status_code, r.text[:100])


def test_405_lists_every_allowed_method(clients):
    admin, _ = clients
    r = admin.put("/api/projects/1", json={})
    assert r.status_code == 405 and r.json()["detail"]
    assert set(r.headers["allow"].split(", ")) >= {"GET", "PATCH", "DELETE"}
    r = admin.delete("/api/projects")
    assert set(r.headers["allow"].split(", ")) >= {"GET", "POST"}


def test_malformed_org_id_is_400(clients):
    admin, _ = clients
    for value in ("false", "1.5", "-1", "0", "99999999999999999999"):
        r = admin.get(f"/api/users/self?org_id={value}")
        assert r.status_code == 400 and "org_id" in r.json(), (value, r.text)
    assert admin.get("/api/users/self?org_id=").status_code == 200
