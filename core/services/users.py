"""Users as the API shows them: list, view, update, delete, with CVAT's rules."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, select

from cvatcore.core.errors import NotFound, PermissionDenied, ValidationFailed
from cvatcore.core.iam import engine
from cvatcore.core.iam.roles import SYSTEM_ROLES
from cvatcore.core.models import Membership, User
from cvatcore.core.services.accounts import EMAIL_RE, USERNAME_RE, find_user
from cvatcore.core.services.context import org_context, subject

if TYPE_CHECKING:
    from cvatcore.core.api.context import Ctx

SELF_FIELDS = {"first_name", "last_name", "email", "username"}
ADMIN_FIELDS = SELF_FIELDS | {"groups", "is_active", "is_staff", "is_superuser"}


def _org_members(org_id: int | None) -> Select[Any]:
    return select(Membership.user_id).where(
        Membership.organization_id == org_id, Membership.is_active.is_(True)
    )


def list_query(ctx: Ctx) -> Select[Any]:
    """Admins see everyone; in an organization, its members; otherwise only oneself."""
    subj = subject(ctx)
    oc = org_context(ctx)
    stmt = select(User)
    if oc.kind == "organization":
        return stmt.where(User.id.in_(_org_members(oc.org_id)))
    if subj.is_admin:
        return stmt
    return stmt.where(User.id == subj.user_id)


def get(ctx: Ctx, user_id: int, scope: str = "view") -> User:
    user = ctx.session.get(User, user_id)
    if user is None:
        raise NotFound("User not found.")
    subj = subject(ctx)
    oc = org_context(ctx)
    rels = {"self"} if user.id == subj.user_id else set()
    limits = {}
    if oc.kind == "organization":
        member = ctx.session.scalar(_org_members(oc.org_id).where(Membership.user_id == user.id))
        limits["target_in_org"] = member is not None
    if not engine.allows("user", scope, subj, rels, oc.kind == "organization", limits):
        raise PermissionDenied()
    return user


def update(ctx: Ctx, user_id: int, data: dict[str, Any]) -> User:
    user = get(ctx, user_id, "update")
    allowed = ADMIN_FIELDS if subject(ctx).is_admin else SELF_FIELDS
    refused = sorted(set(data) - allowed)
    if refused:
        raise ValidationFailed({f: ["You cannot change this field."] for f in refused})
    errors = _check(ctx, user, data)
    if errors:
        raise ValidationFailed(errors)
    for key, value in data.items():
        setattr(user, key, value)
    if "is_superuser" in data:
        user.is_staff = bool(data["is_superuser"])
    ctx.session.flush()
    return user


def _check(ctx: Ctx, user: User, data: dict[str, Any]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if "username" in data:
        name = data["username"]
        if not isinstance(name, str) or not USERNAME_RE.match(name):
            errors["username"] = ["Enter a valid username."]
        elif name != user.username and find_user(ctx.session, name) is not None:
            errors["username"] = ["A user with that username already exists."]
    if "email" in data and data["email"] and not EMAIL_RE.match(str(data["email"])):
        errors["email"] = ["Enter a valid email address."]
    for name in ("first_name", "last_name"):
        if name in data and not isinstance(data[name], str):
            errors[name] = ["Expected a string."]
    if "groups" in data:
        groups = data["groups"]
        if not isinstance(groups, list) or any(g not in SYSTEM_ROLES for g in groups):
            errors["groups"] = [f"Expected a list of: {', '.join(SYSTEM_ROLES)}."]
    for name in ("is_active", "is_staff", "is_superuser"):
        if name in data and not isinstance(data[name], bool):
            errors[name] = ["Must be a valid boolean."]
    return errors


def delete(ctx: Ctx, user_id: int) -> None:
    user = get(ctx, user_id, "delete")
    ctx.session.delete(user)
    ctx.session.flush()
