"""``/api/invitations`` against CVAT's rules, over HTTP, on SQLite and PostgreSQL.

Expected outcomes are written out below from CVAT's table (``CVAT_INVITATIONS_CSV``,
verbatim) and ``invitations.rego``; they are never computed by our engine. How CVAT reads
the rows:

- "Owner" is who sent the invitation, "Invitee" whom it invites.
- ``InvitationViewSet`` filters its queryset for every action with the list filter, read in
  the request's context: without one (or in the sandbox) an admin finds every invitation and
  others those they sent or got; in an organization, its owner and maintainers with system
  role ``user`` find all of its invitations, other members those they sent or got. What a
  request cannot find is a 404. A non-member asking inside an organization gets 403.
- What it finds is then checked in the invitation's own organization: staff (``user``) may
  view, resend and delete; the sender may view, and resend and delete (``worker``); the
  invitee may view, accept and decline.
- The list in the sandbox is empty: invitations always belong to an organization.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from cvatcore.core.models import Invitation, Membership, User

from .support import (
    NO_CONTEXT,
    SANDBOX,
    WORLD_USERS,
    Batch,
    Clients,
    Maker,
    Scratch,
    World,
    add_invitation,
    add_member,
    call,
    case_id,
    check,
    listed,
)

CVAT_INVITATIONS_CSV = "\n".join([  # cvat/apps/organizations/rules/tests/configs/, verbatim
    "Scope,Resource,Context,Ownership,Limit,Method,URL,Privilege,Membership",
    "list,Invitation,Sandbox,N/A,,GET,/invitations,None,N/A",
    "list,Invitation,Organization,N/A,,GET,/invitations,None,Worker",
    'create,Invitation,Organization,N/A,"resource[""role""] not in [""maintainer"", '
    '""owner""]",POST,/invitations,User,Maintainer',
    'create,Invitation,Organization,N/A,"resource[""role""] != ""owner""",POST,/invitations,'
    "User,Owner",
    "view,Invitation,Sandbox,None,,GET,/invitations/{id},Admin,N/A",
    'view,Invitation,N/A,"Owner, Invitee",,GET,/invitations/{id},None,N/A',
    "view,Invitation,Organization,None,,GET,/invitations/{id},User,Maintainer",
    'resend,Invitation,Sandbox,"None, Invitee",,POST,/invitations/{id}/resend,Admin,N/A',
    "resend,Invitation,N/A,Owner,,POST,/invitations/{id}/resend,Worker,N/A",
    'resend,Invitation,Organization,"None, Invitee",,POST,/invitations/{id}/resend,User,'
    "Maintainer",
    'delete,Invitation,Sandbox,"None, Invitee",,DELETE,/invitations/{id},Admin,N/A',
    "delete,Invitation,N/A,Owner,,DELETE,/invitations/{id},Worker,N/A",
    'delete,Invitation,Organization,"None, Invitee",,DELETE,/invitations/{id},User,Maintainer',
    "accept,Invitation,N/A,None,,POST,/invitations/{id}/accept,Admin,N/A",
    "accept,Invitation,N/A,Invitee,,POST,/invitations/{id}/accept,None,N/A",
])

# actor -> invitations listed without a context: an admin all, others what they sent or got
OWN: dict[str, list[str]] = {
    "admin": ["inv_a", "inv_b", "inv_c"],
    "owner": ["inv_a"],
    "maintainer": ["inv_b"],
    "w_owner": ["inv_c"],
    "invitee": ["inv_a", "inv_c"],
    "invitee2": ["inv_b"],
    "supervisor": [],
    "member": [],
    "w_maintainer": [],
    "member2": [],
    "business": [],
    "user": [],
    "worker": [],
}
NOT_IN_IAM = ("business", "user", "worker", "w_owner", "member2", "invitee", "invitee2")
# (actor, context, the invitations listed, or the status of the refusal)
LIST_CASES: list[tuple[str, str | None, list[str] | int]] = [
    *[(actor, NO_CONTEXT, keys) for actor, keys in OWN.items()],
    *[(actor, SANDBOX, []) for actor in OWN],  # admin too
    ("admin", "iam", ["inv_a", "inv_b"]),
    ("owner", "iam", ["inv_a", "inv_b"]),       # staff with system role User: all of iam's
    ("maintainer", "iam", ["inv_a", "inv_b"]),
    ("w_maintainer", "iam", []),                # staff, but system role Worker: own only
    ("supervisor", "iam", []),
    ("member", "iam", []),
    *[(actor, "iam", 403) for actor in NOT_IN_IAM],
    ("admin", "iam2", ["inv_c"]),
    ("w_owner", "iam2", ["inv_c"]),             # its own, not as staff (system role Worker)
    ("supervisor", "iam2", []),
    ("member2", "iam2", []),
    ("owner", "iam2", 403),
]

# Acting on one invitation in a fresh organization. The actor is the world user named after
# its system role, with a role there ("pending": invited, "none": no membership) and a
# relation to the invitation: "inviter" (sent it), "invitee" (is invited by it) or "none".
# The request is made without a context or in that organization's context ("org").
SCOPES = ("view", "resend", "delete", "accept", "decline")
REQUESTS = {"view": ("GET", ""), "resend": ("POST", "/resend"), "delete": ("DELETE", ""),
            "accept": ("POST", "/accept"), "decline": ("POST", "/decline")}
SUCCESS = {"view": 200, "resend": 204, "delete": 204, "accept": 200, "decline": 204}
ORG = "org"
Combo = tuple[str, str]  # (role in the organization, relation to the invitation)

_SENT = (200, 204, 204, 403, 403)     # view and resend/delete ("Owner"), not accept/decline
_RECEIVED = (200, 403, 403, 200, 204)  # "Owner, Invitee" view; Invitee accepts and declines
_STAFF = (200, 204, 204, 403, 403)    # ...,Organization,"None, Invitee",...,User,Maintainer
_HIDDEN = (404, 404, 404, 404, 404)   # the request's filter does not find it
_OUTSIDER = (403, 403, 403, 403, 403)  # not a member: the organization context is refused

NO_CONTEXT_TABLE: dict[Combo, tuple[int, ...]] = {
    ("owner", "inviter"): _SENT,
    ("owner", "none"): _HIDDEN,  # staff find others' invitations only in the organization
    ("maintainer", "inviter"): _SENT,
    ("maintainer", "none"): _HIDDEN,
    ("supervisor", "inviter"): _SENT,
    ("supervisor", "none"): _HIDDEN,
    ("worker", "inviter"): _SENT,
    ("worker", "none"): _HIDDEN,
    ("none", "inviter"): _SENT,  # sent it, and has left since
    ("none", "none"): _HIDDEN,
    ("pending", "invitee"): _RECEIVED,
}
ORG_TABLE_USER: dict[Combo, tuple[int, ...]] = {
    ("owner", "inviter"): _SENT,
    ("owner", "none"): _STAFF,
    ("maintainer", "inviter"): _SENT,
    ("maintainer", "none"): _STAFF,
    ("supervisor", "inviter"): _SENT,
    ("supervisor", "none"): _HIDDEN,
    ("worker", "inviter"): _SENT,
    ("worker", "none"): _HIDDEN,
    ("none", "inviter"): _OUTSIDER,
    ("none", "none"): _OUTSIDER,
    ("pending", "invitee"): _OUTSIDER,  # invited is not a member yet
}
ORG_TABLE_WORKER = {
    **ORG_TABLE_USER,
    ("owner", "none"): _HIDDEN,  # staff rows need system role User
    ("maintainer", "none"): _HIDDEN,
}
ADMIN_TABLE = {combo: tuple(SUCCESS[s] for s in SCOPES) for combo in NO_CONTEXT_TABLE}
OBJECT_TABLE: dict[str, dict[str | None, dict[Combo, tuple[int, ...]]]] = {
    "admin": {NO_CONTEXT: ADMIN_TABLE, ORG: ADMIN_TABLE},  # an admin passes every check
    "business": {NO_CONTEXT: NO_CONTEXT_TABLE, ORG: ORG_TABLE_USER},
    "user": {NO_CONTEXT: NO_CONTEXT_TABLE, ORG: ORG_TABLE_USER},
    "worker": {NO_CONTEXT: NO_CONTEXT_TABLE, ORG: ORG_TABLE_WORKER},
}
OBJECT_CASES = [
    (scope, privilege, combo, context, status)
    for privilege, by_context in OBJECT_TABLE.items()
    for context, table in by_context.items()
    for combo, statuses in table.items()
    for scope, status in zip(SCOPES, statuses, strict=True)
]

# Inviting into a fresh organization, in its context: the actor's role there -> statuses
# by the role invited (worker, supervisor, maintainer, owner).
INVITED_ROLES = ("worker", "supervisor", "maintainer", "owner")
CREATE_USER: dict[str, tuple[int, ...]] = {
    "owner": (201, 201, 201, 403),       # create,...,"resource role != owner",User,Owner
    "maintainer": (201, 201, 403, 403),  # create,...,"not in [maintainer, owner]",User,Maintainer
    "supervisor": (403, 403, 403, 403),
    "worker": (403, 403, 403, 403),
    "none": (403, 403, 403, 403),        # not a member: the context is refused
}
CREATE_TABLE: dict[str, dict[str, tuple[int, ...]]] = {
    "admin": {role: (201, 201, 201, 201) for role in CREATE_USER},
    "business": CREATE_USER,
    "user": CREATE_USER,
    "worker": {role: (403, 403, 403, 403) for role in CREATE_USER},  # below User
}
CREATE_CASES = [
    (privilege, role, invited, status)
    for privilege, rows in CREATE_TABLE.items()
    for role, statuses in rows.items()
    for invited, status in zip(INVITED_ROLES, statuses, strict=True)
]
# Inviting outside any organization: the create rows need one (non-admins 403); an admin
# passes the check and is then told to choose an organization (400).
CREATE_OUTSIDE_CASES = [("admin", NO_CONTEXT, 400), ("admin", SANDBOX, 400),
                        ("owner", NO_CONTEXT, 403), ("owner", SANDBOX, 403)]


@pytest.mark.parametrize(
    ("actor", "context", "expected"), LIST_CASES, ids=[case_id(*c[:2]) for c in LIST_CASES]
)
def test_list_shows_exactly_the_visible_invitations(
    clients: Clients, pristine_world: World, actor: str, context: str | None, expected: Any
) -> None:
    want = expected if isinstance(expected, int) else sorted(
        pristine_world.invitations[name] for name in expected
    )
    assert listed(clients[actor], "/api/invitations", context, key="key") == want


def _org_with(session: Session, maker: Maker, world: World, privilege: str, role: str
              ) -> tuple[int, str]:
    """A fresh organization where the world user ``privilege`` has ``role`` (not "pending",
    which ``_setup`` makes); id and slug."""
    actor_id = world.users[privilege]
    owner_id = actor_id if role == "owner" else maker.user(session)
    org_id, slug = maker.bare_org(session, owner_id)
    add_member(session, owner_id, org_id, "owner", True)
    if role in ("maintainer", "supervisor", "worker"):
        add_member(session, actor_id, org_id, role, True)
    return org_id, slug


def _setup(session: Session, maker: Maker, world: World, privilege: str, combo: Combo
           ) -> tuple[str, str, int]:
    """A fresh organization and invitation as ``combo`` says: key, slug, membership id."""
    role, relation = combo
    actor_id = world.users[privilege]
    org_id, slug = _org_with(session, maker, world, privilege, role)
    invitee_id = actor_id if relation == "invitee" else maker.user(session)
    membership_id = add_member(session, invitee_id, org_id, "worker", False)
    # someone else's invitation comes from a user who is no member (any more)
    inviter_id = actor_id if relation == "inviter" else maker.user(session)
    return add_invitation(session, inviter_id, membership_id), slug, membership_id


def _scratch_setup(world: World, scratch: Scratch, combo: Combo) -> tuple[str, str, int]:
    with scratch.session() as session:
        return _setup(session, scratch, world, "user", combo)


@pytest.mark.parametrize(
    ("scope", "privilege", "combo", "context", "expected"), OBJECT_CASES,
    ids=[case_id(c[0], c[1], *c[2], c[3]) for c in OBJECT_CASES],
)
def test_object_actions(
    clients: Clients, world: World, batch: Batch,
    scope: str, privilege: str, combo: Combo, context: str | None, expected: int,
) -> None:
    prepared = batch.get("objects", lambda session, maker: {
        case[:4]: _setup(session, maker, world, case[1], case[2]) for case in OBJECT_CASES
    })
    key, slug, membership_id = prepared[(scope, privilege, combo, context)]
    method, suffix = REQUESTS[scope]
    response = call(clients[privilege], method, f"/api/invitations/{key}{suffix}",
                    slug if context == ORG else context)
    check(response, expected)
    if expected == SUCCESS[scope]:
        _check_effect(batch, scope, response.json() if expected == 200 else None, key, slug,
                      membership_id)


def _check_effect(maker: Maker, scope: str, body: Any, key: str, slug: str,
                  membership_id: int) -> None:
    if scope == "view":
        assert body["key"] == key
    elif scope == "accept":
        assert body == {"organization_slug": slug}
        with maker.session() as session:
            membership = session.get(Membership, membership_id)
            assert membership is not None and membership.is_active
    elif scope == "decline":
        assert not maker.exists(Membership, membership_id)
    elif scope == "delete":
        assert not maker.exists(Invitation, key)


@pytest.mark.parametrize(
    ("privilege", "role", "invited", "expected"), CREATE_CASES,
    ids=[case_id(*c[:3]) for c in CREATE_CASES],
)
def test_create(
    clients: Clients, world: World, batch: Batch,
    privilege: str, role: str, invited: str, expected: int,
) -> None:
    prepared = batch.get("create", lambda session, maker: {
        case[:3]: (*_org_with(session, maker, world, *case[:2]), _new_user(session, maker))
        for case in CREATE_CASES
    })
    org_id, slug, (invitee_id, email) = prepared[(privilege, role, invited)]
    response = call(clients[privilege], "POST", "/api/invitations", slug,
                    {"role": invited, "email": email})
    check(response, expected)
    if expected == 201:
        created = response.json()
        assert (created["organization"], created["user"]["id"], created["role"]) == (
            org_id, invitee_id, invited
        )
        assert created["owner"]["id"] == world.users[privilege]


def _new_user(session: Session, maker: Maker) -> tuple[int, str]:
    """A fresh user to invite: id and email."""
    user = session.get(User, maker.user(session))
    assert user is not None
    return user.id, user.email


@pytest.mark.parametrize(("actor", "context", "expected"), CREATE_OUTSIDE_CASES,
                         ids=[case_id(*c[:2]) for c in CREATE_OUTSIDE_CASES])
def test_create_outside_an_organization(
    clients: Clients, actor: str, context: str | None, expected: int
) -> None:
    body = {"role": "worker", "email": "user@example.com"}
    check(call(clients[actor], "POST", "/api/invitations", context, body), expected)


@pytest.mark.parametrize("actor", ["admin", "owner", "invitee"])
def test_missing_invitation_is_404(clients: Clients, actor: str) -> None:
    for scope in SCOPES:
        method, suffix = REQUESTS[scope]
        check(call(clients[actor], method, f"/api/invitations/no-such-key{suffix}"), 404)


# (the actor's role in a fresh organization, body) -> status; the permission comes first
BAD_CREATES: list[tuple[str, Any, int]] = [
    ("owner", {"role": "boss", "email": "user@example.com"}, 400),
    ("owner", {"role": ["worker"], "email": "user@example.com"}, 400),
    ("owner", {"role": "worker", "email": "not-an-email"}, 400),
    ("owner", {"role": "worker", "email": 5}, 400),
    ("owner", {"role": "worker"}, 400),
    ("owner", {"role": "worker", "email": "nobody@nowhere.example"}, 400),  # no such user
    ("owner", {"role": "worker", "email": "user@example.com"}, 400),  # the owner itself
    ("maintainer", {"role": "boss", "email": "user@example.com"}, 400),
    ("supervisor", {"role": "boss", "email": "user@example.com"}, 403),
]


@pytest.mark.parametrize(("role", "body", "expected"), BAD_CREATES,
                         ids=[f"{r}-{b}" for r, b, _ in BAD_CREATES])
def test_bad_create(
    clients: Clients, world: World, scratch: Scratch, role: str, body: Any, expected: int
) -> None:
    with scratch.session() as session:
        _, slug = _org_with(session, scratch, world, "user", role)
    check(call(clients["user"], "POST", "/api/invitations", slug, body), expected)


@pytest.mark.parametrize("scope", ["accept", "decline", "resend"])
def test_accepted_invitation_is_400(
    clients: Clients, world: World, scratch: Scratch, scope: str
) -> None:
    key, _, membership_id = _scratch_setup(world, scratch, ("pending", "invitee"))
    with scratch.session() as session:
        membership = session.get(Membership, membership_id)
        assert membership is not None
        membership.is_active = True
    method, suffix = REQUESTS[scope]
    # resend is the sender's; accept and decline the invitee's
    actor = clients["user"] if scope != "resend" else clients["admin"]
    check(call(actor, method, f"/api/invitations/{key}{suffix}"), 400)


def test_expired_invitation_cannot_be_accepted(
    clients: Clients, world: World, scratch: Scratch
) -> None:
    key, _, membership_id = _scratch_setup(world, scratch, ("pending", "invitee"))
    with scratch.session() as session:
        invitation = session.get(Invitation, key)
        assert invitation is not None
        invitation.sent_date = invitation.sent_date - timedelta(days=8)
    check(call(clients["user"], "POST", f"/api/invitations/{key}/accept"), 400)
    with scratch.session() as session:
        membership = session.get(Membership, membership_id)
        assert membership is not None and not membership.is_active


def test_world_users_are_all_listed_somewhere() -> None:
    assert set(OWN) == set(WORLD_USERS)
