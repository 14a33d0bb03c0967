"""Sessions, login tokens and personal access tokens, and resolving them on each request.

Accepted, in this order: ``Authorization: Bearer <personal access token>``,
``Authorization: Token <key from /api/auth/login>``, ``Authorization: Basic``, and the
``sessionid`` cookie (whose unsafe requests must carry ``X-CSRFToken``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from cvatcore.core.errors import AuthenticationFailed, PermissionDenied
from cvatcore.core.models import AccessToken, AuthSession, User
from cvatcore.core.models.base import utcnow
from cvatcore.core.services.accounts import sign_in

if TYPE_CHECKING:
    from cvatcore.core.api.context import Ctx

SESSION_COOKIE = "sessionid"
CSRF_COOKIE = "csrftoken"
CSRF_HEADER = "x-csrftoken"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    return secrets.token_urlsafe(30)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def create_session(session: Session, user: User, lifetime: timedelta) -> tuple[str, str]:
    """A new session for ``user``: returns (session key, CSRF token)."""
    key, csrf = new_key(), secrets.token_hex(16)
    session.add(
        AuthSession(
            key_hash=key_hash(key), user_id=user.id, csrf_token=csrf,
            expires_at=utcnow() + lifetime,
        )
    )
    return key, csrf


def drop_session(session: Session, key: str) -> None:
    session.execute(delete(AuthSession).where(AuthSession.key_hash == key_hash(key)))


def find_session(session: Session, key: str) -> tuple[User, str] | None:
    """The user and CSRF token of a live session, in one query."""
    row = session.execute(
        select(User, AuthSession.csrf_token, AuthSession.expires_at)
        .join(AuthSession, AuthSession.user_id == User.id)
        .where(AuthSession.key_hash == key_hash(key))
    ).first()
    if row is None or _aware(row[2]) < utcnow() or not row[0].is_active:
        return None
    return row[0], row[1]


def create_access_token(
    session: Session, user: User, name: str, expiry: datetime | None, read_only: bool
) -> tuple[AccessToken, str]:
    value = new_key()
    token = AccessToken(
        name=name, owner_id=user.id, key_hash=key_hash(value), expiry_date=expiry,
        read_only=read_only,
    )
    session.add(token)
    session.flush()
    return token, value


def find_access_token(session: Session, value: str) -> tuple[User, AccessToken] | None:
    row = session.execute(
        select(User, AccessToken)
        .join(AccessToken, AccessToken.owner_id == User.id)
        .where(AccessToken.key_hash == key_hash(value))
    ).first()
    if row is None or not row[0].is_active:
        return None
    user, token = row
    if token.expiry_date is not None and _aware(token.expiry_date) < utcnow():
        return None
    now = utcnow()
    # Write the "last used" mark at most once a minute, not on every request.
    if token.last_used_date is None or now - _aware(token.last_used_date) > timedelta(minutes=1):
        token.last_used_date = now
    return user, token


def authenticate_request(ctx: Ctx) -> None:
    """Set ``ctx.user`` from the request's credentials; bad credentials are a 401."""
    header = ctx.request.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        scheme = scheme.lower()
        if scheme == "bearer":
            found = find_access_token(ctx.session, value.strip())
            if found is None:
                raise AuthenticationFailed("Invalid token.")
            ctx.user, token = found
            ctx.auth_method, ctx.read_only_token = "access_token", token.read_only
            if token.read_only and ctx.method not in SAFE_METHODS:
                raise PermissionDenied("This access token is read-only.")
            return
        if scheme == "token":
            found_session = find_session(ctx.session, value.strip())
            if found_session is None:
                raise AuthenticationFailed("Invalid token.")
            ctx.user, ctx.auth_method = found_session[0], "token"
            return
        if scheme == "basic":
            username, password = _basic(value)
            ctx.user = sign_in(ctx.session, ctx.state.auth_backends, username, password)
            ctx.auth_method = "basic"
            return
    key = ctx.request.cookies.get(SESSION_COOKIE)
    if key:
        found_session = find_session(ctx.session, key)
        if found_session is None:
            return  # a stale cookie is anonymous, as Django treats it
        ctx.user, ctx.csrf_token = found_session
        ctx.auth_method = "session"
        if ctx.method not in SAFE_METHODS:
            _check_csrf(ctx)


def _basic(value: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise AuthenticationFailed("Invalid basic header.") from None
    username, sep, password = decoded.partition(":")
    if not sep:
        raise AuthenticationFailed("Invalid basic header.")
    return username, password


def _check_csrf(ctx: Ctx) -> None:
    sent = ctx.request.headers.get(CSRF_HEADER, "")
    if not sent:
        raise PermissionDenied("CSRF Failed: CSRF token missing.")
    if not hmac.compare_digest(sent, ctx.csrf_token or ""):
        raise PermissionDenied("CSRF Failed: CSRF token incorrect.")
