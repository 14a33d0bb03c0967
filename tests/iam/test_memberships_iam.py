"""``/api/memberships`` against CVAT's rules, over HTTP, on SQLite and PostgreSQL.

Expected outcomes are written out below from CVAT's table (``CVAT_MEMBERSHIPS_CSV``,
verbatim) and ``memberships.rego``; they are never computed by our engine. How CVAT reads
the rows (the CSV leaves out what the ``.rego`` adds about pending memberships):

- A membership is checked in its own organization, whatever the request's context.
- Owners and maintainers see every membership of their organization, pending ones too;
  other members see the active ones. A pending invitee is no member yet, not even of
  their own membership.
- Changing a role needs ``view`` and ``change:role``; both, like ``delete``, need the system
  role ``user``, and only the membership's current role counts: a maintainer may act on
  supervisors and workers, an owner on anyone but the owner, nobody on themselves. Anyone
  but the owner may leave (delete their own active membership; system role ``worker``).
- Lists: without a context an admin sees all, others their own active memberships; in an
  organization, what its members may view there; in the sandbox nothing (memberships always
  belong to an organization). A non-member asking inside an organization gets 403.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from cvatcore.core.models import Membership

from .support import (
    MISSING_ID,
    NO_CONTEXT,
    SANDBOX,
    WORLD_USERS,
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
)

CVAT_MEMBERSHIPS_CSV = "\n".join([  # cvat/apps/organizations/rules/tests/configs/, verbatim
    "Scope,Resource,Context,Ownership,Limit,Method,URL,Privilege,Membership",
    "list,Membership,Sandbox,N/A,,GET,/memberships,None,N/A",
    "list,Membership,Organization,N/A,,GET,/memberships,None,Worker",
    "view,Membership,Sandbox,None,,GET,/membership/{id},Admin,N/A",
    "view,Membership,Sandbox,Self,,GET,/membership/{id},None,N/A",
    'view,Membership,Organization,"None, Self",,GET,/membership/{id},None,Worker',
    'change:role,Membership,Organization,None,"resource[""role""] != ""owner""",'
    "PATCH,/membership/{id},User,Owner",
    'change:role,Membership,Organization,None,"resource[""role""] not in '
    '[""maintainer"", ""owner""]",PATCH,/membership/{id},User,Maintainer',
    'delete,Membership,Organization,None,"resource[""role""] != ""owner""",'
    "DELETE,/membership/{id},User,Owner",
    'delete,Membership,Organization,None,"resource[""role""] not in '
    '[""maintainer"", ""owner""]",DELETE,/membership/{id},User,Maintainer',
    'delete,Membership,Organization,Self,"resource[""role""] != ""owner""",'
    "DELETE,/membership/{id},Worker,Worker",
])

Key = tuple[str, str]  # (user, organization) of a world membership
IAM_ACTIVE: list[Key] = [("owner", "iam"), ("maintainer", "iam"), ("supervisor", "iam"),
                         ("member", "iam"), ("w_maintainer", "iam")]
IAM_ALL: list[Key] = [*IAM_ACTIVE, ("invitee", "iam"), ("invitee2", "iam")]
IAM2_ACTIVE: list[Key] = [("w_owner", "iam2"), ("member2", "iam2"), ("supervisor", "iam2")]
IAM2_ALL: list[Key] = [*IAM2_ACTIVE, ("invitee", "iam2")]
NOT_IN_IAM = ("business", "user", "worker", "w_owner", "member2", "invitee", "invitee2")

# actor -> memberships listed without a context: an admin all, others their own active ones
OWN_ACTIVE: dict[str, list[Key]] = {
    "admin": [*IAM_ALL, *IAM2_ALL],
    "owner": [("owner", "iam")],
    "maintainer": [("maintainer", "iam")],
    "supervisor": [("supervisor", "iam"), ("supervisor", "iam2")],
    "member": [("member", "iam")],
    "w_maintainer": [("w_maintainer", "iam")],
    "w_owner": [("w_owner", "iam2")],
    "member2": [("member2", "iam2")],
    "invitee": [],  # pending memberships are not listed to their invitee
    "invitee2": [],
    "business": [],
    "user": [],
    "worker": [],
}
# (actor, context, the memberships listed, or the status of the refusal)
LIST_CASES: list[tuple[str, str | None, list[Key] | int]] = [
    *[(actor, NO_CONTEXT, keys) for actor, keys in OWN_ACTIVE.items()],
    *[(actor, SANDBOX, []) for actor in OWN_ACTIVE],  # admin too
    *[(actor, "iam", IAM_ALL) for actor in ("admin", "owner", "maintainer", "w_maintainer")],
    ("supervisor", "iam", IAM_ACTIVE),
    ("member", "iam", IAM_ACTIVE),
    *[(actor, "iam", 403) for actor in NOT_IN_IAM],
    ("admin", "iam2", IAM2_ALL),
    ("w_owner", "iam2", IAM2_ALL),  # staff, even with system role worker
    ("supervisor", "iam2", IAM2_ACTIVE),
    ("member2", "iam2", IAM2_ACTIVE),
    ("owner", "iam2", 403),
]

# Retrieving world memberships of iam: an active worker's, the owner's, a pending invitee's.
VIEW_TARGETS: tuple[Key, ...] = (("member", "iam"), ("owner", "iam"), ("invitee", "iam"))
VIEW_TABLE: dict[str, tuple[int, int, int]] = {
    "admin": (200, 200, 200),
    "owner": (200, 200, 200),         # staff see pending memberships too
    "maintainer": (200, 200, 200),
    "w_maintainer": (200, 200, 200),  # view needs no system role
    "supervisor": (200, 200, 403),    # view,...,Organization,"None, Self",None,Worker: active
    "member": (200, 200, 403),
    "invitee": (403, 403, 403),       # pending: not a member, even of its own membership
    "w_owner": (403, 403, 403),
    "member2": (403, 403, 403),
    "business": (403, 403, 403),
    "user": (403, 403, 403),
    "worker": (403, 403, 403),
}
# Without a context, in the sandbox and in iam the answers are the same (a non-member is
# refused the iam context with the same 403).
VIEW_CASES = [
    (actor, target, context, status)
    for context in (NO_CONTEXT, SANDBOX, "iam")
    for actor, statuses in VIEW_TABLE.items()
    for target, status in zip(VIEW_TARGETS, statuses, strict=True)
] + [
    # the membership's organization decides, not the request's
    ("supervisor", ("member", "iam"), "iam2", 200),
    ("member2", ("member", "iam"), "iam2", 403),
]

# Changing roles and removing members, on a fresh organization. The actor is the world user
# named after its system role, with the row's role there ("pending": invited, not accepted;
# "none": no membership). Targets: the actor's own membership, the owner's, and a fresh
# member with the column's role ("pending": an invited worker). X: no such case.
X = None
TARGETS = ("self", "owner", "maintainer", "supervisor", "worker", "pending")
ACTOR_ROLES = ("owner", "maintainer", "supervisor", "worker", "pending", "none")
_ALL_403 = (403, 403, 403, 403, 403, 403)
_NO_SELF_403 = (X, 403, 403, 403, 403, 403)


def _admin(success: int) -> dict[str, tuple[int | None, ...]]:
    """An admin passes every check, on every membership that exists."""
    return {
        "owner": (success, X, success, success, success, success),
        **{role: (success,) * 6 for role in ("maintainer", "supervisor", "worker", "pending")},
        "none": (X, success, success, success, success, success),
    }


CHANGE_ROLE_USER: dict[str, tuple[int | None, ...]] = {
    # change:role,...,"resource[""role""] != ""owner""",...,User,Owner
    "owner": (403, X, 200, 200, 200, 200),
    # change:role,...,"resource[""role""] not in [""maintainer"", ""owner""]",...,User,Maintainer
    "maintainer": (403, 403, 403, 200, 200, 200),
    "supervisor": _ALL_403,
    "worker": _ALL_403,
    "pending": _ALL_403,
    "none": _NO_SELF_403,
}
CHANGE_ROLE_TABLE = {
    "admin": _admin(200),
    "business": CHANGE_ROLE_USER,
    "user": CHANGE_ROLE_USER,
    "worker": {  # the system role "worker" is below the User these rows need
        "owner": (403, X, 403, 403, 403, 403),
        **{role: _ALL_403 for role in ("maintainer", "supervisor", "worker", "pending")},
        "none": _NO_SELF_403,
    },
}
DELETE_USER: dict[str, tuple[int | None, ...]] = {
    "owner": (403, X, 204, 204, 204, 204),          # the owner cannot leave
    "maintainer": (204, 403, 403, 204, 204, 204),   # leaves (Self row); removes below it
    "supervisor": (204, 403, 403, 403, 403, 403),   # delete,...,Self,...,Worker,Worker
    "worker": (204, 403, 403, 403, 403, 403),
    "pending": _ALL_403,                            # not a member yet: cannot leave
    "none": _NO_SELF_403,
}
DELETE_TABLE = {
    "admin": _admin(204),
    "business": DELETE_USER,
    "user": DELETE_USER,
    "worker": {
        "owner": (403, X, 403, 403, 403, 403),
        "maintainer": (204, 403, 403, 403, 403, 403),  # leaving needs only Worker
        "supervisor": (204, 403, 403, 403, 403, 403),
        "worker": (204, 403, 403, 403, 403, 403),
        "pending": _ALL_403,
        "none": _NO_SELF_403,
    },
}


def _flatten(table: dict[str, dict[str, tuple[int | None, ...]]]) -> list[tuple[Any, ...]]:
    return [
        (privilege, role, target, status)
        for privilege, rows in table.items()
        for role in ACTOR_ROLES
        for target, status in zip(TARGETS, rows[role], strict=True)
        if status is not X
    ]


CHANGE_ROLE_CASES = _flatten(CHANGE_ROLE_TABLE)
DELETE_CASES = _flatten(DELETE_TABLE)
NEW_ROLE = {"owner": "maintainer", "maintainer": "worker", "supervisor": "worker",
            "worker": "supervisor"}


def _ids(world: World, keys: list[Key] | int) -> list[int] | int:
    return keys if isinstance(keys, int) else sorted(world.memberships[k] for k in keys)


@pytest.mark.parametrize(
    ("actor", "context", "expected"), LIST_CASES, ids=[case_id(*c[:2]) for c in LIST_CASES]
)
def test_list_shows_exactly_the_visible_memberships(
    clients: Clients, pristine_world: World, actor: str, context: str | None, expected: Any
) -> None:
    assert listed(clients[actor], "/api/memberships", context) == _ids(pristine_world, expected)


@pytest.mark.parametrize(
    ("actor", "target", "context", "expected"), VIEW_CASES,
    ids=[case_id(c[0], *c[1], c[2]) for c in VIEW_CASES],
)
def test_view(
    clients: Clients, world: World, actor: str, target: Key, context: str | None, expected: int
) -> None:
    membership_id = world.memberships[target]
    response = call(clients[actor], "GET", f"/api/memberships/{membership_id}", context)
    check(response, expected)
    if expected == 200:
        assert response.json()["id"] == membership_id


@pytest.mark.parametrize(("actor", "context"), [("admin", NO_CONTEXT), ("member", NO_CONTEXT),
                                                ("member", "iam")])
def test_missing_membership_is_404(clients: Clients, actor: str, context: str | None) -> None:
    url = f"/api/memberships/{MISSING_ID}"
    check(call(clients[actor], "GET", url, context), 404)
    check(call(clients[actor], "PATCH", url, context, {"role": "worker"}), 404)
    check(call(clients[actor], "DELETE", url, context), 404)


STORED_ROLE = {"pending": "worker"}  # a pending membership here is an invited worker


def _setup(session: Session, maker: Maker, world: World, privilege: str, role: str,
           target: str) -> tuple[int, str]:
    """A fresh organization where the world user ``privilege`` has ``role``; the id of the
    ``target`` membership there and its current role."""
    actor_id = world.users[privilege]
    owner_id = actor_id if role == "owner" else maker.user(session)
    org_id, _ = maker.bare_org(session, owner_id)
    ids = {"owner": add_member(session, owner_id, org_id, "owner", True)}
    if role == "owner":
        ids["self"] = ids["owner"]
    elif role != "none":
        ids["self"] = add_member(session, actor_id, org_id, STORED_ROLE.get(role, role),
                                 role != "pending")
    if target not in ids:
        ids[target] = add_member(session, maker.user(session), org_id,
                                 STORED_ROLE.get(target, target), target != "pending")
    current = role if target == "self" else target
    return ids[target], STORED_ROLE.get(current, current)


def _prepared(batch: Batch, world: World, name: str, cases: list[tuple[Any, ...]]
              ) -> dict[tuple[str, ...], tuple[int, str]]:
    return batch.get(name, lambda session, maker: {
        case[:3]: _setup(session, maker, world, *case[:3]) for case in cases
    })


def _scratch_setup(world: World, scratch: Scratch, role: str, target: str) -> int:
    with scratch.session() as session:
        return _setup(session, scratch, world, "user", role, target)[0]


@pytest.mark.parametrize(
    ("privilege", "role", "target", "expected"), CHANGE_ROLE_CASES,
    ids=[case_id(*c[:3]) for c in CHANGE_ROLE_CASES],
)
def test_change_role(
    clients: Clients, world: World, batch: Batch,
    privilege: str, role: str, target: str, expected: int,
) -> None:
    membership_id, current = _prepared(batch, world, "change", CHANGE_ROLE_CASES)[
        (privilege, role, target)
    ]
    new_role = NEW_ROLE[current]
    response = call(clients[privilege], "PATCH", f"/api/memberships/{membership_id}",
                    NO_CONTEXT, {"role": new_role})
    check(response, expected)
    if expected == 200:
        assert response.json()["role"] == new_role


@pytest.mark.parametrize(
    ("privilege", "role", "target", "expected"), DELETE_CASES,
    ids=[case_id(*c[:3]) for c in DELETE_CASES],
)
def test_delete(
    clients: Clients, world: World, batch: Batch,
    privilege: str, role: str, target: str, expected: int,
) -> None:
    membership_id, _ = _prepared(batch, world, "delete", DELETE_CASES)[(privilege, role, target)]
    url = f"/api/memberships/{membership_id}"
    check(call(clients[privilege], "DELETE", url, NO_CONTEXT), expected)
    if expected == 204:
        assert not batch.exists(Membership, membership_id)


def test_maintainer_may_promote_to_maintainer(
    clients: Clients, world: World, scratch: Scratch
) -> None:
    """memberships.rego looks at the current role only, not the one asked for."""
    membership_id = _scratch_setup(world, scratch, "maintainer", "worker")
    response = call(clients["user"], "PATCH", f"/api/memberships/{membership_id}",
                    NO_CONTEXT, {"role": "maintainer"})
    check(response, 200)
    assert response.json()["role"] == "maintainer"


@pytest.mark.parametrize(("role", "expected"), [("worker", 200), ("none", 403)])
def test_patch_without_role_needs_only_view(
    clients: Clients, world: World, scratch: Scratch, role: str, expected: int
) -> None:
    membership_id = _scratch_setup(world, scratch, role, "supervisor")
    check(call(clients["user"], "PATCH", f"/api/memberships/{membership_id}", NO_CONTEXT, {}),
          expected)


# (actor's role in a fresh organization, body, status): the permission is checked first
BAD_PATCHES: list[tuple[str, Any, int]] = [
    ("owner", {"role": "boss"}, 400),
    ("owner", {"role": 5}, 400),
    ("owner", {"role": None}, 400),
    # CVAT would let an owner (or an admin) make a second owner; we refuse it: an owner is
    # made when an organization is created, never by changing a role.
    ("owner", {"role": "owner"}, 400),
    ("owner", {"is_active": True}, 400),
    ("owner", {"user": 1}, 400),
    ("supervisor", {"role": "boss"}, 403),  # may not change roles at all
]


@pytest.mark.parametrize(("role", "body", "expected"), BAD_PATCHES,
                         ids=[f"{r}-{b}" for r, b, _ in BAD_PATCHES])
def test_bad_patch(
    clients: Clients, world: World, scratch: Scratch, role: str, body: Any, expected: int
) -> None:
    membership_id = _scratch_setup(world, scratch, role, "worker")
    check(call(clients["user"], "PATCH", f"/api/memberships/{membership_id}", NO_CONTEXT,
               body), expected)


def test_world_users_are_all_listed_somewhere() -> None:
    assert set(OWN_ACTIVE) == set(WORLD_USERS)
