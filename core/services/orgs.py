"""Organizations: create, view, update, delete, with CVAT's rules (``iam/rules.py``)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Select, or_, select

from cvatcore.core.bus import snapshot
from cvatcore.core.errors import NotFound, PermissionDenied, ValidationFailed
from cvatcore.core.iam import engine
from cvatcore.core.iam.engine import Subject
from cvatcore.core.iam.roles import ORG_ROLES
from cvatcore.core.models import Membership, Organization
from cvatcore.core.models.base import utcnow
from cvatcore.core.services import changes
from cvatcore.core.services.context import subject

if TYPE_CHECKING:
    from cvatcore.core.services.caller import Caller

SLUG_RE = re.compile(r"^[-a-zA-Z0-9_]{1,16}$")


def member_orgs(user_id: int, roles: tuple[str, ...] = ORG_ROLES) -> Select[Any]:
    """The ids of organizations where ``user_id`` is an active member with one of ``roles``."""
    return select(Membership.organization_id).where(
        Membership.user_id == user_id, Membership.is_active.is_(True), Membership.role.in_(roles)
    )


def _role_sql(role: str) -> Callable[[Subject], ColumnElement[bool]]:
    return lambda s: Organization.id.in_(member_orgs(s.user_id, (role,)))


def _owner_sql(s: Subject) -> ColumnElement[bool]:
    # CVAT's filter: active members, or the organization's owner even without a membership.
    return or_(Organization.owner_id == s.user_id, _role_sql("owner")(s))


RELATION_SQL: engine.RelationSQL = {
    **{role: _role_sql(role) for role in ORG_ROLES},
    "owner": _owner_sql,
}


def list_query(caller: Caller) -> Select[Any]:
    """Organizations one may view; the context does not narrow this list in CVAT
    (``OrganizationViewSet.iam_organization_field`` is None), it is only checked."""
    return select(Organization).where(visible_filter(subject(caller)))


def relations(subj: Subject, org: Organization, role: str | None) -> set[str]:
    """The user's role in ``org``, plus ``owner`` for the organization's owner."""
    rels = {role} if role else set()
    if org.owner_id == subj.user_id:
        rels.add("owner")
    return rels


def authorize(caller: Caller, org: Organization, scope: str) -> None:
    subj = subject(caller, org.id)
    if not engine.allows("organization", scope, subj, relations(subj, org, subj.org_role)):
        raise PermissionDenied()


def get(caller: Caller, org_id: int, scope: str = "view") -> Organization:
    """``org_id`` if the user may see it (else 404, as CVAT) and may do ``scope`` (else 403)."""
    stmt = select(Organization).where(
        Organization.id == org_id, visible_filter(subject(caller))
    )
    org = caller.session.scalar(stmt)
    if org is None:
        raise NotFound("Organization not found.")
    authorize(caller, org, scope)
    return org


def _validate(data: dict[str, Any], creating: bool) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}
    if "slug" in data or creating:
        slug = data.get("slug")
        if not isinstance(slug, str) or not SLUG_RE.fullmatch(slug):
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


def _check_slug_free(caller: Caller, slug: str, except_id: int | None = None) -> None:
    existing = caller.session.scalar(select(Organization.id).where(Organization.slug == slug))
    if existing is not None and existing != except_id:
        raise ValidationFailed.field("slug", "An organization with this slug already exists.")


def create(caller: Caller, data: dict[str, Any]) -> Organization:
    user = caller.require_user()
    if not engine.allows("organization", "create", subject(caller)):
        raise PermissionDenied()
    clean = _validate(data, creating=True)
    _check_slug_free(caller, clean["slug"])
    clean.setdefault("name", clean["slug"])
    org = Organization(owner_id=user.id, **clean)
    caller.session.add(org)
    caller.session.flush()
    caller.session.add(
        Membership(
            user_id=user.id, organization_id=org.id, role="owner", is_active=True,
            joined_date=utcnow(),
        )
    )
    changes.created(caller, "organization", org, org_id=org.id)
    return org


def update(caller: Caller, org_id: int, data: dict[str, Any]) -> Organization:
    org = get(caller, org_id, "update")
    clean = _validate(data, creating=False)
    if "slug" in clean:
        _check_slug_free(caller, clean["slug"], org.id)
    before = snapshot(org)
    for key, value in clean.items():
        setattr(org, key, value)
    org.updated_date = utcnow()
    changes.updated(caller, "organization", org, before, org_id=org.id)
    return org


def delete(caller: Caller, org_id: int) -> None:
    org = get(caller, org_id, "delete")
    changes.deleted(caller, "organization", org, org_id=org.id)
    caller.session.delete(org)
    caller.session.flush()


def visible_filter(subj: Subject) -> ColumnElement[bool]:
    return engine.visible("organization", subj, RELATION_SQL, False)
