"""Malformed JSON-Logic filters, NUL (also as a JSON escape) and lone surrogates are 400s
naming the problem, in bodies, labels and filters, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from cvatcore.core.api.bounds import MAX_FILTER_DEPTH
from cvatcore.hooks.testing.pytest_plugin import module_app_fixtures

cvatcore_database_url, cvatcore_settings, cvatcore_app = module_app_fixtures(
    "filters", jobs={"in_process_workers": 0})

BAD_FILTERS = [
    {"!": []},
    {"!": [{"==": [{"var": "id"}, 1]}, {"==": [{"var": "id"}, 2]}]},
    {"and": []},
    {"in": ["1", {"var": "id"}]},
    {"in": [{"var": "id"}, ["x", "y"]]},
    {"in": [{"var": "id"}, [1, "x"]]},
    {"in": [{"var": "name"}, [1, [2]]]},
    {"in": [{"var": "id"}, [True, 1]]},
    {"==": [{"var": "id"}, 99999999999999999999999]},
    {"==": [{"var": "id"}, "99999999999999999999999"]},
    {"==": [{"var": "id"}, 1.5]},
    {"==": [{"var": "id"}, {"var": "id"}]},
    {"==": [1, 2]},
    {"<": [{"var": "updated_date"}, 5]},
    {"==": [{"var": 5}, 1]},
    {"==": [{"var": ["id"]}, 1]},
    {"unknown": [1]},
    {"==": [{"var": "name"}, "x\u0000y"]},
    {"==": [{"var": "name"}, None]},
]


@pytest.fixture(scope="module")
def admin(cvatcore_app):
    from cvatcore.hooks.testing.client import ApiClient

    with ApiClient(cvatcore_app) as client:
        client.post("/api/auth/register", json={
            "username": "boss", "password1": "Boss-pass-123", "password2": "Boss-pass-123",
            "email": "boss@example.com"})
        client.login("boss", "Boss-pass-123")
        assert client.post("/api/projects", json={"name": "alpha"}).status_code == 201
        yield client


@pytest.mark.parametrize("path", ["/api/projects", "/api/tasks", "/api/users"])
def test_bad_filters_are_400s(admin, path):
    for node in BAD_FILTERS:
        r = admin.get(f"{path}?filter={quote(json.dumps(node))}")
        assert r.status_code == 400, (node, r.status_code, r.text[:200])
        assert "filter" in r.json(), (node, r.json())


def test_deep_and_escaped_filters(admin):
    deep = '{"!":' * 3000 + '{"==":[{"var":"id"},1]}' + "}" * 3000
    r = admin.get("/api/projects?filter=" + quote(deep))
    assert r.status_code == 400 and "filter" in r.json()
    nested = '{"!":' * (MAX_FILTER_DEPTH + 1) + '{"==":[{"var":"id"},1]}' + "}" * (
        MAX_FILTER_DEPTH + 1)
    r = admin.get("/api/projects?filter=" + quote(nested))
    assert r.status_code == 400 and str(MAX_FILTER_DEPTH) in r.text
    for text in ('{"==":[{"var":"name"},"a\\u0000"]}', '{"==":[{"var":"name"},"a\\ud800b"]}',
                 '{"==":[{"var":"id"},NaN]}'):
        r = admin.get("/api/projects?filter=" + quote(text))
        assert r.status_code == 400 and "filter" in r.json(), text


def test_good_filters_still_work(admin):
    for node, count in [({"==": [{"var": "name"}, "alpha"]}, 1),
                        ({"in": ["LPH", {"var": "name"}]}, 1),
                        ({"in": ["%", {"var": "name"}]}, 0),
                        ({"in": [{"var": "id"}, [1, 2, 3]]}, 1),
                        ({"!": {"==": [{"var": "name"}, "alpha"]}}, 0),
                        ({"and": [{">": [{"var": "id"}, "0"]}, {"<=": [0, {"var": "id"}, 9]}]}, 1)]:
        r = admin.get(f"/api/projects?filter={quote(json.dumps(node))}")
        assert r.status_code == 200 and r.json()["count"] == count, (node, r.text[:200])


def test_nan_and_infinity_are_not_json(admin):
    for raw in (b'{"name": "p", "x": NaN}', b'{"name": "p", "owner_id": Infinity}'):
        r = admin.post("/api/projects", content=raw, headers={"content-type": "application/json"})
        assert r.status_code == 400 and "JSON" in r.text, r.text


@pytest.mark.parametrize("raw", [b'{"name": "a\\ud800b"}', b'{"name": "a\\udc00"}',
                                 b'{"name": "x\\u0000"}', b'{"name": "ok", "labels": '
                                 b'[{"name": "l\\ud800"}]}', b'{"name": "ok", "labels": '
                                 b'[{"name": "l", "attributes": [{"name": "a\\u0000", '
                                 b'"input_type": "text"}]}]}'])
def test_nul_and_surrogates_in_bodies(admin, raw):
    r = admin.post("/api/projects", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 400, r.text[:200]
    assert "NUL" in r.text or "surrogate" in r.text
    r = admin.patch("/api/users/1", content=raw.replace(b'"name"', b'"first_name"', 1),
                    headers={"content-type": "application/json"})
    assert r.status_code == 400, r.text[:200]
    # A paired surrogate (an emoji written as an escape) is text like any other.
    r = admin.post("/api/projects", content=b'{"name": "\\ud83d\\ude00"}',
                   headers={"content-type": "application/json"})
    assert r.status_code == 201 and r.json()["name"] == "\U0001F600"
    admin.delete(f"/api/projects/{r.json()['id']}")
