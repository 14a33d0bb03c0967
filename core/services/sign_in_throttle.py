"""The failed sign-in throttle: repeated wrong passwords for one user name, or from one
client address, lock sign-ins with a password out for a while.

Counted in the database (``sign_in_failures``), so that every replica of the server sees the
same failures; written only when a sign-in fails (and when a user name's failures are
forgotten after it signs in), read once per sign-in with a password. Sessions and tokens
never consult it. After ``limit`` failures within ``window`` a key is locked for
``lockout``, twice as long for each further lockout in a row, up to ``max_lockout``; a key
forgets its lockouts after ``max_lockout`` without failures.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from cvatcore.core.db.engine import Work
from cvatcore.core.db.fast_queries import FixedQuery
from cvatcore.core.models import SignInFailure
from cvatcore.core.models.base import as_utc


@dataclass(frozen=True)
class ThrottlePolicy:
    per_user: int = 5
    per_address: int = 30
    window: timedelta = timedelta(minutes=5)
    lockout: timedelta = timedelta(minutes=1)
    max_lockout: timedelta = timedelta(hours=1)

    @classmethod
    def from_settings(cls, auth: Any) -> ThrottlePolicy:
        """From the ``[auth]`` settings section."""
        return cls(
            per_user=auth.failed_sign_ins_per_user,
            per_address=auth.failed_sign_ins_per_address,
            window=timedelta(seconds=auth.failed_sign_in_window_seconds),
            lockout=timedelta(seconds=auth.sign_in_lockout_seconds),
            max_lockout=timedelta(seconds=auth.sign_in_max_lockout_seconds),
        )


def user_key(username: str) -> str:
    return hashlib.sha256(b"user\0" + username.encode("utf-8", "surrogatepass")).hexdigest()


def address_key(address: str) -> str:
    return hashlib.sha256(b"address\0" + address.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class ThrottleState:
    #: Seconds until a sign-in may be tried again (0: now).
    retry_after: int
    #: Whether the user name has failures on record (forgotten once it signs in).
    user_failures: bool


# Every sign-in with a password runs this: a FixedQuery, no ORM.
_LOOKUP = FixedQuery(
    select(SignInFailure.key_hash, SignInFailure.locked_until)
    .where(SignInFailure.key_hash.in_([bindparam("user"), bindparam("address")]))
)


def check(db: Work | Connection, username: str, address: str, now: datetime) -> ThrottleState:
    """Whether ``username`` may try a password from ``address`` now."""
    user = user_key(username)
    rows = _LOOKUP.all(db, {"user": user, "address": address_key(address)})
    retry_after, user_failures = 0, False
    for key, locked_until in rows:
        if key == user:
            user_failures = True
        if locked_until is not None and as_utc(locked_until) > now:
            wait = math.ceil((as_utc(locked_until) - now).total_seconds())
            retry_after = max(retry_after, wait)
    return ThrottleState(retry_after, user_failures)


def record_failure(
    session: Session, policy: ThrottlePolicy, username: str, address: str, now: datetime
) -> None:
    """Count one failed sign-in against the user name and the address (in a write
    transaction of its own: the failed request's own transaction is rolled back)."""
    for key, limit in ((user_key(username), policy.per_user),
                       (address_key(address), policy.per_address)):
        if limit <= 0:
            continue
        _insert_missing(session, key, now)
        row = session.execute(
            select(SignInFailure).where(SignInFailure.key_hash == key).with_for_update()
        ).scalar_one()
        _count(row, policy, limit, now)
    # Keys quiet for longer than anything they could still lock are forgotten.
    session.execute(
        delete(SignInFailure)
        .where(SignInFailure.last_at < now - policy.window - 2 * policy.max_lockout)
        .execution_options(synchronize_session=False)
    )


def _insert_missing(session: Session, key: str, now: datetime) -> None:
    """The key's row, made if missing; concurrent failures (other replicas) make one row."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(
        insert(SignInFailure)
        .values(key_hash=key, failures=0, first_at=now, last_at=now, lockouts=0)
        .on_conflict_do_nothing(index_elements=["key_hash"])
    )


def _count(row: SignInFailure, policy: ThrottlePolicy, limit: int, now: datetime) -> None:
    if row.locked_until is not None and as_utc(row.locked_until) > now:
        return  # tried while locked (a race with the check): no further count
    if now - as_utc(row.last_at) > policy.max_lockout:
        row.lockouts = 0  # quiet long enough: lockouts start over
    if row.failures == 0 or now - as_utc(row.first_at) > policy.window:
        row.failures, row.first_at = 0, now
    row.failures += 1
    row.last_at = now
    if row.failures >= limit:
        lockout = min(policy.max_lockout, policy.lockout * 2 ** row.lockouts)
        row.lockouts += 1
        row.locked_until = now + lockout
        row.failures = 0


def forget_user_failures(connection: Connection, username: str) -> None:
    """A user name signed in: its failures so far are forgotten (an address's are not, or
    one account of one's own would reset the count between guesses at others')."""
    connection.execute(delete(SignInFailure).where(SignInFailure.key_hash == user_key(username)))
