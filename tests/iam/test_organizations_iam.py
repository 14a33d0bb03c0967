"""``/api/organizations`` against CVAT's rules, over HTTP, on SQLite and PostgreSQL.

Expected outcomes are written out below from CVAT's table (``CVAT_ORGANIZATIONS_CSV``,
verbatim) and ``organizations.rego``; they are never computed by our engine. How CVAT reads
the rows:

- "Owner" is the organization's owner; the other relations are the user's role in it.
- ``OrganizationViewSet`` filters its queryset for every action with the list filter (active
  members and the owner), so an organization one cannot see is a 404, not a 403.
- ``iam_organization_field`` is None: the organization context does not narrow the list;
  it is only checked (a non-member asking inside an organization gets 403).
- The privilege needed to update or delete is ``worker``, which every system role has.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from cvatcore.core.models import Organization

from .support import (
    MISSING_ID,
    NO_CONTEXT,
    SANDBOX,
    Batch,
    Clients,
    Maker,
    Scratch,
    World,
    add_member,
    call,
    case_id,
    check,
    listed,
    unique_name,
)

CVAT_ORGANIZATIONS_CSV = """
Scope,Resource,Context,Ownership,Limit,Method,URL,Privilege,Membership
create,Organization,N/A,N/A,,POST,/organizations,User,N/A
list,N/A,N/A,N/A,,GET,/organizations,None,N/A
view,Organization,N/A,"Worker, Supervisor, Maintainer, Owner",,GET,/organizations/{id},None,N/A
view,Organization,N/A,None,,GET,/organizations/{id},Admin,N/A
update,Organization,N/A,"Owner, Maintainer",,PATCH,/organizations/{id},Worker,N/A
update,Organization,N/A,"None, Worker, Supervisor",,PATCH,/organizations/{id},Admin,N/A
delete,Organization,N/A,Owner,,DELETE,/organizations/{id},Worker,N/A
delete,Organization,N/A,"None, Worker, Supervisor, Maintainer",,DELETE,/organizations/{id},Admin,N/A
"""

# actor -> the organizations listed (the same in every context the actor may use)
LIST_TABLE: dict[str, list[str]] = {
    "admin": ["iam", "iam2"],
    "owner": ["iam"],
    "maintainer": ["iam"],
    "supervisor": ["iam", "iam2"],  # a member of both
    "member": ["iam"],
    "w_maintainer": ["iam"],
    "w_owner": ["iam2"],
    "member2": ["iam2"],
    "business": [],
    "user": [],
    "worker": [],
    "invitee": [],   # pending invitations do not count
    "invitee2": [],
}
IAM_MEMBERS = ("owner", "maintainer", "supervisor", "member", "w_maintainer")
# (actor, context, the organizations listed, or the status of the refusal)
LIST_CASES: list[tuple[str, str | None, list[str] | int]] = [
    *[(actor, NO_CONTEXT, orgs) for actor, orgs in LIST_TABLE.items()],
    *[(actor, SANDBOX, orgs) for actor, orgs in LIST_TABLE.items()],
    *[(actor, "iam", LIST_TABLE[actor]) for actor in ("admin", *IAM_MEMBERS)],
    *[(actor, "iam", 403) for actor in ("business", "user", "w_owner", "invitee")],
    ("supervisor", "iam2", ["iam", "iam2"]),
]

# Retrieve, update and delete, on a fresh organization where the actor (a user with the
# given system role) has the relation named by the column. "pending" is an invitation not yet
# accepted. {scope: {system role: statuses by relation}}
RELATIONS = ("owner", "maintainer", "supervisor", "worker", "pending", "none")
OBJECT_TABLE: dict[str, dict[str, tuple[int, ...]]] = {
    "view": {
        "admin": (200, 200, 200, 200, 200, 200),     # view,...,None,...,Admin
        "business": (200, 200, 200, 200, 404, 404),  # view,..."Worker, ..., Owner",...,None
        "user": (200, 200, 200, 200, 404, 404),
        "worker": (200, 200, 200, 200, 404, 404),
    },
    "update": {
        "admin": (200, 200, 200, 200, 200, 200),     # update,...,"None, Worker, ...",Admin
        "business": (200, 200, 403, 403, 404, 404),  # update,...,"Owner, Maintainer",Worker
        "user": (200, 200, 403, 403, 404, 404),
        "worker": (200, 200, 403, 403, 404, 404),
    },
    "delete": {
        "admin": (204, 204, 204, 204, 204, 204),     # delete,...,"None, ...",Admin
        "business": (204, 403, 403, 403, 404, 404),  # delete,...,Owner,Worker
        "user": (204, 403, 403, 403, 404, 404),
        "worker": (204, 403, 403, 403, 404, 404),
    },
}
OBJECT_CASES = [
    (scope, privilege, relation, status)
    for scope, rows in OBJECT_TABLE.items()
    for privilege, statuses in rows.items()
    for relation, status in zip(RELATIONS, statuses, strict=True)
]
METHODS = {"view": "GET", "update": "PATCH", "delete": "DELETE"}

# create,Organization,N/A,N/A,,POST,/organizations,User: (actor, context, status)
CREATE_CASES: list[tuple[str, str | None, int]] = [
    ("admin", NO_CONTEXT, 201),
    ("business", NO_CONTEXT, 201),
    ("user", NO_CONTEXT, 201),
    ("worker", NO_CONTEXT, 403),
    ("user", SANDBOX, 201),
    ("owner", "iam", 201),          # the context plays no part
    ("member", "iam", 201),
    ("w_maintainer", "iam", 403),   # an organization role does not lift the privilege
    ("w_owner", NO_CONTEXT, 403),
]


@pytest.mark.parametrize(
    ("actor", "context", "expected"), LIST_CASES, ids=[case_id(*c[:2]) for c in LIST_CASES]
)
def test_list_shows_exactly_the_visible_organizations(
    clients: Clients, pristine_world: World, actor: str, context: str | None, expected: Any
) -> None:
    world = pristine_world
    want = expected if isinstance(expected, int) else sorted(world.orgs[s] for s in expected)
    assert listed(clients[actor], "/api/organizations", context) == want


def _org_for(session: Session, maker: Maker, world: World, privilege: str, relation: str
             ) -> int:
    """A fresh organization where the world user ``privilege`` has ``relation``."""
    actor_id = world.users[privilege]
    org_id, _ = maker.org(session, actor_id if relation == "owner" else None)
    if relation in ("maintainer", "supervisor", "worker"):
        add_member(session, actor_id, org_id, relation, True)
    elif relation == "pending":
        add_member(session, actor_id, org_id, "maintainer", False)
    return org_id


@pytest.mark.parametrize(
    ("scope", "privilege", "relation", "expected"), OBJECT_CASES,
    ids=[case_id(*c[:3]) for c in OBJECT_CASES],
)
def test_object_actions(
    clients: Clients, world: World, batch: Batch,
    scope: str, privilege: str, relation: str, expected: int,
) -> None:
    orgs = batch.get("orgs", lambda session, maker: {
        case[:3]: _org_for(session, maker, world, *case[1:3]) for case in OBJECT_CASES
    })
    org_id = orgs[(scope, privilege, relation)]
    body = {"name": "Renamed"} if scope == "update" else None
    response = call(clients[privilege], METHODS[scope], f"/api/organizations/{org_id}",
                    NO_CONTEXT, body)
    check(response, expected)
    if expected == 200:
        assert response.json()["id"] == org_id
    if expected == 204:
        assert not batch.exists(Organization, org_id)


@pytest.mark.parametrize("relation", ["maintainer", "supervisor"])
def test_context_does_not_change_the_decision(
    clients: Clients, world: World, scratch: Scratch, relation: str
) -> None:
    """A member asking inside another organization of theirs gets the same answers."""
    with scratch.session() as session:
        org_id = _org_for(session, scratch, world, "user", relation)
        other_id, other_slug = scratch.org(session)
        add_member(session, world.users["user"], other_id, "worker", True)
    expected = 200 if relation == "maintainer" else 403
    response = call(clients["user"], "PATCH", f"/api/organizations/{org_id}", other_slug,
                    {"name": "Renamed"})
    check(response, expected)


@pytest.mark.parametrize("actor", ["admin", "owner", "user"])
def test_missing_organization_is_404(clients: Clients, actor: str) -> None:
    for method in ("GET", "PATCH", "DELETE"):
        body = {"name": "x"} if method == "PATCH" else None
        check(call(clients[actor], method, f"/api/organizations/{MISSING_ID}", NO_CONTEXT,
                   body), 404)


@pytest.mark.parametrize(
    ("actor", "context", "expected"), CREATE_CASES, ids=[case_id(*c[:2]) for c in CREATE_CASES]
)
def test_create(
    clients: Clients, world: World, scratch: Scratch, actor: str, context: str | None,
    expected: int,
) -> None:
    slug = unique_name("new")
    scratch.org_slugs.append(slug)
    response = call(clients[actor], "POST", "/api/organizations", context, {"slug": slug})
    check(response, expected)
    if expected == 201:
        created = response.json()
        assert created["slug"] == slug and created["owner"]["id"] == world.users[actor]
        # the creator is its owner, so it can see and delete it
        check(call(clients[actor], "GET", f"/api/organizations/{created['id']}"), 200)


# Bad bodies: 400 with a JSON error, whoever may otherwise create or update.
BAD_CREATES: list[Any] = [
    {},
    {"slug": ""},
    {"slug": "has space"},
    {"slug": "x" * 17},
    {"slug": "iam"},  # taken
    {"slug": 5},
    {"slug": "fine1", "name": "x" * 65},
    {"slug": "fine2", "contact": "not an object"},
]


@pytest.mark.parametrize("body", BAD_CREATES, ids=[str(b) for b in BAD_CREATES])
def test_bad_create_is_400(clients: Clients, scratch: Scratch, body: Any) -> None:
    slug = body.get("slug")
    if isinstance(slug, str) and slug != "iam":
        scratch.org_slugs.append(slug)  # removed afterwards should it be created after all
    check(call(clients["user"], "POST", "/api/organizations", NO_CONTEXT, body), 400)


@pytest.mark.parametrize(
    "body", [{"slug": "iam2"}, {"slug": "a b"}, {"name": ["x"]}, {"description": 3}]
)
def test_bad_update_is_400(clients: Clients, world: World, body: Any) -> None:
    check(call(clients["owner"], "PATCH", f"/api/organizations/{world.orgs['iam']}",
               NO_CONTEXT, body), 400)

