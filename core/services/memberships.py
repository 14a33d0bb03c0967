"""Memberships: who belongs to which organization with which role."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, false, or_, select

from cvatcore.core.errors import NotFound, PermissionDenied, ValidationFailed
from cvatcore.core.iam import engine
from cvatcore.core.iam.roles import ORG_ROLES
from cvatcore.core.models import Membership
from cvatcore.core.services.context import org_context, subject
from cvatcore.core.services.orgs import member_orgs

if TYPE_CHECKING:
    from cvatcore.core.api.context import Ctx

BELOW_MAINTAINER = ("supervisor", "worker")


def list_query(ctx: Ctx) -> Select[Any]:
    subj = subject(ctx)
    oc = org_context(ctx)
    stmt = select(Membership)
    if oc.kind == "sandbox":
        return stmt.where(false())  # memberships always belong to an organization
    if oc.kind == "organization":
        stmt = stmt.where(Membership.organization_id == oc.org_id)
    if not subj.is_admin:
        stmt = stmt.where(
            or_(
                Membership.user_id == subj.user_id,
                Membership.organization_id.in_(member_orgs(subj.user_id)),
            )
        )
    return stmt


def _limits(target: Membership, new_role: str | None) -> dict[str, bool]:
    roles = [target.role] + ([new_role] if new_role else [])
    return {
        "target_below_maintainer": all(r in BELOW_MAINTAINER for r in roles),
        "target_not_owner": all(r != "owner" for r in roles),
    }


def authorize(ctx: Ctx, membership: Membership, scope: str, new_role: str | None = None) -> None:
    subj = subject(ctx, membership.organization_id)
    rels = {"self"} if membership.user_id == subj.user_id else set()
    limits = _limits(membership, new_role)
    if not engine.allows("membership", scope, subj, rels, True, limits):
        raise PermissionDenied()


def get(ctx: Ctx, membership_id: int, scope: str = "view") -> Membership:
    membership = ctx.session.get(Membership, membership_id)
    if membership is None:
        raise NotFound("Membership not found.")
    authorize(ctx, membership, scope)
    return membership


def update(ctx: Ctx, membership_id: int, data: dict[str, Any]) -> Membership:
    membership = get(ctx, membership_id)
    unknown = set(data) - {"role"}
    if unknown:
        raise ValidationFailed({f: ["This field cannot be changed."] for f in sorted(unknown)})
    role = data.get("role")
    if role is None:
        return membership
    if role not in ORG_ROLES or role == "owner":
        raise ValidationFailed.field(
            "role", f'"{role}" is not a valid choice; use worker, supervisor or maintainer.'
        )
    if membership.role == "owner":
        raise PermissionDenied("The owner's role cannot be changed.")
    authorize(ctx, membership, "change:role", role)
    membership.role = role
    ctx.session.flush()
    return membership


def delete(ctx: Ctx, membership_id: int) -> None:
    membership = get(ctx, membership_id)
    if membership.role == "owner":
        raise PermissionDenied("The organization's owner cannot leave or be removed.")
    authorize(ctx, membership, "delete")
    ctx.session.delete(membership)
    ctx.session.flush()
