"""``/api/cloudstorages`` against CVAT's rules (cvat-reference §1.9, ``cloudstorages.csv``), on
SQLite and PostgreSQL. Expected outcomes are written out from CVAT's table, not computed:

- create: sandbox privilege ``user``; in an organization role maintainer or owner.
- view, content, preview, status: the owner; in an organization also supervisors and above.
- update, delete: the owner (privilege ``worker`` or more); in an organization also
  maintainers and above. Admins pass everything.
- list: admins everything; in an organization supervisors and above all of its storages,
  others their own; in the sandbox one's own.

The storages here are local directories registered as ``AWS_S3_BUCKET`` by a test plugin, so
that access checks run against a real provider.
"""

from __future__ import annotations

import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cvatcore.core.models import CloudStorage, Membership, Organization
from cvatcore.core.services.accounts import create_user
from cvatcore.core.services.caller import Caller
from cvatcore.hooks import hookimpl
from cvatcore.hooks.testing.harness import ApiClient, build_test_app, test_settings

USERS = {"admin": ["admin"], "ann": ["user"], "bob": ["user"], "wendy": ["worker"],
         "maint": ["user"], "sup": ["user"], "work": ["user"]}
ORG_ROLES = {"ann": "worker", "maint": "maintainer", "sup": "supervisor", "work": "worker",
             "wendy": "worker"}


def _plugin(base: Path) -> Any:
    def options(spec: Any) -> dict[str, Any]:
        return {"root": str(base / spec.resource)}

    return types.SimpleNamespace(register_cloud_storage_types=hookimpl(
        lambda register: register("AWS_S3_BUCKET", options, provider="local",
                                  credentials_types=("ANONYMOUS_ACCESS",))))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, cvatcore_database_url: str | None
          ) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("cloud-iam")
    buckets = root / "buckets"
    for name in ("sandbox-bucket", "org-bucket", "spare"):
        (buckets / name).mkdir(parents=True)
    settings = test_settings(root, cvatcore_database_url, jobs={"in_process_workers": 0})
    app = build_test_app(settings, plugins=[(_plugin(buckets), "cloud-iam")])
    with app.state.cvatcore.db.unit_of_work() as session:
        caller = Caller.system(app.state.cvatcore, session)
        ids = {name: create_user(caller, name, f"{name}-pass-1", email=f"{name}@x.org",
                                 groups=groups, is_superuser=name == "admin").id
               for name, groups in USERS.items()}
        org = Organization(slug="acme", name="acme", owner_id=ids["maint"])
        session.add(org)
        session.flush()
        for name, role in ORG_ROLES.items():
            session.add(Membership(user_id=ids[name], organization_id=org.id, role=role,
                                   is_active=True))
        storages = {}
        for key, org_id in (("sandbox", None), ("org", org.id)):
            row = CloudStorage(provider_type="AWS_S3_BUCKET", resource=f"{key}-bucket",
                               display_name=key, owner_id=ids["ann"], organization_id=org_id,
                               credentials_type="ANONYMOUS_ACCESS")
            session.add(row)
            session.flush()
            storages[key] = row.id
    yield {"app": app, "storages": storages}
    app.state.cvatcore.db.dispose()


def client(world: dict[str, Any], name: str) -> ApiClient:
    api = ApiClient(world["app"])
    api.login(name, f"{name}-pass-1")
    return api


# (who, storage, expected status) for view; 404: an organization's storage for a non-member.
VIEW = [
    ("ann", "sandbox", 200), ("bob", "sandbox", 403), ("admin", "sandbox", 200),
    ("ann", "org", 200), ("maint", "org", 200), ("sup", "org", 200), ("work", "org", 403),
    ("bob", "org", 404), ("admin", "org", 200),
]
CHANGE = [
    ("ann", "sandbox", True), ("bob", "sandbox", False), ("admin", "sandbox", True),
    ("ann", "org", True), ("maint", "org", True), ("sup", "org", False),
    ("work", "org", False), ("admin", "org", True),
]


@pytest.mark.parametrize(("who", "which", "status"), VIEW)
def test_view_status_and_content(world, who, which, status):
    sid = world["storages"][which]
    api = client(world, who)
    for path in ("", "/status", "/content-v2"):
        assert api.get(f"/api/cloudstorages/{sid}{path}").status_code == status, path


@pytest.mark.parametrize(("who", "which", "allowed"), CHANGE)
def test_update(world, who, which, allowed):
    sid = world["storages"][which]
    response = client(world, who).patch(f"/api/cloudstorages/{sid}",
                                        json={"description": f"by {who}"})
    assert response.status_code == (200 if allowed else 403), response.text


@pytest.mark.parametrize(("who", "context", "status"), [
    ("ann", None, 201), ("wendy", None, 403), ("admin", None, 201),
    ("maint", "acme", 201), ("sup", "acme", 403), ("work", "acme", 403),
    ("bob", "acme", 403),
])
def test_create(world, who, context, status):
    headers = {"X-Organization": context} if context else {}
    body = {"provider_type": "AWS_S3_BUCKET", "resource": "spare", "display_name": who,
            "credentials_type": "ANONYMOUS_ACCESS"}
    response = client(world, who).post("/api/cloudstorages", json=body, headers=headers)
    assert response.status_code == status, response.text
    if status == 201:
        assert response.json()["owner"]["username"] == who
        assert client(world, who).delete(
            f"/api/cloudstorages/{response.json()['id']}").status_code == 204


@pytest.mark.parametrize(("who", "context", "expected"), [
    ("ann", None, {"sandbox", "org"}), ("bob", None, set()), ("admin", None, {"sandbox", "org"}),
    ("ann", "", {"sandbox"}), ("maint", "acme", {"org"}), ("sup", "acme", {"org"}),
    ("work", "acme", set()), ("ann", "acme", {"org"}), ("admin", "acme", {"org"}),
])
def test_list(world, who, context, expected):
    headers = {} if context is None else {"X-Organization": context}
    body = client(world, who).get("/api/cloudstorages", headers=headers).json()
    names = {s["display_name"] for s in body["results"]} & {"sandbox", "org"}
    assert names == expected


@pytest.mark.parametrize(("who", "which", "allowed"), [c for c in CHANGE if c[0] != "admin"])
def test_delete(world, who, which, allowed):
    sid = world["storages"][which]
    api = client(world, who)
    if allowed:  # a scratch copy, so that the shared storages stay for the other cases
        with world["app"].state.cvatcore.db.unit_of_work() as session:
            row = session.get(CloudStorage, sid)
            copy = CloudStorage(provider_type=row.provider_type, resource=row.resource,
                                display_name="copy", owner_id=row.owner_id,
                                organization_id=row.organization_id,
                                credentials_type=row.credentials_type)
            session.add(copy)
            session.flush()
            sid = copy.id
    assert api.delete(f"/api/cloudstorages/{sid}").status_code == (204 if allowed else 403)
