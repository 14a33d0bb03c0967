"""``GET /api/schema`` describes the server exactly: every route is documented, every documented
path exists, and real answers (successes and errors) validate against their documented schemas."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from starlette.responses import JSONResponse
from starlette.routing import Route

from cvatcore.core.api.operations import core_ops
from cvatcore.hooks import hookimpl
from cvatcore.hooks.testing.harness import ApiClient

COMPONENT_NAMES = {
    "About", "Plugins", "PluginList", "Token", "LoginRequest", "RegisterRequest", "Register",
    "Detail", "PasswordChangeRequest", "AccessTokenWriteRequest", "AccessTokenRead",
    "AccessTokenCreated", "User", "MetaUser", "BasicUser", "PatchedUserRequest",
    "OrganizationRead", "OrganizationWriteRequest", "MembershipRead",
    "PatchedMembershipWriteRequest", "InvitationRead", "InvitationWriteRequest",
    "AcceptInvitationRead",
}


def openapi_path(path: str) -> str:
    return re.sub(r"\{(\w+)(:\w+)?\}", r"{\1}", path)


def documented(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {(path, method.upper()) for path, item in document["paths"].items() for method in item}


def registered(app: Any) -> set[tuple[str, str]]:
    return {
        (openapi_path(route.path), method)
        for route in app.routes if isinstance(route, Route) and route.include_in_schema
        for method in route.methods or () if method != "HEAD"
    }


def refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if "$ref" in node else set()
        return found.union(*(refs(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(refs(v) for v in node))
    return set()


def test_document_shape(cvatcore_client):
    r = cvatcore_client.get("/api/schema")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    doc = r.json()
    assert doc["openapi"] == "3.0.3" and doc["info"]["version"] == "2.80.0"
    schemas = doc["components"]["schemas"]
    assert set(schemas) >= COMPONENT_NAMES
    for name in ("MetaUser", "OrganizationRead", "MembershipRead", "InvitationRead",
                 "AccessTokenRead"):
        assert {"count", "next", "previous", "results"} <= set(
            schemas[f"Paginated{name}List"]["properties"])
    for ref in refs(doc):
        assert ref.startswith("#/components/schemas/") and ref.split("/")[-1] in schemas, ref
    operation_ids = [op["operationId"] for item in doc["paths"].values() for op in item.values()]
    assert len(operation_ids) == len(set(operation_ids))
    assert doc["components"]["securitySchemes"]["sessionAuth"] == {
        "type": "apiKey", "in": "cookie", "name": "sessionid",
        "description": "The session cookie `POST /api/auth/login` sets."}
    schemes = doc["components"]["securitySchemes"]
    assert schemes["tokenAuth"]["x-token-prefix"] == "Token"
    assert schemes["accessTokenAuth"] == {**schemes["accessTokenAuth"], "type": "http",
                                          "scheme": "bearer"}
    assert {"csrfAuth", "basicAuth"} <= set(schemes)


def test_operations_describe_their_parameters(cvatcore_client):
    doc = cvatcore_client.get("/api/schema").json()
    users = doc["paths"]["/api/users"]["get"]
    names = {(p["in"], p["name"]) for p in users["parameters"]}
    assert {("query", "page"), ("query", "page_size"), ("query", "org"), ("query", "org_id"),
            ("header", "X-Organization"), ("query", "filter"), ("query", "sort"),
            ("query", "search"), ("query", "username")} <= names
    is_active = next(p for p in users["parameters"] if p["name"] == "is_active")
    assert is_active["schema"] == {"type": "boolean"}
    retrieve = doc["paths"]["/api/users/{id}"]["get"]
    assert {"name": "id", "in": "path", "required": True,
            "schema": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1},
            "description": "The id of the object."} in retrieve["parameters"]
    for code in ("401", "403", "404"):
        assert retrieve["responses"][code]["content"]["application/json"]
    about = doc["paths"]["/api/server/about"]["get"]
    assert {} in about["security"] and "401" not in about["responses"]
    tokens_self = doc["paths"]["/api/auth/access_tokens/self"]["get"]
    assert tokens_self["security"] == [{"accessTokenAuth": []}]
    roles = doc["components"]["schemas"]["RoleEnum"]["enum"]
    assert sorted(roles) == ["maintainer", "owner", "supervisor", "worker"]


def test_routes_and_document_agree(cvatcore_app, cvatcore_client):
    doc = cvatcore_client.get("/api/schema").json()
    assert registered(cvatcore_app) == documented(doc)
    assert {(openapi_path(op.path), op.method) for op in core_ops()} == documented(doc)


class ExtraRoutes:
    """A plugin with its own route, which the document lists as well."""

    @hookimpl
    def register_routes(self, register):
        async def ping(request):
            return JSONResponse({"pong": True})

        register("/api/extra/ping/{n:int}", ping, methods=["GET", "POST"], name="extra_ping")


def test_plugin_routes_are_documented(register_plugin):
    with register_plugin(ExtraRoutes(), "extra") as app, ApiClient(app) as client:
        doc = client.get("/api/schema").json()
        assert registered(app) == documented(doc)
        op = doc["paths"]["/api/extra/ping/{n}"]["get"]
        assert op["operationId"] == "extra_ping" and op["tags"] == ["extra"]
        assert op["parameters"][0]["schema"]["type"] == "integer"


@pytest.fixture
def cvatcore_settings(tmp_path, cvatcore_database_url):
    """Events recorded into the sql sink, so that GET /api/events has something to export."""
    from cvatcore.hooks.testing.harness import test_settings

    return test_settings(tmp_path, cvatcore_database_url, analytics={"sinks": ["sql"]})


@pytest.fixture
def cvatcore_app(cvatcore_settings):
    """The app with the Azure plugin, so that cloud storages can be documented and checked."""
    import cvatcore_azure

    from cvatcore.hooks.testing.harness import build_test_app

    app = build_test_app(cvatcore_settings, plugins=[(cvatcore_azure, "azure")])
    yield app
    app.state.cvatcore.db.dispose()


def _png() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (20, 10), (1, 2, 3)).save(out, "PNG")
    return out.getvalue()


def _finished(admin, rq_id: str) -> dict[str, Any]:
    import time

    for _ in range(300):
        body = admin.get(f"/api/requests/{rq_id}").json()
        if body["status"] in ("finished", "failed"):
            assert body["status"] == "finished", body
            return body
        time.sleep(0.05)
    raise AssertionError(f"{rq_id} did not finish")


def _domain_world(admin, raw, azurite, container) -> dict[str, Any]:
    """A project with labels, a task with two frames and jobs, annotations, an issue with a
    comment, a TUS upload in progress and a cloud storage."""
    import base64

    project = admin.post("/api/projects", json={"name": "p", "labels": [
        {"name": "car", "attributes": [{"name": "color", "mutable": False,
                                        "input_type": "select", "default_value": "red",
                                        "values": ["red", "blue"]}]}]}).json()
    task = admin.post("/api/tasks", json={"name": "t", "project_id": project["id"],
                                          "segment_size": 1}).json()
    files = {f"client_files[{i}]": (f"{i}.png", _png(), "image/png") for i in range(2)}
    rq = raw.post(f"/api/tasks/{task['id']}/data", data={"image_quality": "70"}, files=files)
    request = _finished(admin, rq.json()["rq_id"])
    jobs = admin.get("/api/jobs", params={"task_id": task["id"]}).json()["results"]
    job_id = min(j["id"] for j in jobs)
    label = admin.get("/api/labels", params={"project_id": project["id"]}).json()["results"][0]
    shapes = [{"type": "rectangle", "frame": 0, "label_id": label["id"],
               "points": [1, 2, 3, 4], "attributes": []}]
    annotated = admin.request("PUT", f"/api/jobs/{job_id}/annotations/",
                              json={"shapes": shapes, "tags": [], "tracks": []})
    assert annotated.status_code == 200, annotated.text
    issue = admin.post("/api/issues", json={"frame": 0, "position": [1, 2, 3, 4],
                                            "job": job_id, "message": "look here"}).json()
    comment = admin.get("/api/comments", params={"issue_id": issue["id"]}).json()["results"][0]
    empty = admin.post("/api/tasks", json={"name": "uploading", "labels": [{"name": "x"}]}).json()
    tus = raw.post(f"/api/tasks/{empty['id']}/data/", headers={
        "Tus-Resumable": "1.0.0", "Upload-Length": "10",
        "Upload-Metadata": "filename " + base64.b64encode(b"a.png").decode()})
    assert tus.status_code == 201, tus.text
    file_id = tus.headers["location"].rstrip("/").rsplit("/", 1)[-1]
    exports = {}  # dataset exports of the task (with images), the job and the project
    for kind, oid, images in (("tasks", task["id"], "True"), ("jobs", job_id, "False"),
                              ("projects", project["id"], "False")):
        rq = admin.post(f"/api/{kind}/{oid}/dataset/export",
                        params={"format": "COCO 1.0", "save_images": images})
        assert rq.status_code == 202, rq.text
        exports[f"/api/{kind}/{{id}}/dataset/download"] = (oid, _finished(admin, rq.json()[
            "rq_id"])["id"])
    for kind, oid in (("tasks", task["id"]), ("projects", project["id"])):
        rq = admin.post(f"/api/{kind}/{oid}/backup/export")
        assert rq.status_code == 202, rq.text
        exports[f"/api/{kind}/{{id}}/backup/download"] = (oid, _finished(admin, rq.json()[
            "rq_id"])["id"])
    annotation_uploads: dict[str, Any] = {}
    for kind in ("tasks", "projects"):
        tus = raw.post(f"/api/{kind}/backup/", headers={
            "Tus-Resumable": "1.0.0", "Upload-Length": "10",
            "Upload-Metadata": "filename " + base64.b64encode(b"b.zip").decode()})
        assert tus.status_code == 201, tus.text
        annotation_uploads[f"/api/{kind}/backup/{{file_id}}"] = \
            tus.headers["location"].rstrip("/").rsplit("/", 1)[-1]
    for kind, oid, sub in (("tasks", task["id"], "annotations"), ("jobs", job_id, "annotations"),
                           ("projects", project["id"], "dataset")):
        tus = raw.post(f"/api/{kind}/{oid}/{sub}/", headers={
            "Tus-Resumable": "1.0.0", "Upload-Length": "10",
            "Upload-Metadata": "filename " + base64.b64encode(b"a.json").decode()})
        assert tus.status_code == 201, tus.text
        annotation_uploads[f"/api/{kind}/{{id}}/{sub}/{{file_id}}"] = (
            oid, tus.headers["location"].rstrip("/").rsplit("/", 1)[-1])
    storage = admin.post("/api/cloudstorages", json={
        "provider_type": "AZURE_CONTAINER", "resource": container, "display_name": "c",
        "credentials_type": "CONNECTION_STRING",
        "connection_string": azurite.connection_string}).json()
    # A webhook whose receiver is not there: the ping's delivery records a 502.
    hook = admin.post("/api/webhooks", json={
        "target_url": "http://127.0.0.1:9/", "type": "project", "project_id": project["id"],
        "events": ["update:issue"], "secret": "s"}).json()
    ping = admin.post(f"/api/webhooks/{hook['id']}/ping").json()
    native = admin.post("/api/functions", json={
        "provider": "native", "name": "boxes", "kind": "detector",
        "labels_v2": [{"name": "car", "attributes": []}]}).json()
    auto = admin.post("/api/lambda/requests", json={"function": "opencv-face-detection",
                                                    "task": task["id"]}).json()
    return {"/api/projects/{id}": project["id"], "/api/tasks/{id}": task["id"],
            "/api/webhooks/{id}": hook["id"], "/api/webhooks/{id}/deliveries": hook["id"],
            "/api/webhooks/{id}/deliveries/{delivery_id}": (hook["id"], ping["id"]),
            "/api/lambda/functions/{func_id}": "opencv-face-detection",
            "/api/lambda/requests/{id}": auto["id"],
            "/api/functions/{id}": native["id"],
            "/api/functions/queues/{queue_id}/watch": f"function:{native['id']}",
            "/api/jobs/{id}": job_id, "/api/labels/{id}": label["id"],
            "/api/tasks/{id}/data/": task["id"], "/api/tasks/{id}/data": task["id"],
            "/api/tasks/{id}/data/meta": task["id"], "/api/tasks/{id}/preview": task["id"],
            "/api/tasks/{id}/data/{file_id}": (empty["id"], file_id),
            "/api/jobs/{id}/data": job_id, "/api/jobs/{id}/data/meta": job_id,
            "/api/jobs/{id}/preview": job_id, "/api/jobs/{id}/annotations/": job_id,
            "/api/tasks/{id}/annotations/": task["id"], "/api/issues/{id}": issue["id"],
            "/api/comments/{id}": comment["id"], "/api/requests/{id}": request["id"],
            "/api/cloudstorages/{id}": storage["id"],
            "/api/cloudstorages/{id}/content-v2": storage["id"],
            "/api/cloudstorages/{id}/status": storage["id"],
            "/api/cloudstorages/{id}/preview": storage["id"],
            "/api/cloudstorages/{id}/actions": storage["id"],
            **{path: oid for path, (oid, _) in exports.items()}, **annotation_uploads,
            "download_params": {path: {"rq_id": rq_id} for path, (_, rq_id) in exports.items()}}


#: Query parameters the GET check sends to paths that need them.
SAMPLE_PARAMS = {
    "/api/tasks/{id}/data/": {"type": "frame", "number": 0, "quality": "original"},
    "/api/tasks/{id}/data": {"type": "chunk", "number": 0, "quality": "compressed"},
    "/api/jobs/{id}/data": {"type": "frame", "number": 0, "quality": "compressed"},
    "/api/functions/queues/{queue_id}/watch": {"seconds": 0},  # one look at the queue
}
STATUS_OVERRIDES = {"/api/cloudstorages/{id}/preview": (200, 204), "/api/events": (202,)}


@pytest.fixture
def world(cvatcore_client, make_user, checked, azurite, container):
    """An admin and two users, an organization with a member and a pending invitation, and an
    access token; every answer on the way is validated."""
    make_user("root", superuser=True)
    make_user("bob")
    make_user("carol")
    admin = checked(cvatcore_client)
    cvatcore_client.login("root", "root-pass")
    org = admin.post("/api/organizations", json={"slug": "acme", "name": "Acme",
                                                 "contact": {"email": "x@acme.test"}}).json()
    hdr = {"X-Organization": "acme"}
    bob_inv = admin.post("/api/invitations", json={"role": "worker", "email": "bob@example.com"},
                         headers=hdr).json()
    carol_inv = admin.post("/api/invitations", headers=hdr,
                           json={"role": "supervisor", "email": "carol@example.com"}).json()
    token = admin.post("/api/auth/access_tokens", json={"name": "ci", "read_only": True}).json()
    with ApiClient(cvatcore_client.app) as raw_bob:
        bob = checked(raw_bob)
        raw_bob.login("bob", "bob-pass")
        accepted = bob.post(f"/api/invitations/{bob_inv['key']}/accept").json()
        assert accepted == {"organization_slug": "acme"}
        users_in_org = bob.get("/api/users", headers=hdr).json()["results"]
        assert {"url", "id", "username", "first_name", "last_name"} == set(
            next(u for u in users_in_org if u["username"] == "root"))
        bob.get("/api/memberships", headers=hdr)
        bob.get("/api/invitations")
    members = admin.get("/api/memberships", params={"org": "acme"}).json()["results"]
    bob_id = next(m["user"]["id"] for m in members if m["user"]["username"] == "bob")
    domain = _domain_world(admin, cvatcore_client, azurite, container)
    return {
        "domain": domain,
        "admin": admin, "token": token, "org": org, "bob_id": bob_id, "carol_inv": carol_inv,
        "membership": next(m for m in members if m["user"]["username"] == "bob"),
    }


def _download_events(admin: Any, app: Any) -> None:
    """GET /api/events: 202 with a query id, 201 once the export job ran, 200 with the CSV."""
    from cvatcore.core.jobs.runner import JobRunner

    query_id = admin.get("/api/events").json()["query_id"]
    deadline = time.monotonic() + 20  # the app's own workers may have taken the job
    while admin.get("/api/events", params={"query_id": query_id}).status_code == 202:
        assert time.monotonic() < deadline, "the export did not finish"
        JobRunner(app.state.cvatcore).run_until_idle()
        time.sleep(0.05)
    assert admin.get("/api/events", params={"query_id": query_id}).status_code == 201
    r = admin.get("/api/events", params={"query_id": query_id, "action": "download"})
    assert r.status_code == 200 and r.text.startswith("scope,obj_name")


def test_every_get_answer_matches_the_document(world, cvatcore_app):
    admin = world["admin"]
    samples = {
        "/api/users/{id}": world["bob_id"],
        "/api/organizations/{id}": world["org"]["id"],
        "/api/memberships/{id}": world["membership"]["id"],
        "/api/invitations/{key}": world["carol_inv"]["key"],
        "/api/auth/access_tokens/{id}": world["token"]["id"],
        **world["domain"],
    }
    download_params = samples.pop("download_params")
    bearer = {"Authorization": f"Bearer {world['token']['value']}"}
    for op in core_ops():
        if op.method != "GET":
            continue
        path = openapi_path(op.path)
        headers = bearer if path == "/api/auth/access_tokens/self" else {}
        params = SAMPLE_PARAMS.get(path) or download_params.get(path, {})
        expected = STATUS_OVERRIDES.get(path, (op.status,))
        if "{" in path:
            assert path in samples, f"add a sample object for {path}"
            values = samples[path] if isinstance(samples[path], tuple) else (samples[path],)
            for value in values:
                path = re.sub(r"\{\w+\}", str(value), path, count=1)
        r = admin.get(path, headers=headers, params=params)
        assert r.status_code in expected, (path, r.text)
        if op.paginated:
            r = admin.get(path, params={"page_size": 1})
            assert r.status_code == 200 and len(r.json()["results"]) <= 1
    _download_events(admin, cvatcore_app)
    checked_gets = {(m, p) for m, p, s in admin.checked if m == "GET" and s in (200, 204)}
    assert checked_gets == {(op.method, openapi_path(op.path)) for op in core_ops()
                            if op.method == "GET"}
    admin.get("/api/users/self", params={"org": "acme"})
    admin.get("/api/organizations", params={"filter": '{"==":[{"var":"slug"},"acme"]}'})
    admin.get("/api/invitations", params={"accepted": "false", "org": "acme"})


def test_writes_and_errors_match_the_document(world, cvatcore_client, checked):
    admin, org = world["admin"], world["org"]
    assert admin.patch(f"/api/organizations/{org['id']}", json={"description": "d"}).status_code \
        == 200
    assert admin.patch(f"/api/memberships/{world['membership']['id']}",
                       json={"role": "supervisor"}).status_code == 200
    assert admin.patch(f"/api/users/{world['bob_id']}", json={"first_name": "Bob"}).status_code \
        == 200
    token_id = world["token"]["id"]
    assert admin.patch(f"/api/auth/access_tokens/{token_id}", json={"name": "ci-2"}).json()[
        "name"] == "ci-2"
    key = world["carol_inv"]["key"]
    assert admin.post(f"/api/invitations/{key}/resend").status_code == 204
    assert admin.post("/api/auth/password/change", json={
        "old_password": "root-pass", "new_password1": "new-pass-1234",
        "new_password2": "new-pass-1234"}).status_code == 200
    # errors are JSON and documented
    assert admin.get("/api/users/99999").status_code == 404
    assert admin.get("/api/users", params={"filter": "{not json"}).status_code == 400
    assert admin.post("/api/organizations", json={"slug": "bad slug!"}).status_code == 400
    assert admin.get("/api/auth/access_tokens/self").status_code == 404
    assert admin.get("/api/users", params={"org": "nope"}).status_code == 404
    assert admin.delete(f"/api/auth/access_tokens/{token_id}").status_code == 204
    assert admin.delete(f"/api/invitations/{key}").status_code == 204
    assert admin.delete(f"/api/memberships/{world['membership']['id']}").status_code == 204
    assert admin.delete(f"/api/organizations/{org['id']}").status_code == 204
    assert admin.post("/api/auth/logout").status_code == 200
    assert admin.get("/api/users/self").status_code == 401
    anonymous = checked(cvatcore_client)
    assert anonymous.post("/api/auth/login", json={"username": "root", "password": "x"}) \
        .status_code == 401
    r = anonymous.post("/api/auth/register", json={
        "username": "dave", "email": "dave@example.com", "password1": "long-enough-1",
        "password2": "long-enough-1", "first_name": "Dave", "last_name": "D"})
    assert r.status_code == 201
    assert anonymous.get("/api/users/self", headers={"Authorization": f"Token {r.json()['key']}"}) \
        .status_code == 200
    assert anonymous.get("/api/server/plugins").status_code in (200, 401)
    assert anonymous.get("/api/users", headers={"Authorization": "Bearer nope"}).status_code \
        == 401


@pytest.mark.parametrize("mutate", [
    lambda u: u.update(secret="x"),  # an undocumented field
    lambda u: u.pop("username"),  # a required one missing
    lambda u: u.update(date_joined=None),  # null where the document does not allow it
    lambda u: u.update(last_login="yesterday"),  # not a date-time
    lambda u: u.update(groups=["root"]),  # outside the enum
])
def test_the_checker_is_strict(cvatcore_client, make_user, checked, mutate):
    """The validation above means something: a wrong answer fails it."""
    make_user("root", superuser=True)
    cvatcore_client.login("root", "root-pass")
    client = checked(cvatcore_client)
    me = client.get("/api/users/self").json()
    user_schema = {"$ref": "#/components/schemas/User"}
    client.checker.validate(user_schema, me, "as returned")
    mutate(me)
    with pytest.raises(AssertionError):
        client.checker.validate(user_schema, me, "mutated")
