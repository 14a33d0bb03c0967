"""Memberships: who belongs to which organization with which role."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, false, select

from cvatcore.core.bus import snapshot
from cvatcore.core.errors import NotFound, PermissionDenied, ValidationFailed
from cvatcore.core.iam import engine
from cvatcore.core.iam.roles import ORG_ROLES
from cvatcore.core.models import Membership
from cvatcore.core.services import changes
from cvatcore.core.services.context import org_context, subject

if TYPE_CHECKING:
    from cvatcore.core.services.caller import Caller

STAFF = ("owner", "maintainer")
# An owner is made when an organization is created, never by changing a role.
ASSIGNABLE_ROLES = tuple(r for r in ORG_ROLES if r != "owner")

RELATION_SQL: engine.RelationSQL = {"self": lambda s: Membership.user_id == s.user_id}
LIMIT_SQL: engine.RelationSQL = {"target_active": lambda s: Membership.is_active.is_(True)}


def list_query(caller: Caller) -> Select[Any]:
    """Memberships one may view: the table's ``view`` rows, read in the request's context."""
    subj = subject(caller)
    oc = org_context(caller)
    if oc.kind == "sandbox":
        # CVAT's sandbox filter keeps objects outside organizations; memberships never are.
        return select(Membership).where(false())
    in_org = oc.kind == "organization"
    stmt = select(Membership).where(
        engine.visible("membership", subj, RELATION_SQL, in_org, LIMIT_SQL)
    )
    if in_org:
        stmt = stmt.where(Membership.organization_id == oc.org_id)
    return stmt


def _limits(target: Membership) -> dict[str, bool]:
    # CVAT decides on the membership's current role only (memberships.rego never reads the
    # requested new role), so a maintainer may promote a worker to maintainer.
    return {
        "target_active": target.is_active,
        "target_below_maintainer": target.role not in STAFF,
        "target_not_owner": target.role != "owner",
    }


def authorize(caller: Caller, membership: Membership, scope: str) -> None:
    """Check ``scope`` in the membership's own organization, whatever the request's context."""
    subj = subject(caller, membership.organization_id)
    rels = {"self"} if membership.user_id == subj.user_id else set()
    if not engine.allows("membership", scope, subj, rels, True, _limits(membership)):
        raise PermissionDenied()


def _find(caller: Caller, membership_id: int) -> Membership:
    subject(caller)  # a request in an organization the user is not in fails here, with 403
    membership = caller.session.get(Membership, membership_id)
    if membership is None:
        raise NotFound("Membership not found.")
    return membership


def get(caller: Caller, membership_id: int, scope: str = "view") -> Membership:
    membership = _find(caller, membership_id)
    authorize(caller, membership, scope)
    return membership


def update(caller: Caller, membership_id: int, data: dict[str, Any]) -> Membership:
    """Change a member's role. As in CVAT, the caller needs ``view`` on the membership and,
    when a role is given, ``change:role``; both are checked before the value is validated."""
    membership = get(caller, membership_id)
    unknown = set(data) - {"role"}
    if unknown:
        raise ValidationFailed({f: ["This field cannot be changed."] for f in sorted(unknown)})
    if "role" not in data:
        return membership
    authorize(caller, membership, "change:role")
    role = data["role"]
    if not isinstance(role, str) or role not in ASSIGNABLE_ROLES:
        raise ValidationFailed.field(
            "role", f"{role!r} is not a valid choice; use {', '.join(ASSIGNABLE_ROLES)}."
        )
    before = snapshot(membership)
    membership.role = role
    changes.updated(caller, "membership", membership, before, org_id=membership.organization_id)
    return membership


def delete(caller: Caller, membership_id: int) -> None:
    """Remove a member, or leave. CVAT checks only ``delete`` here (no ``view``)."""
    membership = _find(caller, membership_id)
    authorize(caller, membership, "delete")
    changes.deleted(caller, "membership", membership, org_id=membership.organization_id)
    caller.session.delete(membership)
    caller.session.flush()
