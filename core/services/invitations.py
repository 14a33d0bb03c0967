"""Invitations: an inactive membership that the invitee accepts or declines."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, false, func, select

from cvatcore.core.bus import snapshot
from cvatcore.core.errors import NotFound, PermissionDenied, ValidationFailed
from cvatcore.core.iam import engine
from cvatcore.core.iam.roles import ORG_ROLES
from cvatcore.core.models import Invitation, Membership, Organization, User
from cvatcore.core.models.base import as_utc, utcnow
from cvatcore.core.services import changes
from cvatcore.core.services.accounts import EMAIL_RE
from cvatcore.core.services.context import context_to_create, org_context, subject

if TYPE_CHECKING:
    from cvatcore.core.services.caller import Caller

EXPIRY = timedelta(days=7)  # CVAT's INVITATION_EXPIRY_DAYS


def is_expired(invitation: Invitation) -> bool:
    return as_utc(invitation.sent_date) + EXPIRY < utcnow()


RELATION_SQL: engine.RelationSQL = {
    "owner": lambda s: Invitation.owner_id == s.user_id,
    "invitee": lambda s: Membership.user_id == s.user_id,
}


def _findable(caller: Caller) -> Select[Any]:
    """Invitations the request can reach at all: the ``view`` rows read in the request's own
    context, as CVAT filters InvitationViewSet's queryset for every action. Staff see their
    organization's invitations only when they ask in that organization; anything else is 404.
    """
    subj = subject(caller)
    oc = org_context(caller)
    in_org = oc.kind == "organization"
    stmt = (
        select(Invitation, Membership)
        .join(Membership, Invitation.membership_id == Membership.id)
        .where(engine.visible("invitation", subj, RELATION_SQL, in_org))
    )
    if in_org:
        stmt = stmt.where(Membership.organization_id == oc.org_id)
    return stmt


def list_query(caller: Caller) -> Select[Any]:
    stmt = _findable(caller).with_only_columns(Invitation)
    if org_context(caller).kind == "sandbox":
        # CVAT's sandbox filter keeps objects outside organizations; invitations never are.
        return stmt.where(false())
    return stmt


def authorize(caller: Caller, invitation: Invitation, membership: Membership, scope: str) -> None:
    """Check ``scope`` in the invitation's own organization, whatever the request's context."""
    subj = subject(caller, membership.organization_id)
    rels = set()
    if invitation.owner_id == subj.user_id:
        rels.add("owner")
    if membership.user_id == subj.user_id:
        rels.add("invitee")
    if not engine.allows("invitation", scope, subj, rels, in_org=True):
        raise PermissionDenied()


def get(caller: Caller, key: str, scope: str = "view") -> tuple[Invitation, Membership]:
    row = caller.session.execute(_findable(caller).where(Invitation.key == key)).first()
    if row is None:
        raise NotFound("Invitation not found.")
    authorize(caller, row[0], row[1], scope)
    return row[0], row[1]


def _create_limits(role: Any) -> dict[str, bool]:
    # As invitations.rego: a maintainer may invite any role but maintainer and owner, an owner
    # any but owner. An unknown role passes here and is refused (400) by validation next.
    return {
        "role_below_maintainer": role not in ("maintainer", "owner"),
        "role_not_owner": role != "owner",
    }


def create(caller: Caller, data: dict[str, Any]) -> Invitation:
    """Invite a registered user by email into the context organization.

    The permission is checked before the body is validated, as in CVAT: someone who may not
    invite gets 403 whatever they send.
    """
    owner = caller.require_user()
    role, email = data.get("role"), data.get("email")
    oc = context_to_create(caller, "invitation", _create_limits(role))
    if oc.kind != "organization" or oc.org is None:
        raise ValidationFailed(
            {"organization": ["Choose an organization (X-Organization header or ?org=)."]}
        )
    _check_new(role, email)
    invitee = caller.session.scalar(select(User).where(func.lower(User.email) == email.lower()))
    if invitee is None:
        raise ValidationFailed.field("email", "No user is registered with this email address.")
    return _invite(caller, owner, oc.org, invitee, role)


def _check_new(role: Any, email: Any) -> None:
    errors: dict[str, list[str]] = {}
    if not isinstance(role, str) or role not in ORG_ROLES:
        errors["role"] = [f"{role!r} is not a valid choice."]
    if not isinstance(email, str) or not EMAIL_RE.fullmatch(email):
        errors["email"] = ["Enter a valid email address."]
    if errors:
        raise ValidationFailed(errors)


def _invite(caller: Caller, owner: User, org: Organization, invitee: User, role: str) -> Invitation:
    existing = caller.session.scalar(
        select(Membership).where(
            Membership.user_id == invitee.id, Membership.organization_id == org.id
        )
    )
    if existing is not None:
        raise ValidationFailed.field(
            "email", "The user is already a member of, or invited to, this organization."
        )
    membership = Membership(user_id=invitee.id, organization_id=org.id, role=role)
    caller.session.add(membership)
    caller.session.flush()
    invitation = Invitation(
        key=secrets.token_urlsafe(48)[:64], owner_id=owner.id, membership_id=membership.id
    )
    caller.session.add(invitation)
    changes.created(caller, "invitation", invitation, org_id=org.id)
    return invitation


def accept(caller: Caller, key: str) -> Organization:
    invitation, membership = get(caller, key, "accept")
    if membership.is_active:
        raise ValidationFailed({"detail": "The invitation has already been accepted."})
    if is_expired(invitation):
        raise ValidationFailed({"detail": "The invitation has expired; ask for a new one."})
    before = snapshot(membership)
    membership.is_active = True
    membership.joined_date = utcnow()
    changes.updated(caller, "membership", membership, before, org_id=membership.organization_id)
    org = caller.session.get(Organization, membership.organization_id)
    assert org is not None
    return org


def decline(caller: Caller, key: str) -> None:
    invitation, membership = get(caller, key, "decline")
    if membership.is_active:
        raise ValidationFailed({"detail": "The invitation has already been accepted."})
    changes.deleted(caller, "invitation", invitation, org_id=membership.organization_id)
    caller.session.delete(membership)
    caller.session.flush()


def resend(caller: Caller, key: str) -> None:
    invitation, membership = get(caller, key, "resend")
    if membership.is_active:
        raise ValidationFailed({"detail": "The invitation has already been accepted."})
    invitation.sent_date = utcnow()
    caller.session.flush()


def delete(caller: Caller, key: str) -> None:
    invitation, membership = get(caller, key, "delete")
    changes.deleted(caller, "invitation", invitation, org_id=membership.organization_id)
    if membership.is_active:
        caller.session.delete(invitation)  # the member stays; only the invitation goes
    else:
        caller.session.delete(membership)
    caller.session.flush()
