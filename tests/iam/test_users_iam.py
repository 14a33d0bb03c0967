"""``/api/users`` against CVAT's rules, over HTTP, on SQLite and PostgreSQL.

Expected outcomes are written out below from CVAT's table (``CVAT_USERS_CSV``, verbatim) and
``users.rego``; they are never computed by our engine. How CVAT reads the rows:

- ``view`` in an organization: CVAT fills ``resource["membership"]["role"]`` with the
  *requester's* role in the context organization, so any member may look up any user there.
- A request in an organization the user is not a member of is refused (403) whatever it asks.
- Lists: without a context an admin sees everyone and others themselves; in an organization
  everyone sees its members and invitees (``memberships__organization``); in the sandbox the
  same filter keeps only users who belong to no organization at all.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from cvatcore.core.models import User
from cvatcore.hooks.testing import ApiClient

from .support import (
    MISSING_ID,
    NO_CONTEXT,
    SANDBOX,
    WORLD_USERS,
    Clients,
    Scratch,
    World,
    add_member,
    call,
    case_id,
    check,
    listed,
)

CVAT_USERS_CSV = """
Scope,Resource,Context,Ownership,Limit,Method,URL,Privilege,Membership
list,User,N/A,N/A,,GET,/users,None,N/A
list,User,Organization,N/A,,GET,/users,None,Worker
list,User,Organization,N/A,,GET,/users,None,N/A
view,User,Sandbox,None,,GET,/users/{id},Admin,N/A
view,User,N/A,Self,,GET,/users/{id},None,N/A
view,User,Organization,None,"resource[""membership""][""role""] != None",GET,/users/{id},None,Worker
update,User,N/A,None,,PATCH,/users/{id},Admin,N/A
update,User,N/A,Self,,PATCH,/users/{id},None,N/A
delete,User,N/A,None,,DELETE,/users/{id},Admin,N/A
delete,User,N/A,Self,,DELETE,/users/{id},None,N/A
"""

EVERYONE = sorted(WORLD_USERS)
OUTSIDERS = ["admin", "business", "user", "worker"]  # in no organization, not even invited
IAM_PEOPLE = ["owner", "maintainer", "supervisor", "member", "w_maintainer", "invitee",
              "invitee2"]
IAM2_PEOPLE = ["w_owner", "member2", "supervisor", "invitee"]
IAM_MEMBERS = ["owner", "maintainer", "supervisor", "member", "w_maintainer"]

# (actor, context, the users listed, or the status of the refusal)
LIST_CASES: list[tuple[str, str | None, list[str] | int]] = [
    # list,User,N/A: filter {} for an admin, id=self for everyone else
    ("admin", NO_CONTEXT, EVERYONE),
    *[(name, NO_CONTEXT, [name]) for name in
      ("business", "user", "worker", "owner", "supervisor", "w_maintainer", "invitee")],
    # the same filter, and only users in no organization (memberships__organization=None)
    ("admin", SANDBOX, OUTSIDERS),
    ("business", SANDBOX, ["business"]),
    ("user", SANDBOX, ["user"]),
    ("worker", SANDBOX, ["worker"]),
    ("owner", SANDBOX, []),
    ("w_owner", SANDBOX, []),
    ("invitee", SANDBOX, []),  # a pending invitation is a membership too
    # list,User,Organization,...,Worker: the organization's members and invitees
    *[(name, "iam", IAM_PEOPLE) for name in ["admin", *IAM_MEMBERS]],
    *[(name, "iam2", IAM2_PEOPLE) for name in ("admin", "w_owner", "member2", "supervisor")],
    *[(name, "iam", 403) for name in ("business", "user", "worker", "w_owner", "invitee")],
    ("owner", "iam2", 403),
]

# Retrieving a user. Targets: the actor itself, "worker" (in no organization) and "member"
# (an active worker of iam). {context: {actor: (self, worker, member)}}
VIEW_TARGETS = ("self", "worker", "member")
_VIEW_OUTSIDE_ORG = {
    "admin": (200, 200, 200),         # an admin passes every check
    "business": (200, 403, 403),      # view,User,N/A,Self
    "user": (200, 403, 403),
    "worker": (200, 200, 403),        # "worker" is itself
    "owner": (200, 403, 403),         # without an organization context, mates are strangers
    "member": (200, 403, 200),        # "member" is itself
    "w_maintainer": (200, 403, 403),
    "invitee": (200, 403, 403),
}
VIEW_TABLE: dict[str | None, dict[str, tuple[int, int, int]]] = {
    NO_CONTEXT: _VIEW_OUTSIDE_ORG,
    SANDBOX: _VIEW_OUTSIDE_ORG,
    "iam": {
        "admin": (200, 200, 200),
        **{name: (200, 200, 200) for name in IAM_MEMBERS},  # view,...,Organization,...,Worker
        "business": (403, 403, 403),  # not a member: the context itself is refused
        "user": (403, 403, 403),
        "w_owner": (403, 403, 403),
        "invitee": (403, 403, 403),   # invited, not yet a member
    },
}
VIEW_CASES = [
    (actor, target, context, status)
    for context, rows in VIEW_TABLE.items()
    for actor, statuses in rows.items()
    for target, status in zip(VIEW_TARGETS, statuses, strict=True)
]
VIEW_MISSING_CASES = [("admin", NO_CONTEXT), ("user", NO_CONTEXT), ("member", "iam")]

# Changing and deleting users. Actor "new:<system role>[:<role in iam>]" is a fresh user
# (the cases change it); other actors are the world's. Targets: "self", "stranger" (a fresh
# user in no organization), "mate" (a fresh worker of iam), "missing" (no such user).
# (actor, target, context, allowed); allowed is 200 for PATCH and 204 for DELETE.
WRITE_CASES: list[tuple[str, str, str | None, bool]] = [
    # update/delete,User,N/A,Self,...,None: everyone may change or delete themselves
    *[(f"new:{role}", "self", NO_CONTEXT, True)
      for role in ("admin", "business", "user", "worker")],
    ("new:user", "self", SANDBOX, True),
    ("new:worker:worker", "self", "iam", True),
    ("new:business:maintainer", "self", "iam", True),
    # update/delete,User,N/A,None,...,Admin: only an admin may touch someone else
    ("admin", "stranger", NO_CONTEXT, True),
    ("business", "stranger", NO_CONTEXT, False),
    ("user", "stranger", NO_CONTEXT, False),
    ("worker", "stranger", NO_CONTEXT, False),
    ("admin", "stranger", SANDBOX, True),
    ("user", "stranger", SANDBOX, False),
    ("admin", "mate", "iam", True),
    *[(name, "mate", "iam", False) for name in IAM_MEMBERS],  # no organization role helps
    ("member", "stranger", "iam", False),
]
MISSING_WRITE_CASES = [("admin", NO_CONTEXT), ("user", NO_CONTEXT), ("owner", "iam")]

Actor = tuple[int, ApiClient]


def _ids(world: World, names: list[str] | int) -> list[int] | int:
    return names if isinstance(names, int) else sorted(world.users[n] for n in names)


@pytest.mark.parametrize(
    ("actor", "context", "expected"), LIST_CASES, ids=[case_id(*c[:2]) for c in LIST_CASES]
)
def test_list_shows_exactly_the_visible_users(
    clients: Clients, world: World, actor: str, context: str | None, expected: Any
) -> None:
    assert listed(clients[actor], "/api/users", context) == _ids(world, expected)


@pytest.mark.parametrize(
    ("actor", "target", "context", "expected"), VIEW_CASES,
    ids=[case_id(*c[:3]) for c in VIEW_CASES],
)
def test_view(
    clients: Clients, world: World, actor: str, target: str, context: str | None, expected: int
) -> None:
    target_id = world.users[actor if target == "self" else target]
    response = call(clients[actor], "GET", f"/api/users/{target_id}", context)
    check(response, expected)
    if expected == 200:
        assert response.json()["id"] == target_id


@pytest.mark.parametrize(("actor", "context"), VIEW_MISSING_CASES,
                         ids=[case_id(*c) for c in VIEW_MISSING_CASES])
def test_view_missing_user_is_404(clients: Clients, actor: str, context: str | None) -> None:
    check(call(clients[actor], "GET", f"/api/users/{MISSING_ID}", context), 404)


def _actor(spec: str, clients: Clients, world: World, scratch: Scratch,
           make_actor: Callable[[str], Actor]) -> Actor:
    if not spec.startswith("new:"):
        return world.users[spec], clients[spec]
    _, privilege, *role = spec.split(":")
    user_id, client = make_actor(privilege)
    if role:
        with scratch.session() as session:
            add_member(session, user_id, world.orgs["iam"], role[0], True)
    return user_id, client


def _target(target: str, actor_id: int, world: World, scratch: Scratch) -> int:
    if target == "self":
        return actor_id
    with scratch.session() as session:
        user_id = scratch.user(session)
        if target == "mate":
            add_member(session, user_id, world.orgs["iam"], "worker", True)
    return user_id


@pytest.mark.parametrize(
    ("actor", "target", "context", "allowed"), WRITE_CASES,
    ids=[case_id(*c[:3]) for c in WRITE_CASES],
)
def test_update(
    clients: Clients, world: World, scratch: Scratch, make_actor: Callable[[str], Actor],
    actor: str, target: str, context: str | None, allowed: bool,
) -> None:
    actor_id, client = _actor(actor, clients, world, scratch, make_actor)
    target_id = _target(target, actor_id, world, scratch)
    response = call(client, "PATCH", f"/api/users/{target_id}", context,
                    {"first_name": "Changed"})
    check(response, 200 if allowed else 403)
    if allowed:
        assert response.json()["first_name"] == "Changed"


@pytest.mark.parametrize(
    ("actor", "target", "context", "allowed"), WRITE_CASES,
    ids=[case_id(*c[:3]) for c in WRITE_CASES],
)
def test_delete(
    clients: Clients, world: World, scratch: Scratch, make_actor: Callable[[str], Actor],
    actor: str, target: str, context: str | None, allowed: bool,
) -> None:
    actor_id, client = _actor(actor, clients, world, scratch, make_actor)
    target_id = _target(target, actor_id, world, scratch)
    check(call(client, "DELETE", f"/api/users/{target_id}", context), 204 if allowed else 403)
    if allowed:
        assert not scratch.exists(User, target_id)


@pytest.mark.parametrize(("actor", "context"), MISSING_WRITE_CASES,
                         ids=[case_id(*c) for c in MISSING_WRITE_CASES])
def test_write_missing_user_is_404(clients: Clients, actor: str, context: str | None) -> None:
    check(call(clients[actor], "PATCH", f"/api/users/{MISSING_ID}", context, {"last_name": "x"}),
          404)
    check(call(clients[actor], "DELETE", f"/api/users/{MISSING_ID}", context), 404)


# (system role of a fresh actor changing itself, body) -> 400 with a JSON error
BAD_UPDATES: list[tuple[str, dict[str, Any]]] = [
    ("user", {"username": "not a name"}),
    ("user", {"username": 5}),
    ("user", {"email": "not-an-email"}),
    ("user", {"email": None}),
    ("user", {"first_name": "x" * 151}),
    ("user", {"last_name": ["x"]}),
    ("user", {"groups": ["admin"]}),       # only an admin may change roles
    ("worker", {"is_superuser": True}),
    ("admin", {"groups": ["king"]}),
    ("admin", {"is_active": "yes"}),
]


@pytest.mark.parametrize(("privilege", "body"), BAD_UPDATES,
                         ids=[f"{p}-{next(iter(b))}" for p, b in BAD_UPDATES])
def test_bad_update_is_400(
    make_actor: Callable[[str], Actor], privilege: str, body: dict[str, Any]
) -> None:
    user_id, client = make_actor(privilege)
    check(call(client, "PATCH", f"/api/users/{user_id}", NO_CONTEXT, body), 400)


@pytest.mark.parametrize("raw", [b"[1, 2]", b"{not json", b'"text"'])
def test_malformed_body_is_400(make_actor: Callable[[str], Actor], raw: bytes) -> None:
    user_id, client = make_actor("user")
    response = client.patch(f"/api/users/{user_id}", content=raw,
                            headers={"Content-Type": "application/json"})
    check(response, 400)
