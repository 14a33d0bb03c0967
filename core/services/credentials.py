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
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, bindparam, delete, inspect, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import instance_state, manager_of_class

from cvatcore.core.db.engine import FixedQuery, Work
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
    """A session key or access token. Never one starting with "-": pasted on a command line
    (``cvat-cli profile create TOKEN``) it would be read as an option (1 key in 64 did)."""
    while (key := secrets.token_urlsafe(30)).startswith("-"):
        pass
    return key


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


def _user_lookup(table: Any, key_column: str, user_column: str, *extra: str) -> Any:
    """``SELECT <every users column>, <extra columns> FROM <table> JOIN users`` by key hash."""
    users = User.__table__
    return (
        select(*(users.c[name] for name in _USER_ATTRS.values()), *(table.c[e] for e in extra))
        .select_from(table.join(users, users.c.id == table.c[user_column]))
        .where(table.c[key_column] == bindparam("key_hash"))
    )


# mapped attribute name -> column name, for every column of User, in table order
_USER_ATTRS = {prop.key: prop.columns[0].key for prop in inspect(User).column_attrs}
# Every request with a login token or a session cookie runs this: a FixedQuery, and no ORM.
_SESSION_LOOKUP = FixedQuery(
    _user_lookup(AuthSession.__table__, "key_hash", "user_id", "csrf_token", "expires_at")
)
_USER_MAPPER = inspect(User)
_USER_MANAGER = manager_of_class(User)
_USER_PK = [
    list(_USER_ATTRS).index(_USER_MAPPER.get_property_by_column(c).key)
    for c in _USER_MAPPER.primary_key
]


def user_from_row(row: Any) -> User:
    """A detached ``User`` from a row that starts with every users column, as the ORM would
    have loaded and then expunged it, without a session or an ORM query. Nothing is expired
    and no change is pending; ``Ctx.session`` adds it to the request's session, after which
    changes to it are flushed like any loaded object's."""
    user = _USER_MANAGER.new_instance()
    user.__dict__.update(zip(_USER_ATTRS, row, strict=False))
    instance_state(user).key = _USER_MAPPER.identity_key_from_primary_key(
        [row[i] for i in _USER_PK]
    )
    return user


def find_session(db: Work | Connection | Session, key: str) -> tuple[User, str] | None:
    """The user and CSRF token of a live session, in one query.

    With a request's ``Work`` (or a ``Connection``) the query skips the ORM and the user comes
    back detached (``Ctx`` attaches it to the request's session if one is made); with a
    ``Session`` the user is loaded into that session as usual."""
    params = {"key_hash": key_hash(key)}
    if isinstance(db, Session):
        found = db.execute(
            select(User, AuthSession.csrf_token, AuthSession.expires_at)
            .join(AuthSession, AuthSession.user_id == User.id)
            .where(AuthSession.key_hash == params["key_hash"])
        ).first()
        if found is None or _aware(found[2]) < utcnow() or not found[0].is_active:
            return None
        return found[0], found[1]
    row = _SESSION_LOOKUP.first(db, params)
    if row is None or _aware(row[-1]) < utcnow():
        return None
    user = user_from_row(row)
    if not user.is_active:
        return None
    return user, row[-2]


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
            found = find_access_token(ctx.caller.session, value.strip())
            if found is None:
                raise AuthenticationFailed("Invalid token.")
            ctx.user, token = found
            ctx.auth_method, ctx.read_only_token = "access_token", token.read_only
            if token.read_only and ctx.method not in SAFE_METHODS:
                raise PermissionDenied("This access token is read-only.")
            return
        if scheme == "token":
            found_session = find_session(ctx.work, value.strip())
            if found_session is None:
                raise AuthenticationFailed("Invalid token.")
            ctx.user, ctx.auth_method = found_session[0], "token"
            return
        if scheme == "basic":
            username, password = _basic(value)
            ctx.user = sign_in(ctx.caller, username, password)
            ctx.auth_method = "basic"
            return
    key = ctx.request.cookies.get(SESSION_COOKIE)
    if key:
        found_session = find_session(ctx.work, key)
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
