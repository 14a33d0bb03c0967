"""``/api/projects`` against CVAT's rules, over HTTP, on SQLite and PostgreSQL.

Expected outcomes are written out below from CVAT's table (``CVAT_PROJECTS_CSV``, verbatim
from ``cvat/apps/engine/rules/tests/configs/projects.csv``) and ``projects.rego``; they are
never computed by our engine. How CVAT reads the rows:

- "Owner" and "Assignee" are the project's. A project is judged in its own organization,
  whatever the request's context; one that exists but may not be seen is a 403.
- The list filter (``projects.rego``): admins see everything (in an organization: all of it),
  maintainers and owners with privilege ``user`` the whole organization, everyone else what
  they own or are assigned to (inside the context's organization, if one is given).
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from cvatcore.core.models import Project

from .support import (
    MISSING_ID,
    NO_CONTEXT,
    SANDBOX,
    Batch,
    Clients,
    Maker,
    Scratch,
    World,
    add_project,
    call,
    case_id,
    check,
    listed,
    unique_name,
)

CVAT_PROJECTS_CSV = """
Scope,Resource,Context,Ownership,Limit,Method,URL,Privilege,Membership
create,Project,Sandbox,N/A,,POST,/projects,User,N/A
create,Project,Organization,N/A,,POST,/projects,User,Supervisor
list,N/A,Sandbox,N/A,,GET,/projects,None,N/A
list,N/A,Organization,N/A,,GET,/projects,None,Worker
view,Project,Sandbox,None,,GET,"/projects/{id}, /projects/{id}/tasks",Admin,N/A
view,Project,Sandbox,"Owner, Assignee",,GET,"/projects/{id}, /projects/{id}/tasks",None,N/A
view,Project,Organization,None,,GET,"/projects/{id}, /projects/{id}/tasks",User,Maintainer
view,Project,Organization,"Owner, Assignee",,GET,"/projects/{id}, /projects/{id}/tasks",None,Worker
delete,Project,Sandbox,"None, Assignee",,DELETE,/projects/{id},Admin,N/A
delete,Project,Sandbox,Owner,,DELETE,/projects/{id},Worker,N/A
delete,Project,Organization,Owner,,DELETE,/projects/{id},Worker,Worker
delete,Project,Organization,"None, Assignee",,DELETE,/projects/{id},User,Maintainer
update:desc,Project,Sandbox,None,,PATCH,/projects/{id},Admin,N/A
update:desc,Project,Sandbox,"Owner, Assignee",,PATCH,/projects/{id},Worker,N/A
update:desc,Project,Organization,"Owner, Assignee",,PATCH,/projects/{id},Worker,Worker
update:desc,Project,Organization,None,,PATCH,/projects/{id},User,Maintainer
update:assignee,"Project, User",Sandbox,"None, Assignee",,PATCH,/projects/{id},Admin,N/A
update:assignee,"Project, User",Sandbox,Owner,,PATCH,/projects/{id},Worker,N/A
update:assignee,"Project, User",Organization,Owner,,PATCH,/projects/{id},Worker,Worker
update:assignee,"Project, User",Organization,"None, Assignee",,PATCH,/projects/{id},User,Maintainer
update:owner,"Project, User",Sandbox,"None, Assignee, Owner",,PATCH,/projects/{id},Admin,N/A
update:owner,"Project, User",Organization,"None, Assignee",,PATCH,/projects/{id},User,Maintainer
update:owner,"Project, User",Organization,Owner,,PATCH,/projects/{id},Worker,Maintainer
"""

RELATIONS = ("owner", "assignee", "none")
# Sandbox projects; the actor is the world user with that system role.
# {scope: {actor: statuses by relation (owner, assignee, none)}}
SANDBOX_TABLE: dict[str, dict[str, tuple[int, ...]]] = {
    "view": {
        "admin": (200, 200, 200),  # view,...,Sandbox,None,...,Admin
        "business": (200, 200, 403),  # view,...,Sandbox,"Owner, Assignee",...,None
        "user": (200, 200, 403),
        "worker": (200, 200, 403),
    },
    "update:desc": {
        "admin": (200, 200, 200),
        "business": (200, 200, 403),  # "Owner, Assignee",...,Worker
        "user": (200, 200, 403),
        "worker": (200, 200, 403),
    },
    "update:assignee": {
        "admin": (200, 200, 200),
        "business": (200, 403, 403),  # Owner,...,Worker
        "user": (200, 403, 403),
        "worker": (200, 403, 403),
    },
    "update:owner": {
        "admin": (200, 200, 200),  # "None, Assignee, Owner",...,Admin
        "business": (403, 403, 403),
        "user": (403, 403, 403),
        "worker": (403, 403, 403),
    },
    "delete": {
        "admin": (204, 204, 204),
        "business": (204, 403, 403),  # Owner,...,Worker
        "user": (204, 403, 403),
        "worker": (204, 403, 403),
    },
}
# Projects of organization "iam"; actors are world users (their role there: owner, maintainer,
# supervisor, worker ("member"), maintainer with system role worker ("w_maintainer"); "user" is
# no member, "admin" neither).
ORG_TABLE: dict[str, dict[str, tuple[int, ...]]] = {
    "view": {
        "admin": (200, 200, 200),
        "owner": (200, 200, 200),  # Organization,None,...,User,Maintainer
        "maintainer": (200, 200, 200),
        "supervisor": (200, 200, 403),  # "Owner, Assignee",...,None,Worker
        "member": (200, 200, 403),
        "w_maintainer": (200, 200, 403),  # privilege worker: not the "None" row
        "user": (403, 403, 403),
    },
    "update:desc": {
        "admin": (200, 200, 200),
        "owner": (200, 200, 200),  # None,...,User,Maintainer
        "maintainer": (200, 200, 200),
        "supervisor": (200, 200, 403),  # "Owner, Assignee",...,Worker,Worker
        "member": (200, 200, 403),
        "w_maintainer": (200, 200, 403),
        "user": (403, 403, 403),
    },
    "update:assignee": {
        "admin": (200, 200, 200),
        "owner": (200, 200, 200),  # "None, Assignee",...,User,Maintainer
        "maintainer": (200, 200, 200),
        "supervisor": (200, 403, 403),  # Owner,...,Worker,Worker
        "member": (200, 403, 403),
        "w_maintainer": (200, 403, 403),
        "user": (403, 403, 403),
    },
    "update:owner": {
        "admin": (200, 200, 200),
        "owner": (200, 200, 200),  # "None, Assignee",...,User,Maintainer
        "maintainer": (200, 200, 200),
        "supervisor": (403, 403, 403),
        "member": (403, 403, 403),
        "w_maintainer": (200, 403, 403),  # Owner,...,Worker,Maintainer
        "user": (403, 403, 403),
    },
    "delete": {
        "admin": (204, 204, 204),
        "owner": (204, 204, 204),
        "maintainer": (204, 204, 204),
        "supervisor": (204, 403, 403),  # Owner,...,Worker,Worker
        "member": (204, 403, 403),
        "w_maintainer": (204, 403, 403),
        "user": (403, 403, 403),
    },
}
OBJECT_CASES = [
    (where, scope, actor, relation, status)
    for where, table in (("sandbox", SANDBOX_TABLE), ("iam", ORG_TABLE))
    for scope, rows in table.items()
    for actor, statuses in rows.items()
    for relation, status in zip(RELATIONS, statuses, strict=True)
]
METHODS = {"view": "GET", "delete": "DELETE"}
OTHER = "member2"  # owns the projects the actor has no relation to; never an actor here
NEW_PERSON = "invitee"  # the new owner or assignee a PATCH names


def _project_for(session: Session, maker: Maker, world: World, where: str, actor: str,
                 relation: str) -> int:
    actor_id, other_id = world.users[actor], world.users[OTHER]
    return maker.project(
        session, actor_id if relation == "owner" else other_id,
        actor_id if relation == "assignee" else None,
        world.orgs["iam"] if where == "iam" else None,
    )


def _body(scope: str, world: World) -> dict[str, Any] | None:
    return {
        "update:desc": {"name": "Renamed"},
        "update:assignee": {"assignee_id": world.users[NEW_PERSON]},
        "update:owner": {"owner_id": world.users[NEW_PERSON]},
    }.get(scope)


@pytest.mark.parametrize(
    ("where", "scope", "actor", "relation", "expected"), OBJECT_CASES,
    ids=[case_id(*c[:4]) for c in OBJECT_CASES],
)
def test_object_actions(
    clients: Clients, world: World, batch: Batch,
    where: str, scope: str, actor: str, relation: str, expected: int,
) -> None:
    projects = batch.get("projects", lambda session, maker: {
        case[:4]: _project_for(session, maker, world, *case[:1], *case[2:4])
        for case in OBJECT_CASES
    })
    project_id = projects[(where, scope, actor, relation)]
    body = _body(scope, world)
    response = call(clients[actor], METHODS.get(scope, "PATCH"), f"/api/projects/{project_id}",
                    NO_CONTEXT, body)
    check(response, expected)
    if expected == 200:
        assert response.json()["id"] == project_id
        if scope == "update:owner":
            assert response.json()["owner"]["id"] == world.users[NEW_PERSON]
    if expected == 204:
        assert not batch.exists(Project, project_id)


def test_the_request_context_does_not_change_the_decision(
    clients: Clients, world: World, scratch: Scratch
) -> None:
    """An organization's project is judged in that organization, asked from anywhere."""
    with scratch.session() as session:
        project_id = scratch.project(session, world.users[OTHER], None, world.orgs["iam"])
    for context in (NO_CONTEXT, SANDBOX, "iam"):
        check(call(clients["maintainer"], "GET", f"/api/projects/{project_id}", context), 200)
        check(call(clients["member"], "GET", f"/api/projects/{project_id}", context), 403)


@pytest.mark.parametrize("actor", ["admin", "owner", "user"])
def test_missing_project_is_404(clients: Clients, actor: str) -> None:
    for method in ("GET", "PATCH", "DELETE"):
        body = {"name": "x"} if method == "PATCH" else None
        check(call(clients[actor], method, f"/api/projects/{MISSING_ID}", NO_CONTEXT, body),
              404)


# create,Project,Sandbox,...,User / create,Project,Organization,...,User,Supervisor
CREATE_CASES: list[tuple[str, str | None, int]] = [
    ("admin", NO_CONTEXT, 201),
    ("business", NO_CONTEXT, 201),
    ("user", NO_CONTEXT, 201),
    ("worker", NO_CONTEXT, 403),
    ("user", SANDBOX, 201),
    ("worker", SANDBOX, 403),
    ("admin", "iam", 201),
    ("owner", "iam", 201),
    ("maintainer", "iam", 201),
    ("supervisor", "iam", 201),
    ("member", "iam", 403),  # role worker
    ("w_maintainer", "iam", 403),  # privilege worker
    ("user", "iam", 403),  # not a member
    ("w_owner", "iam2", 403),  # privilege worker
]


@pytest.mark.parametrize(
    ("actor", "context", "expected"), CREATE_CASES, ids=[case_id(*c[:2]) for c in CREATE_CASES]
)
def test_create(
    clients: Clients, world: World, scratch: Scratch, actor: str, context: str | None,
    expected: int,
) -> None:
    response = call(clients[actor], "POST", "/api/projects", context,
                    {"name": unique_name("new"), "labels": [{"name": "a"}]})
    check(response, expected)
    if expected == 201:
        created = response.json()
        scratch.project_ids.append(created["id"])
        assert created["owner"]["id"] == world.users[actor]
        assert created["organization"] == (world.orgs[context] if context else None)


# The projects every list case sees (names carry LIST_TAG, and lists search for it).
LIST_TAG = "listed-project"
LIST_OBJECTS = {  # name: (owner, assignee, organization)
    "s1": ("user", None, None),
    "s2": ("business", "worker", None),
    "o1": ("member", None, "iam"),
    "o2": ("owner", "supervisor", "iam"),
    "o3": ("member2", None, "iam2"),
}
# (actor, context, the projects listed, or the status of the refusal)
LIST_CASES: list[tuple[str, str | None, Any]] = [
    ("admin", NO_CONTEXT, ["s1", "s2", "o1", "o2", "o3"]),
    ("user", NO_CONTEXT, ["s1"]),
    ("worker", NO_CONTEXT, ["s2"]),
    ("member", NO_CONTEXT, ["o1"]),  # without a context: what one owns or is assigned, anywhere
    ("supervisor", NO_CONTEXT, ["o2"]),
    ("maintainer", NO_CONTEXT, []),
    ("admin", SANDBOX, ["s1", "s2"]),
    ("business", SANDBOX, ["s2"]),
    ("member", SANDBOX, []),
    ("admin", "iam", ["o1", "o2"]),
    ("owner", "iam", ["o1", "o2"]),
    ("maintainer", "iam", ["o1", "o2"]),
    ("supervisor", "iam", ["o2"]),
    ("member", "iam", ["o1"]),
    ("w_maintainer", "iam", []),  # privilege worker: only its own
    ("user", "iam", 403),
    ("member2", "iam2", ["o3"]),
    ("supervisor", "iam2", []),
    ("w_owner", "iam2", []),  # an owner with privilege worker sees only its own
]


@pytest.fixture(scope="module")
def list_objects(cvatcore_app: Any, world: World) -> dict[str, int]:
    with cvatcore_app.state.cvatcore.db.unit_of_work() as session:
        return {
            name: add_project(session, world.users[owner],
                              world.users[assignee] if assignee else None,
                              world.orgs[org] if org else None, name=f"{LIST_TAG}-{name}")
            for name, (owner, assignee, org) in LIST_OBJECTS.items()
        }


@pytest.mark.parametrize(
    ("actor", "context", "expected"), LIST_CASES, ids=[case_id(*c[:2]) for c in LIST_CASES]
)
def test_list(clients: Clients, list_objects: dict[str, int], actor: str,
              context: str | None, expected: Any) -> None:
    want = expected if isinstance(expected, int) else sorted(list_objects[n] for n in expected)
    assert listed(clients[actor], f"/api/projects?search={LIST_TAG}", context) == want
