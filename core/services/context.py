"""The organization context of a caller and the IAM subject it implies.

The caller carries what the actor chose (for a request, the API layer reads CVAT's
``X-Organization: <slug>``, ``?org=<slug>`` or ``?org_id=<id>``): the personal sandbox, an
organization by slug or id, or no context at all (lists show everything visible). An unknown
organization is a 404, one the user is not a member of a 403 (admins excepted).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, select

from cvatcore.core.errors import NotFound, PermissionDenied
from cvatcore.core.iam import engine
from cvatcore.core.iam.engine import Subject
from cvatcore.core.iam.roles import privilege_of
from cvatcore.core.models import Membership, Organization
from cvatcore.core.services.caller import NO_CONTEXT, SANDBOX

if TYPE_CHECKING:
    from cvatcore.core.services.caller import Caller


@dataclass(frozen=True)
class OrgContext:
    kind: str  # "none", "sandbox" or "organization"
    org: Organization | None = None
    membership: Membership | None = None

    @property
    def org_id(self) -> int | None:
        return self.org.id if self.org is not None else None


def org_context(caller: Caller) -> OrgContext:
    """The caller's organization context, resolved and checked once per caller."""
    cached = caller.cache.get("org_context")
    if cached is None:
        cached = caller.cache["org_context"] = _resolve(caller)
    return cached


def _resolve(caller: Caller) -> OrgContext:
    chosen = caller.organization
    if chosen is NO_CONTEXT:
        return OrgContext("none")
    if chosen == SANDBOX:
        return OrgContext("sandbox")
    stmt = select(Organization)
    if isinstance(chosen, int):
        stmt = stmt.where(Organization.id == chosen)
    else:
        stmt = stmt.where(Organization.slug == chosen)
    org = caller.session.scalar(stmt)
    if org is None:
        raise NotFound("The organization does not exist.")
    if caller.is_system and caller.user is None:  # no one to check membership of
        return OrgContext("organization", org, None)
    user = caller.require_user()
    membership = membership_of(caller, org.id)
    if membership is None and privilege_of(user.groups, user.is_superuser) != "admin":
        raise PermissionDenied("You are not a member of this organization.")
    return OrgContext("organization", org, membership)


def outside_org(subj: Subject, org_id: int | None) -> bool:
    """Whether an object of organization ``org_id`` lies outside the subject's organizations
    (admins are in every one): CVAT answers as if it did not exist."""
    return org_id is not None and subj.org_role is None and not subj.is_admin


def context_to_create(caller: Caller, resource: str,
                      limits: dict[str, bool] | None = None) -> OrgContext:
    """The caller's context, once IAM lets them create a ``resource`` in it (else a 403).

    Checked before the body is validated, as CVAT does: someone who may not create gets a 403
    whatever they send."""
    oc = org_context(caller)
    if not engine.allows(resource, "create", subject(caller), set(), oc.kind == "organization",
                         limits):
        raise PermissionDenied()
    return oc


def narrow_to_context(stmt: Select[Any], org_column: Any, oc: OrgContext) -> Select[Any]:
    """``stmt`` narrowed to the request's context: the organization's rows, the sandbox's
    (no organization), or, with no context, unchanged (lists show everything visible)."""
    if oc.kind == "organization":
        return stmt.where(org_column == oc.org_id)
    if oc.kind == "sandbox":
        return stmt.where(org_column.is_(None))
    return stmt


def membership_of(caller: Caller, org_id: int) -> Membership | None:
    user = caller.require_user()
    return caller.session.scalar(
        select(Membership).where(
            Membership.organization_id == org_id,
            Membership.user_id == user.id,
            Membership.is_active.is_(True),
        )
    )


def subject(caller: Caller, org_id: int | None = None) -> Subject:
    """The IAM subject for the request, with the role held in ``org_id`` (or the context's)."""
    user = caller.require_user()
    if org_id is None:
        oc = org_context(caller)
        org_id, membership = oc.org_id, oc.membership
    else:
        oc = org_context(caller)
        membership = oc.membership if oc.org_id == org_id else membership_of(caller, org_id)
    role = membership.role if membership is not None else None
    return Subject(user_id=user.id, privilege=privilege_of(user.groups, user.is_superuser),
                   org_id=org_id, org_role=role)
