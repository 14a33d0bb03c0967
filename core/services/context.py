"""The organization context of a request and the IAM subject it implies.

As CVAT: ``X-Organization: <slug>`` or ``?org=<slug>`` or ``?org_id=<id>``. An empty value
means the personal sandbox; none at all means "no context" (lists show everything visible).
An unknown organization is a 404, one the user is not a member of a 403 (admins excepted).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, select

from cvatcore.core.errors import NotFound, PermissionDenied, ValidationFailed
from cvatcore.core.iam.engine import Subject
from cvatcore.core.models import Membership, Organization
from cvatcore.core.services.accounts import privilege

if TYPE_CHECKING:
    from cvatcore.core.api.context import Ctx


@dataclass(frozen=True)
class OrgContext:
    kind: str  # "none", "sandbox" or "organization"
    org: Organization | None = None
    membership: Membership | None = None

    @property
    def org_id(self) -> int | None:
        return self.org.id if self.org is not None else None


def org_context(ctx: Ctx) -> OrgContext:
    cached = getattr(ctx, "_org_context", None)
    if cached is None:
        cached = _resolve(ctx)
        ctx._org_context = cached  # type: ignore[attr-defined]
    return cached


def _resolve(ctx: Ctx) -> OrgContext:
    header = ctx.request.headers.get("x-organization")
    slug = header if header is not None else ctx.query.get("org")
    org_id = ctx.query.get("org_id")
    if slug is None and org_id is None:
        return OrgContext("none")
    if not slug and not org_id:
        return OrgContext("sandbox")
    stmt = select(Organization)
    if slug:
        stmt = stmt.where(Organization.slug == slug)
    else:
        try:
            stmt = stmt.where(Organization.id == int(org_id or ""))
        except ValueError:
            raise ValidationFailed.field("org_id", "A valid integer is required.") from None
    org = ctx.session.scalar(stmt)
    if org is None:
        raise NotFound("The organization does not exist.")
    user = ctx.require_user()
    membership = membership_of(ctx, org.id)
    if membership is None and privilege(user) != "admin":
        raise PermissionDenied("You are not a member of this organization.")
    return OrgContext("organization", org, membership)


def narrow_to_context(stmt: Select[Any], org_column: Any, oc: OrgContext) -> Select[Any]:
    """``stmt`` narrowed to the request's context: the organization's rows, the sandbox's
    (no organization), or, with no context, unchanged (lists show everything visible)."""
    if oc.kind == "organization":
        return stmt.where(org_column == oc.org_id)
    if oc.kind == "sandbox":
        return stmt.where(org_column.is_(None))
    return stmt


def membership_of(ctx: Ctx, org_id: int) -> Membership | None:
    user = ctx.require_user()
    return ctx.session.scalar(
        select(Membership).where(
            Membership.organization_id == org_id,
            Membership.user_id == user.id,
            Membership.is_active.is_(True),
        )
    )


def subject(ctx: Ctx, org_id: int | None = None) -> Subject:
    """The IAM subject for the request, with the role held in ``org_id`` (or the context's)."""
    user = ctx.require_user()
    if org_id is None:
        oc = org_context(ctx)
        org_id, membership = oc.org_id, oc.membership
    else:
        oc = org_context(ctx)
        membership = oc.membership if oc.org_id == org_id else membership_of(ctx, org_id)
    role = membership.role if membership is not None else None
    return Subject(user_id=user.id, privilege=privilege(user), org_id=org_id, org_role=role)
