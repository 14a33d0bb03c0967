"""Users as the API shows them: list, view, update, delete, with CVAT's rules."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, exists, select

from cvatcore.core.bus import snapshot
from cvatcore.core.errors import NotFound, PermissionDenied, ValidationFailed
from cvatcore.core.iam import engine
from cvatcore.core.iam.roles import SYSTEM_ROLES
from cvatcore.core.models import Membership, User
from cvatcore.core.services import changes
from cvatcore.core.services.accounts import EMAIL_RE, USERNAME_RE, find_user
from cvatcore.core.services.context import org_context, subject

if TYPE_CHECKING:
    from cvatcore.core.services.caller import Caller

SELF_FIELDS = {"first_name", "last_name", "email", "username"}
ADMIN_FIELDS = SELF_FIELDS | {"groups", "is_active", "is_staff", "is_superuser"}


RELATION_SQL: engine.RelationSQL = {"self": lambda s: User.id == s.user_id}


def list_query(caller: Caller) -> Select[Any]:
    """The users the table lets one view, narrowed by the organization context as CVAT does.

    CVAT filters users on ``memberships__organization``: in an organization that keeps its
    members and invitees (pending memberships included); in the sandbox it keeps users who
    belong to no organization at all, a quirk we reproduce.
    """
    subj = subject(caller)
    oc = org_context(caller)
    stmt = select(User).where(
        engine.visible("user", subj, RELATION_SQL, oc.kind == "organization")
    )
    if oc.kind == "organization":
        invited = select(Membership.user_id).where(Membership.organization_id == oc.org_id)
        return stmt.where(User.id.in_(invited))
    if oc.kind == "sandbox":
        return stmt.where(~exists().where(Membership.user_id == User.id))
    return stmt


def get(caller: Caller, user_id: int, scope: str = "view") -> User:
    # The organization context is settled first: a non-member's request fails with 403
    # before anything is looked up, as CVAT's permission classes run before get_object().
    subj = subject(caller)
    user = caller.session.get(User, user_id)
    if user is None:
        raise NotFound("User not found.")
    rels = {"self"} if user.id == subj.user_id else set()
    in_org = org_context(caller).kind == "organization"
    if not engine.allows("user", scope, subj, rels, in_org):
        raise PermissionDenied()
    return user


def update(caller: Caller, user_id: int, data: dict[str, Any]) -> User:
    user = get(caller, user_id, "update")
    allowed = ADMIN_FIELDS if subject(caller).is_admin else SELF_FIELDS
    refused = sorted(set(data) - allowed)
    if refused:
        raise ValidationFailed({f: ["You cannot change this field."] for f in refused})
    errors = _check(caller, user, data)
    if errors:
        raise ValidationFailed(errors)
    before = snapshot(user)
    for key, value in data.items():
        setattr(user, key, value)
    if "is_superuser" in data:
        user.is_staff = bool(data["is_superuser"])
    changes.updated(caller, "user", user, before)
    return user


NAME_LIMIT = 150  # the column lengths; longer text would fail in PostgreSQL with a 500
EMAIL_LIMIT = 254


def _check(caller: Caller, user: User, data: dict[str, Any]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if "username" in data:
        errors.update(_check_username(caller, user, data["username"]))
    email = data.get("email", "")
    if not isinstance(email, str) or len(email) > EMAIL_LIMIT or (
        email and not EMAIL_RE.fullmatch(email)
    ):
        errors["email"] = ["Enter a valid email address."]
    for name in ("first_name", "last_name"):
        value = data.get(name, "")
        if not isinstance(value, str) or len(value) > NAME_LIMIT:
            errors[name] = [f"Expected a string of at most {NAME_LIMIT} characters."]
    if "groups" in data:
        groups = data["groups"]
        if not isinstance(groups, list) or any(g not in SYSTEM_ROLES for g in groups):
            errors["groups"] = [f"Expected a list of: {', '.join(SYSTEM_ROLES)}."]
    for name in ("is_active", "is_staff", "is_superuser"):
        if name in data and not isinstance(data[name], bool):
            errors[name] = ["Must be a valid boolean."]
    return errors


def _check_username(caller: Caller, user: User, name: Any) -> dict[str, list[str]]:
    if not isinstance(name, str) or not USERNAME_RE.fullmatch(name):
        return {"username": ["Enter a valid username."]}
    if name != user.username and find_user(caller.session, name) is not None:
        return {"username": ["A user with that username already exists."]}
    return {}


def delete(caller: Caller, user_id: int) -> None:
    user = get(caller, user_id, "delete")
    changes.deleted(caller, "user", user)
    caller.session.delete(user)
    caller.session.flush()
