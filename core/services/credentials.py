"""Sessions, login tokens and personal access tokens: making them and looking them up.

Plain values in, users out: reading them from a request is ``core.api.authentication``'s
job. Looking a credential up writes nothing, so a request that only reads never takes the
database's write lock; the one thing recorded on use (an access token's "last used" date)
is written by ``record_token_use`` in its own short transaction.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, delete, inspect, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import instance_state, manager_of_class

from cvatcore.core.db.engine import Work
from cvatcore.core.db.fast_queries import FixedQuery
from cvatcore.core.models import AccessToken, AuthSession, User
from cvatcore.core.models.base import as_utc, utcnow

#: An access token's "last used" date is written at most this often: it tells its owner
#: whether the token is still in use, not how often.
TOKEN_USE_PRECISION = timedelta(minutes=5)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    """A session key or access token. Never one starting with "-": pasted on a command line
    (``cvat-cli profile create TOKEN``) it would be read as an option (1 key in 64 did)."""
    while (key := secrets.token_urlsafe(30)).startswith("-"):
        pass
    return key


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


_USER_BY_NAME = FixedQuery(
    select(*(User.__table__.c[name] for name in _USER_ATTRS.values()))
    .where(User.__table__.c.username == bindparam("username"))
)


def find_user_by_name(db: Work | Connection, username: str) -> User | None:
    """The account named ``username``, detached (see ``user_from_row``), in one query."""
    row = _USER_BY_NAME.first(db, {"username": username})
    return None if row is None else user_from_row(row)


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
        if found is None or as_utc(found[2]) < utcnow() or not found[0].is_active:
            return None
        return found[0], found[1]
    row = _SESSION_LOOKUP.first(db, params)
    if row is None or as_utc(row[-1]) < utcnow():
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
    if token.expiry_date is not None and as_utc(token.expiry_date) < utcnow():
        return None
    return user, token


def token_use_is_stale(token: AccessToken, now: datetime) -> bool:
    """Whether ``token``'s "last used" date is older than ``TOKEN_USE_PRECISION``."""
    last = token.last_used_date
    return last is None or now - as_utc(last) > TOKEN_USE_PRECISION


def record_token_use(connection: Connection, token_id: int, now: datetime) -> None:
    """Set the "last used" date, unless another request did within ``TOKEN_USE_PRECISION``."""
    connection.execute(
        update(AccessToken)
        .where(AccessToken.id == token_id)
        .where(or_(AccessToken.last_used_date.is_(None),
                   AccessToken.last_used_date < now - TOKEN_USE_PRECISION))
        .values(last_used_date=now)
    )
