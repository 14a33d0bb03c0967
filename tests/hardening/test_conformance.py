"""What schemathesis's conformance checks found (``bench/fuzz.py --checks all``): a query the
schema forbids is a 400 naming the parameter, a body field of the wrong type is a 400 that
creates nothing, and an anonymous call that needs a token is a 401."""

from __future__ import annotations

import pytest

from cvatcore.hooks.testing.pytest_plugin import module_app_fixtures

cvatcore_database_url, cvatcore_settings, cvatcore_app = module_app_fixtures(
    "conformance", jobs={"in_process_workers": 0})


@pytest.fixture(scope="module")
def clients(cvatcore_app):
    from cvatcore.hooks.testing.client import ApiClient

    with ApiClient(cvatcore_app) as admin, ApiClient(cvatcore_app) as anonymous:
        admin.post("/api/auth/register", json={
            "username": "boss", "password1": "Boss-pass-123", "password2": "Boss-pass-123",
            "email": "boss@example.com"})
        admin.login("boss", "Boss-pass-123")
        admin.post("/api/projects", json={"name": "p"})
        yield admin, anonymous


@pytest.mark.parametrize(("path", "field", "said"), [
    ("/api/projects?page_size=2147483648", "page_size", "between 1 and 2147483647"),
    ("/api/tasks?page_size=0", "page_size", "between 1 and"),
    ("/api/projects?page_size=lots", "page_size", "integer"),
    ("/api/memberships?role=AAA", "role", "not one of the available choices"),
    ("/api/events?to=", "to", "Datetime has wrong format"),
    ("/api/events?from=yesterday", "from", "Datetime has wrong format"),
    ("/api/users/self?org_id=-742&org=x", "org_id", "between 1 and"),
    ("/api/webhooks/events?org_id=1&org_id=2", "org_id", "Only one value"),
    ("/api/tasks?project_id=1.5", "project_id", "A valid integer is required"),
    ("/api/tasks?project_id=99999999999999999999", "project_id", "between"),
])
def test_a_query_the_schema_forbids_is_a_400_naming_the_parameter(clients, path, field, said):
    admin, _ = clients
    r = admin.get(path)
    assert r.status_code == 400, (path, r.status_code, r.text)
    assert said in " ".join(r.json()[field])


@pytest.mark.parametrize("path", [
    "/api/projects?page_size=all", "/api/projects?page_size=500&page=1",
    "/api/memberships?role=worker", "/api/tasks?project_id=1",
    "/api/tasks?project_id=-1", "/api/webhooks?page_size=10",
    "/api/users/self?org=", "/api/projects?org_id=1&filter=%7B%7D",
])
def test_queries_cvat_clients_send_still_work(clients, path):
    admin, _ = clients
    r = admin.get(path)
    assert r.status_code in (200, 202, 404), (path, r.status_code, r.text)
    assert r.status_code != 400


def test_anonymous_token_self_is_401(clients):
    _, anonymous = clients
    r = anonymous.get("/api/auth/access_tokens/self")
    assert r.status_code == 401, r.text


@pytest.mark.parametrize("value", [{}, None, 5])
@pytest.mark.parametrize("field", ["first_name", "last_name", "email", "username"])
def test_register_with_a_non_string_name_is_a_400_and_creates_no_one(clients, field, value):
    admin, anonymous = clients
    body = {"username": f"who-{field}", "password1": "Who-pass-1234",
            "password2": "Who-pass-1234", "email": f"{field}@example.com",
            "first_name": "", "last_name": ""}
    body[field] = value
    r = anonymous.post("/api/auth/register", json=body)
    assert r.status_code == 400, r.text
    assert field in r.json()
    users = admin.get("/api/users", params={"search": f"who-{field}"}).json()
    assert users["count"] == 0


@pytest.mark.parametrize("path", ["/api/server/annotation/formats", "/api/webhooks/events",
                                  "/api/projects", "/api/lambda/functions"])
def test_every_operation_not_documented_public_needs_a_sign_in(clients, path):
    _, anonymous = clients
    assert anonymous.get(path).status_code == 401


def test_register_with_a_blank_email_is_a_400(clients):
    _, anonymous = clients
    r = anonymous.post("/api/auth/register", json={
        "username": "blank-mail", "password1": "Who-pass-1234", "password2": "Who-pass-1234",
        "email": ""})
    assert r.status_code == 400 and "email" in r.json(), r.text
