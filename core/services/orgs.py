"""Organizations: create, view, update, delete, with CVAT's rules (``iam/rules.py``)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Select, select

from cvatcore.core.errors import NotFound, PermissionDenied, ValidationFailed
from cvatcore.core.iam import engine
from cvatcore.core.iam.engine import Subject
from cvatcore.core.iam.roles import ORG_ROLES
from cvatcore.core.models import Membership, Organization
from cvatcore.core.models.base import utcnow
from cvatcore.core.services.context import org_context, subject

if TYPE_CHECKING:
    from cvatcore.core.api.context import Ctx

SLUG_RE = re.compile(r"^[-a-zA-Z0-9_]{1,16}$")


def member_orgs(user_id: int, roles: tuple[str, ...] = ORG_ROLES) -> Select[Any]:
    """The ids of organizations where ``user_id`` is an active member with one of ``roles``."""
    return select(Membership.organization_id).where(
        Membership.user_id == user_id, Membership.is_active.is_(True), Membership.role.in_(roles)
    )


def _relation_sql(role: str) -> Any:
    return lambda s: Organization.id.in_(member_orgs(s.user_id, (role,)))


RELATION_SQL = {role: _relation_sql(role) for role in ORG_ROLES}


def list_query(ctx: Ctx) -> Select[Any]:
    subj = subject(ctx)
    stmt = select(Organization).where(engine.visible("organization", subj, RELATION_SQL, False))
    oc = org_context(ctx)
    if oc.kind == "organization":
        stmt = stmt.where(Organization.id == oc.org_id)
    return stmt


def relations(subj: Subject, org: Organization, role: str | None) -> set[str]:
    return {role} if role else set()


def authorize(ctx: Ctx, org: Organization, scope: str) -> None:
    subj = subject(ctx, org.id)
    if not engine.allows("organization", scope, subj, relations(subj, org, subj.org_role)):
        raise PermissionDenied()


def get(ctx: Ctx, org_id: int, scope: str = "view") -> Organization:
    org = ctx.session.get(Organization, org_id)
    if org is None:
        raise NotFound("Organization not found.")
    authorize(ctx, org, scope)
    return org


def _validate(data: dict[str, Any], creating: bool) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}
    if "slug" in data or creating:
        slug = data.get("slug")
        if not isinstance(slug, str) or not SLUG_RE.match(slug):
            errors["slug"] = ["Enter a short name of 1-16 letters, digits, '-' or '_'."]
        clean["slug"] = slug
    for name, limit in (("name", 64), ("description", None)):
        if name in data:
            value = data[name]
            if not isinstance(value, str) or (limit and len(value) > limit):
                errors[name] = [f"Expected a string of at most {limit or 'any'} characters."]
            clean[name] = value
    if "contact" in data:
        if not isinstance(data["contact"], dict):
            errors["contact"] = ["Expected a JSON object."]
        clean["contact"] = data["contact"]
    if errors:
        raise ValidationFailed(errors)
    return clean


def _check_slug_free(ctx: Ctx, slug: str, except_id: int | None = None) -> None:
    existing = ctx.session.scalar(select(Organization.id).where(Organization.slug == slug))
    if existing is not None and existing != except_id:
        raise ValidationFailed.field("slug", "An organization with this slug already exists.")


def create(ctx: Ctx, data: dict[str, Any]) -> Organization:
    user = ctx.require_user()
    if not engine.allows("organization", "create", subject(ctx)):
        raise PermissionDenied()
    clean = _validate(data, creating=True)
    _check_slug_free(ctx, clean["slug"])
    clean.setdefault("name", clean["slug"])
    org = Organization(owner_id=user.id, **clean)
    ctx.session.add(org)
    ctx.session.flush()
    ctx.session.add(
        Membership(
            user_id=user.id, organization_id=org.id, role="owner", is_active=True,
            joined_date=utcnow(),
        )
    )
    ctx.session.flush()
    return org


def update(ctx: Ctx, org_id: int, data: dict[str, Any]) -> Organization:
    org = get(ctx, org_id, "update")
    clean = _validate(data, creating=False)
    if "slug" in clean:
        _check_slug_free(ctx, clean["slug"], org.id)
    for key, value in clean.items():
        setattr(org, key, value)
    org.updated_date = utcnow()
    ctx.session.flush()
    return org


def delete(ctx: Ctx, org_id: int) -> None:
    org = get(ctx, org_id, "delete")
    ctx.session.delete(org)
    ctx.session.flush()


def visible_filter(subj: Subject) -> ColumnElement[bool]:
    return engine.visible("organization", subj, RELATION_SQL, False)
