"""Invitations: an inactive membership that the invitee accepts or declines."""

from __future__ import annotations

import secrets
from datetime import UTC, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, func, or_, select

from cvatcore.core.errors import NotFound, PermissionDenied, ValidationFailed
from cvatcore.core.iam import engine
from cvatcore.core.iam.roles import ORG_ROLES, has_org_role
from cvatcore.core.models import Invitation, Membership, Organization, User
from cvatcore.core.models.base import utcnow
from cvatcore.core.services.context import org_context, subject

if TYPE_CHECKING:
    from cvatcore.core.api.context import Ctx

EXPIRY = timedelta(days=7)  # CVAT's INVITATION_EXPIRY_DAYS


def is_expired(invitation: Invitation) -> bool:
    sent = invitation.sent_date
    sent = sent if sent.tzinfo else sent.replace(tzinfo=UTC)
    return sent + EXPIRY < utcnow()


def list_query(ctx: Ctx) -> Select[Any]:
    subj = subject(ctx)
    oc = org_context(ctx)
    stmt = select(Invitation).join(Membership, Invitation.membership_id == Membership.id)
    if oc.kind == "organization":
        stmt = stmt.where(Membership.organization_id == oc.org_id)
        if subj.is_admin or has_org_role(subj.org_role, "maintainer"):
            return stmt
    elif subj.is_admin:
        return stmt
    return stmt.where(or_(Invitation.owner_id == subj.user_id, Membership.user_id == subj.user_id))


def authorize(ctx: Ctx, invitation: Invitation, membership: Membership, scope: str) -> None:
    subj = subject(ctx, membership.organization_id)
    rels = set()
    if invitation.owner_id == subj.user_id:
        rels.add("owner")
    if membership.user_id == subj.user_id:
        rels.add("invitee")
    if not engine.allows("invitation", scope, subj, rels, in_org=subj.org_role is not None):
        raise PermissionDenied()


def get(ctx: Ctx, key: str, scope: str = "view") -> tuple[Invitation, Membership]:
    row = ctx.session.execute(
        select(Invitation, Membership)
        .join(Membership, Invitation.membership_id == Membership.id)
        .where(Invitation.key == key)
    ).first()
    if row is None:
        raise NotFound("Invitation not found.")
    authorize(ctx, row[0], row[1], scope)
    return row[0], row[1]


def create(ctx: Ctx, data: dict[str, Any]) -> Invitation:
    owner = ctx.require_user()
    oc = org_context(ctx)
    if oc.kind != "organization" or oc.org is None:
        raise ValidationFailed(
            {"organization": ["Choose an organization (X-Organization header or ?org=)."]}
        )
    role, email = data.get("role"), data.get("email")
    errors: dict[str, list[str]] = {}
    if role not in ORG_ROLES:
        errors["role"] = [f'"{role}" is not a valid choice.']
    if not isinstance(email, str) or "@" not in email:
        errors["email"] = ["Enter a valid email address."]
    if errors:
        raise ValidationFailed(errors)
    limits = {"role_below_maintainer": role in ("supervisor", "worker"),
              "role_not_owner": role != "owner"}
    if not engine.allows("invitation", "create", subject(ctx), set(), True, limits):
        raise PermissionDenied()
    invitee = ctx.session.scalar(select(User).where(func.lower(User.email) == email.lower()))
    if invitee is None:
        raise ValidationFailed.field("email", "No user is registered with this email address.")
    return _invite(ctx, owner, oc.org, invitee, role)


def _invite(ctx: Ctx, owner: User, org: Organization, invitee: User, role: str) -> Invitation:
    existing = ctx.session.scalar(
        select(Membership).where(
            Membership.user_id == invitee.id, Membership.organization_id == org.id
        )
    )
    if existing is not None:
        raise ValidationFailed.field(
            "email", "The user is already a member of, or invited to, this organization."
        )
    membership = Membership(user_id=invitee.id, organization_id=org.id, role=role)
    ctx.session.add(membership)
    ctx.session.flush()
    invitation = Invitation(
        key=secrets.token_urlsafe(48)[:64], owner_id=owner.id, membership_id=membership.id
    )
    ctx.session.add(invitation)
    ctx.session.flush()
    return invitation


def accept(ctx: Ctx, key: str) -> Organization:
    invitation, membership = get(ctx, key, "accept")
    if membership.is_active:
        raise ValidationFailed({"detail": "The invitation has already been accepted."})
    if is_expired(invitation):
        raise ValidationFailed({"detail": "The invitation has expired; ask for a new one."})
    membership.is_active = True
    membership.joined_date = utcnow()
    ctx.session.flush()
    org = ctx.session.get(Organization, membership.organization_id)
    assert org is not None
    return org


def decline(ctx: Ctx, key: str) -> None:
    invitation, membership = get(ctx, key, "accept")
    if membership.is_active:
        raise ValidationFailed({"detail": "The invitation has already been accepted."})
    ctx.session.delete(membership)
    ctx.session.flush()


def resend(ctx: Ctx, key: str) -> None:
    invitation, membership = get(ctx, key, "resend")
    if membership.is_active:
        raise ValidationFailed({"detail": "The invitation has already been accepted."})
    invitation.sent_date = utcnow()
    ctx.session.flush()


def delete(ctx: Ctx, key: str) -> None:
    invitation, membership = get(ctx, key, "delete")
    if membership.is_active:
        ctx.session.delete(invitation)  # the member stays; only the invitation goes
    else:
        ctx.session.delete(membership)
    ctx.session.flush()
