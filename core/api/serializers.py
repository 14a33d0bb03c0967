"""Objects in CVAT's JSON shapes. Related users are fetched in one query per page."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Text, cast, inspect, select
from sqlalchemy.orm.util import identity_key

from cvatcore.core.api.context import Ctx
from cvatcore.core.api.responses import iso
from cvatcore.core.iam.roles import privilege_of
from cvatcore.core.models import AccessToken, Invitation, Membership, Organization, User
from cvatcore.core.services.accounts import privilege
from cvatcore.core.services.invitations import is_expired


def base_url(ctx: Ctx) -> str:
    return str(ctx.request.base_url).rstrip("/")


def basic_user(ctx: Ctx, user: User | None) -> dict[str, Any] | None:
    if user is None:
        return None
    return {
        "url": f"{base_url(ctx)}/api/users/{user.id}",
        "id": user.id,
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
    }


#: The user columns list pages read, in the order ``user_record`` takes them.
USER_FIELDS = (
    "id", "username", "first_name", "last_name", "email", "groups", "is_staff",
    "is_superuser", "is_active", "last_login", "date_joined",
)
# ``groups`` is read as its JSON text: a page holds few distinct values, decoded once each.
USER_COLUMNS = tuple(
    cast(User.groups, Text) if name == "groups" else getattr(User, name) for name in USER_FIELDS
)


@lru_cache(maxsize=256)
def _decoded_groups(text: str) -> tuple[str, ...]:
    return tuple(json.loads(text))


def user_record(base: str, values: Sequence[Any], full: bool) -> dict[str, Any]:
    """One user's JSON from its ``USER_FIELDS`` values, read by position: a page of 100
    users costs a fraction of what reading ORM attributes would."""
    (uid, username, first, last, email, groups, staff, superuser, active, login, joined) = values
    if isinstance(groups, str):
        groups = _decoded_groups(groups)
    data: dict[str, Any] = {
        "url": f"{base}/api/users/{uid}", "id": uid, "username": username,
        "first_name": first, "last_name": last,
    }
    if full:
        data.update(
            email=email,
            groups=list(groups or []),
            is_staff=staff,
            is_superuser=superuser,
            is_active=active,
            last_login=iso(login),
            date_joined=iso(joined),
            has_analytics_access=privilege_of(groups, superuser) in ("admin", "business"),
        )
    return data


def full_user(ctx: Ctx, user: User) -> dict[str, Any]:
    return user_record(base_url(ctx), [getattr(user, f) for f in USER_FIELDS], full=True)


def users_page(ctx: Ctx, rows: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
    """Rows of ``USER_COLUMNS``: full records for admins and for oneself, basic ones for
    everyone else (as CVAT)."""
    viewer = ctx.caller.require_user()
    admin = privilege(viewer) == "admin"
    base = base_url(ctx)
    return [user_record(base, row, admin or row[0] == viewer.id) for row in rows]


def users_by_id(ctx: Ctx, ids: Iterable[int | None]) -> dict[int, User]:
    """The users of ``ids`` by id: those the session holds already (often the caller, the
    owner of what it just made or changed) without a query, the rest in one."""
    session = ctx.caller.session
    wanted = {i for i in ids if i is not None}
    found: dict[int, User] = {}
    for user_id in wanted:
        held = session.identity_map.get(identity_key(User, user_id))
        if held is not None and not inspect(held).expired:
            found[user_id] = held
    missing = wanted - found.keys()
    if missing:
        found.update((u.id, u) for u in session.scalars(select(User).where(User.id.in_(missing))))
    return found


def organizations_page(ctx: Ctx, orgs: Sequence[Organization]) -> list[dict[str, Any]]:
    owners = users_by_id(ctx, (o.owner_id for o in orgs))
    return [organization(ctx, o, owners.get(o.owner_id or -1)) for o in orgs]


def organization(ctx: Ctx, org: Organization, owner: User | None = None) -> dict[str, Any]:
    if owner is None and org.owner_id is not None:
        owner = ctx.caller.session.get(User, org.owner_id)
    return {
        "id": org.id,
        "slug": org.slug,
        "name": org.name,
        "description": org.description,
        "created_date": iso(org.created_date),
        "updated_date": iso(org.updated_date),
        "contact": org.contact or {},
        "owner": basic_user(ctx, owner),
    }


def memberships_page(ctx: Ctx, rows: Sequence[Membership]) -> list[dict[str, Any]]:
    users = users_by_id(ctx, (m.user_id for m in rows))
    keys = dict(
        ctx.caller.session.execute(
            select(Invitation.membership_id, Invitation.key).where(
                Invitation.membership_id.in_([m.id for m in rows])
            )
        ).all()
    ) if rows else {}
    return [membership(ctx, m, users.get(m.user_id), keys.get(m.id)) for m in rows]


def membership(
    ctx: Ctx, m: Membership, user: User | None = None, invitation_key: str | None = None
) -> dict[str, Any]:
    user = user or ctx.caller.session.get(User, m.user_id)
    return {
        "id": m.id,
        "user": basic_user(ctx, user),
        "organization": m.organization_id,
        "is_active": m.is_active,
        "joined_date": iso(m.joined_date),
        "role": m.role,
        "invitation": invitation_key,
    }


def invitations_page(ctx: Ctx, rows: Sequence[Invitation]) -> list[dict[str, Any]]:
    members = {
        m.id: m
        for m in ctx.caller.session.scalars(
            select(Membership).where(Membership.id.in_([i.membership_id for i in rows]))
        )
    } if rows else {}
    orgs = {
        o.id: o
        for o in ctx.caller.session.scalars(
            select(Organization).where(
                Organization.id.in_({m.organization_id for m in members.values()})
            )
        )
    } if members else {}
    users = users_by_id(
        ctx, [i.owner_id for i in rows] + [m.user_id for m in members.values()]
    )
    result = []
    for inv in rows:
        m = members[inv.membership_id]
        result.append(
            invitation(ctx, inv, m, orgs[m.organization_id], users.get(inv.owner_id or -1),
                       users.get(m.user_id))
        )
    return result


def invitation(
    ctx: Ctx, inv: Invitation, m: Membership, org: Organization,
    owner: User | None, invitee: User | None,
) -> dict[str, Any]:
    return {
        "key": inv.key,
        "created_date": iso(inv.created_date),
        "owner": basic_user(ctx, owner),
        "role": m.role,
        "user": basic_user(ctx, invitee),
        "organization": org.id,
        "organization_info": {"id": org.id, "slug": org.slug, "name": org.name},
        "expired": is_expired(inv),
        "accepted": m.is_active,
    }


def access_token(ctx: Ctx, token: AccessToken, owner: User) -> dict[str, Any]:
    return {
        "id": token.id,
        "name": token.name,
        "created_date": iso(token.created_date),
        "updated_date": iso(token.updated_date),
        "expiry_date": iso(token.expiry_date),
        "last_used_date": iso(token.last_used_date),
        "read_only": token.read_only,
        "owner": basic_user(ctx, owner),
    }
