"""Users: creation, validation, sign-in through the auth-backend chain, and serialization."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cvatcore.core.bus import snapshot
from cvatcore.core.errors import AuthenticationFailed, ServiceUnavailable, ValidationFailed
from cvatcore.core.iam.roles import DEFAULT_GROUPS, SYSTEM_ROLES, privilege_of
from cvatcore.core.models import User
from cvatcore.core.models.base import utcnow
from cvatcore.core.services import changes
from cvatcore.core.services.passwords import hash_password, needs_rehash, verified_passwords
from cvatcore.hooks import AuthUnavailableError, Identity

if TYPE_CHECKING:
    from cvatcore.core.services.caller import Caller

USERNAME_RE = re.compile(r"^[\w.@+-]{1,150}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_LENGTH = 8
logger = logging.getLogger("cvatcore.accounts")


def validate_new_user(session: Session, username: str, email: str, password: str | None) -> None:
    errors: dict[str, list[str]] = {}
    if not USERNAME_RE.match(username or ""):
        errors["username"] = [
            "Enter a valid username: up to 150 letters, digits and @/./+/-/_ characters."
        ]
    elif find_user(session, username) is not None:
        errors["username"] = ["A user with that username already exists."]
    if email:
        if not EMAIL_RE.match(email):
            errors["email"] = ["Enter a valid email address."]
        elif session.scalar(select(User.id).where(func.lower(User.email) == email.lower())):
            errors["email"] = ["A user is already registered with this e-mail address."]
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        errors["password1"] = [
            f"This password is too short. It must contain at least {MIN_PASSWORD_LENGTH} "
            "characters."
        ]
    if errors:
        raise ValidationFailed(errors)


def create_user(
    caller: Caller,
    username: str,
    password: str | None,
    *,
    email: str = "",
    first_name: str = "",
    last_name: str = "",
    groups: list[str] | None = None,
    is_superuser: bool = False,
    created_via: str = "local",
) -> User:
    """Validate and add a user (publishing ``create:user``); a superuser gets the ``admin``
    role, as CVAT does."""
    session = caller.session
    validate_new_user(session, username, email, password)
    groups = list(groups if groups is not None else DEFAULT_GROUPS)
    unknown = [g for g in groups if g not in SYSTEM_ROLES]
    if unknown:
        raise ValidationFailed.field("groups", f"Unknown system roles: {', '.join(unknown)}.")
    if is_superuser and "admin" not in groups:
        groups.insert(0, "admin")
    user = User(
        username=username,
        password=hash_password(password) if password else None,
        email=email,
        first_name=first_name,
        last_name=last_name,
        groups=groups,
        is_superuser=is_superuser,
        is_staff=is_superuser,
        created_via=created_via,
    )
    session.add(user)
    session.flush()
    changes.created(caller, "user", user, org_id=None)
    return user


def find_user(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))


class AccountNeedsWrite(Exception):  # noqa: N818 - a signal to the caller, not an error
    """``sign_in(may_write=False)``: the credentials are good, but signing in would create or
    change the local account (a directory's first sign-in, changed groups or names). The
    caller signs in again in a transaction that may write."""


class LocalAccountStore:
    """The ``AccountStore`` the core lends to auth backends for one sign-in."""

    def __init__(self, session: Session, may_write: bool = True) -> None:
        self.session = session
        self.may_write = may_write

    def verify_local_password(self, username: str, password: str) -> Identity | None:
        # A name no account can have is never looked up (NUL bytes would upset PostgreSQL).
        user = find_user(self.session, username) if USERNAME_RE.match(username) else None
        stored = user.password if user is not None and user.is_active else None
        if not verified_passwords.verify(username, stored, password):
            return None
        assert user is not None and stored is not None
        # A hash made with older parameters is upgraded only where writing is allowed (a
        # sign-in at /api/auth/login); a read request never takes the write lock for it.
        if self.may_write and needs_rehash(stored):
            user.password = hash_password(password)
        return Identity(
            username=user.username,
            backend="local",
            email=user.email,
            first_name=user.first_name,
            last_name=user.last_name,
        )


def sign_in(caller: Caller, username: str, password: str, *, may_write: bool = True) -> User:
    """Ask each enabled auth backend in turn; the first identity signs the user in.

    Every refusal looks the same (401, no hint whether the user exists). A backend that is
    down is skipped; if none said yes and one was down, the answer is 503.

    Nothing is recorded about the sign-in itself (``record_login`` does that for an explicit
    sign-in, as CVAT sets ``last_login`` only at ``/api/auth/login``). With ``may_write``
    false nothing at all is written: an identity that would create or change the account
    raises ``AccountNeedsWrite`` instead.
    """
    if not username or not password:
        raise AuthenticationFailed("Unable to log in with provided credentials.")
    store = LocalAccountStore(caller.session, may_write)
    unavailable = False
    for backend in caller.state.auth_backends:
        try:
            identity = backend.authenticate(username, password, store)
        except AuthUnavailableError:
            unavailable = True
            continue
        if identity is not None:
            user = sync_identity(caller, identity, may_write)
            if user is not None and user.is_active:
                return user
    if unavailable:
        raise ServiceUnavailable("The sign-in directory is unavailable; try again later.")
    raise AuthenticationFailed("Unable to log in with provided credentials.")


def record_login(user: User) -> None:
    """An explicit sign-in (``/api/auth/login``): the only place ``last_login`` is set."""
    user.last_login = utcnow()


def sync_identity(caller: Caller, identity: Identity, may_write: bool = True) -> User | None:
    """Create or update the local user an identity stands for.

    Directory backends pass ``groups``; they replace the stored roles on every sign-in, so a
    user removed from a directory group loses the role at the next login.

    Returns ``None`` (the sign-in goes on to the next backend, and ends in the same 401) when
    a directory names an account that something else created: a person registered locally
    as ``admin`` must not be taken over by whoever is ``admin`` in LDAP.

    With ``may_write`` false, an identity that would create or change the account raises
    ``AccountNeedsWrite`` and leaves the session as it was. A new account publishes
    ``create:user``, a changed one ``update:user``; an unchanged one nothing.
    """
    session = caller.session
    user = find_user(session, identity.username)
    created = user is None
    if user is None:
        if not may_write:
            raise AccountNeedsWrite()
        user = User(username=identity.username, created_via=identity.backend, groups=[])
        session.add(user)
    elif identity.backend != "local" and user.created_via != identity.backend:
        # The local backend only vouches for accounts whose own password it checked.
        logger.warning(
            "sign-in refused: auth backend %r vouched for %r, but that account was created "
            "via %r", identity.backend, identity.username, user.created_via,
        )
        return None
    changed = _identity_changes(user, identity)
    if created or changed:
        if not may_write:
            raise AccountNeedsWrite()
        before = None if created else snapshot(user, changes.SECRET_FIELDS)
        for attr, value in changed.items():
            setattr(user, attr, value)
        session.flush()
        if before is None:  # a first sign-in through a directory makes the account
            changes.created(caller, "user", user, org_id=None)
        else:
            changes.updated(caller, "user", user, before, org_id=None)
    return user


def _identity_changes(user: User, identity: Identity) -> dict[str, Any]:
    """The attributes of ``user`` that ``identity`` changes (their new values)."""
    wanted: dict[str, Any] = {}
    for attr in ("email", "first_name", "last_name"):
        value = getattr(identity, attr)
        if value:
            wanted[attr] = value
    groups = user.groups
    if identity.groups is not None:
        groups = wanted["groups"] = (
            [g for g in SYSTEM_ROLES if g in identity.groups] or list(DEFAULT_GROUPS)
        )
    if identity.is_superuser is not None:
        wanted["is_superuser"] = wanted["is_staff"] = identity.is_superuser
    elif groups is not None and not groups:
        wanted["groups"] = list(DEFAULT_GROUPS)
    return {attr: value for attr, value in wanted.items() if getattr(user, attr) != value}


def privilege(user: User) -> str:
    return privilege_of(user.groups, user.is_superuser)
