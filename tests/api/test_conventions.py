"""CVAT's list conventions and error shapes, common to every endpoint."""

from __future__ import annotations

import json

import pytest


@pytest.fixture
def admin_client(cvatcore_client, make_user):
    make_user("root", superuser=True)
    for i in range(25):
        make_user(f"user{i:02d}")
    cvatcore_client.login("root", "root-pass")
    return cvatcore_client


def test_pagination_walks_every_row_once(admin_client):
    seen, url, pages = [], "/api/users?page_size=7&sort=username", 0
    while url:
        body = admin_client.get(url).json()
        assert body["count"] == 26
        seen += [u["username"] for u in body["results"]]
        url, pages = body["next"], pages + 1
    assert pages == 4 and len(seen) == 26 and seen == sorted(seen)


def test_previous_link_and_default_page_size(admin_client):
    first = admin_client.get("/api/users").json()
    assert len(first["results"]) == 10 and first["previous"] is None
    second = admin_client.get(first["next"]).json()
    assert second["previous"] and admin_client.get(second["previous"]).json() == first


def test_page_size_all_and_bad_pages(admin_client):
    assert len(admin_client.get("/api/users?page_size=all").json()["results"]) == 26
    assert admin_client.get("/api/users?page=99").status_code == 404
    for bad in ("page=0", "page=x", "page_size=-1"):
        r = admin_client.get(f"/api/users?{bad}")
        assert r.status_code == 400 and r.json()


def test_json_logic_filter(admin_client):
    f = json.dumps({"and": [{">=": [{"var": "username"}, "user20"]},
                            {"!=": [{"var": "username"}, "user22"]}]})
    params = {"filter": f, "page_size": "all", "sort": "username"}
    names = [u["username"] for u in admin_client.get("/api/users", params=params).json()["results"]]
    assert names == ["user20", "user21", "user23", "user24"]
    f = json.dumps({"in": ["ER1", {"var": "username"}]})
    names = {u["username"] for u in admin_client.get(
        "/api/users", params={"filter": f, "page_size": "all"}).json()["results"]}
    assert names == {f"user1{i}" for i in range(10)}


@pytest.mark.parametrize("bad", ["{not json", json.dumps({"==": [{"var": "password"}, "x"]}),
                                 json.dumps({"regex": [{"var": "username"}, "x"]}), "[]"])
def test_bad_filters_are_400(admin_client, bad):
    r = admin_client.get("/api/users", params={"filter": bad})
    assert r.status_code == 400 and "filter" in r.json()


def test_search_and_sort(admin_client):
    body = admin_client.get("/api/users?search=USER0&sort=-username&page_size=all").json()
    assert [u["username"] for u in body["results"]] == [f"user0{i}" for i in range(9, -1, -1)]
    r = admin_client.get("/api/users?sort=password")
    assert r.status_code == 400 and "sort" in r.json()


def test_simple_filters(admin_client):
    body = admin_client.get("/api/users?username=user07").json()
    assert [u["username"] for u in body["results"]] == ["user07"]
    assert admin_client.get("/api/users?is_active=maybe").status_code == 400


def test_request_id_is_echoed_or_generated(cvatcore_client):
    r = cvatcore_client.get("/api/server/about", headers={"X-Request-Id": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    generated = cvatcore_client.get("/api/server/about").headers["x-request-id"]
    assert len(generated) == 36
    assert cvatcore_client.get("/api/nowhere").headers["x-request-id"]


def test_errors_are_json(admin_client):
    r = admin_client.get("/api/nowhere")
    assert r.status_code == 404 and r.json()["detail"]
    r = admin_client.put("/api/server/about")
    assert r.status_code == 405 and r.json()["detail"]
    r = admin_client.post("/api/organizations", content=b"{oops", headers={
        "content-type": "application/json"})
    assert r.status_code == 400 and r.json()["detail"]
    r = admin_client.post("/api/organizations", json=["not", "an", "object"])
    assert r.status_code == 400


def test_nul_bytes_are_refused_not_500(admin_client):
    assert admin_client.get("/api/users?search=a%00b").status_code == 400
    r = admin_client.post("/api/organizations", json={"slug": "a\x00b"})
    assert r.status_code == 400
    assert admin_client.get("/api/organizations?slug=a%00").status_code == 400


def test_failed_request_leaves_nothing_half_written(admin_client):
    before = admin_client.get("/api/organizations").json()["count"]
    r = admin_client.post("/api/organizations", json={"slug": "ok-slug", "contact": "not-a-dict"})
    assert r.status_code == 400 and "contact" in r.json()
    assert admin_client.get("/api/organizations").json()["count"] == before
    assert admin_client.get("/api/memberships").json()["count"] == 0


@pytest.mark.parametrize(
    "expr, status",
    [
        ({"==": [{"var": "is_active"}, True]}, 200),
        ({"==": [{"var": "is_active"}, "false"]}, 200),
        ({"<": [{"var": "is_active"}, True]}, 400),
        ({"==": [{"var": "id"}, "abc"]}, 400),
        ({"==": [{"var": "id"}, "3"]}, 200),
        ({">": [{"var": "id"}, None]}, 400),
        ({"==": [{"var": "username"}, 5]}, 200),
    ],
)
def test_filter_values_are_checked_against_the_field_type(admin_client, expr, status):
    r = admin_client.get("/api/users", params={"filter": json.dumps(expr)})
    assert r.status_code == status, r.text
    if status == 400:
        assert "filter" in r.json()


def test_boolean_filter_selects_rows(admin_client):
    admin_client.patch("/api/users/2", json={"is_active": False})
    inactive = admin_client.get("/api/users", params={
        "filter": json.dumps({"==": [{"var": "is_active"}, False]})}).json()
    assert [u["id"] for u in inactive["results"]] == [2]
    assert admin_client.get("/api/users?is_active=false").json()["count"] == 1
