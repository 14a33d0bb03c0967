"""Numbers and texts past what the database holds, and lists, sorts and bodies past the
declared limits, are 400s naming the field and the limit, on SQLite and PostgreSQL; the
limits are in ``/api/schema``."""

from __future__ import annotations

import json

import pytest

from cvatcore.core.api.bounds import MAX_INT, MAX_JSON_DEPTH, MAX_LABELS, MAX_SORT_TERMS
from cvatcore.core.api.operations import core_ops
from cvatcore.hooks.testing.pytest_plugin import module_app_fixtures

cvatcore_database_url, cvatcore_settings, cvatcore_app = module_app_fixtures(
    "bounds", jobs={"in_process_workers": 0})

LISTS = sorted({op.path for op in core_ops() if op.paginated and "{" not in op.path})


@pytest.fixture(scope="module")
def admin(cvatcore_app):
    from cvatcore.hooks.testing.client import ApiClient

    with ApiClient(cvatcore_app) as client:
        client.post("/api/auth/register", json={
            "username": "boss", "password1": "Boss-pass-123", "password2": "Boss-pass-123",
            "email": "boss@example.com"})
        client.login("boss", "Boss-pass-123")
        yield client


def _field_error(response, field: str, *words: str) -> None:
    assert response.status_code == 400, (response.status_code, response.text[:300])
    body = response.json()
    assert field in body, body
    text = " ".join(body[field]) if isinstance(body[field], list) else body[field]
    for word in words:
        assert word in text, (word, body)


def test_ids_past_the_integer_range(admin):
    for path in ("/api/cloudstorages/94289653510", "/api/projects/2147483648",
                 "/api/tasks/99999999999999999999", "/api/jobs/94289653510/annotations/"):
        _field_error(admin.get(path), "id", str(MAX_INT))
    assert admin.get("/api/projects/2147483647").status_code == 404
    _field_error(admin.get("/api/tasks?org_id=99999999999999999999"), "org_id")
    _field_error(admin.get("/api/tasks?org_id=2147483648"), "org_id", str(MAX_INT))


@pytest.mark.parametrize("path", LISTS)
def test_huge_page_on_every_list(admin, path):
    _field_error(admin.get(f"{path}?page=9223372036854775807"), "page", str(MAX_INT))
    # Past the range /api/schema states: a 400 (schemathesis checks that promise); within
    # it, a page size above the server's largest is served as that largest, as documented.
    _field_error(admin.get(f"{path}?page=1&page_size=99999999999999999999"), "page_size",
                 str(MAX_INT))
    assert admin.get(f"{path}?page=1&page_size={MAX_INT}").status_code == 200
    # The largest page there can be: its offset passes PostgreSQL's integer, not bigint.
    assert admin.get(f"{path}?page={MAX_INT}&page_size=1000").status_code == 404


def test_register_with_a_long_last_name_is_refused(cvatcore_app):
    from cvatcore.hooks.testing.client import ApiClient

    with ApiClient(cvatcore_app) as client:
        r = client.post("/api/auth/register", json={
            "username": "longname", "password1": "Long-pass-123", "password2": "Long-pass-123",
            "email": "long@example.com", "last_name": "x" * 151})
        _field_error(r, "last_name", "150")
        r = client.post("/api/auth/login", json={"username": "longname",
                                                 "password": "Long-pass-123"})
        assert r.status_code in (400, 401)  # nothing was stored


def test_sizes_labels_sorts_and_depth(admin):
    _field_error(admin.post("/api/organizations", json={"slug": "o1", "description": "d" * 70_000}),
                 "description", "65536")
    labels = [{"name": f"l{i}"} for i in range(MAX_LABELS + 1)]
    _field_error(admin.post("/api/projects", json={"name": "p", "labels": labels}),
                 "labels", str(MAX_LABELS))
    _field_error(admin.post("/api/projects", json={"name": "p", "owner_id": 2**40}),
                 "owner_id", str(MAX_INT))
    _field_error(admin.get("/api/projects?sort=" + ",".join(["id"] * 2500)), "sort",
                 str(MAX_SORT_TERMS))
    r = admin.post("/api/projects", content=b"[" * 100_000,
                   headers={"content-type": "application/json"})
    assert r.status_code == 400 and str(MAX_JSON_DEPTH) in r.text
    nested = json.dumps({"name": "p", "x": json.loads("[" * 40 + "]" * 40)})
    r = admin.post("/api/projects", content=nested, headers={"content-type": "application/json"})
    assert r.status_code == 400 and str(MAX_JSON_DEPTH) in r.text
    assert admin.get("/api/projects?page_size=all").json()["count"] == 0  # nothing written


def test_schema_states_the_limits(admin):
    doc = admin.get("/api/schema").json()
    get = doc["paths"]["/api/cloudstorages/{id}"]["get"]
    ids = [p for p in get["parameters"] if p["name"] == "id"][0]
    assert ids["schema"]["maximum"] == MAX_INT
    listed = {p["name"]: p for p in doc["paths"]["/api/tasks"]["get"]["parameters"]}
    assert listed["page"]["schema"]["maximum"] == MAX_INT
    assert listed["org_id"]["schema"]["maximum"] == MAX_INT
    register = doc["components"]["schemas"]["RegisterRequest"]["properties"]
    assert register["last_name"]["maxLength"] == 150
    write = doc["components"]["schemas"]["ProjectWriteRequest"]["properties"]
    assert write["labels"]["maxItems"] == MAX_LABELS
