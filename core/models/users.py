"""Users and the credentials that stand for them (sessions, personal access tokens)."""

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from cvatcore.core.models.base import Base, utcnow


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(150), unique=True)
    email: Mapped[str] = mapped_column(String(254), default="", index=True)
    first_name: Mapped[str] = mapped_column(String(150), default="")
    last_name: Mapped[str] = mapped_column(String(150), default="")
    # argon2id hash; NULL for accounts that only a directory (LDAP) can sign in.
    password: Mapped[str | None] = mapped_column(String(255), default=None)
    is_staff: Mapped[bool] = mapped_column(default=False)
    is_superuser: Mapped[bool] = mapped_column(default=False)
    is_active: Mapped[bool] = mapped_column(default=True)
    # CVAT system roles ("admin", "business", "user", "worker"); the highest one decides.
    groups: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_via: Mapped[str] = mapped_column(String(32), default="local")
    date_joined: Mapped[datetime] = mapped_column(default=utcnow)
    last_login: Mapped[datetime | None] = mapped_column(default=None)


class AuthSession(Base):
    """A signed-in browser or client: the ``sessionid`` cookie and the login ``Token`` key."""

    __tablename__ = "auth_sessions"

    # sha256 of the key: a leaked database does not hand out live sessions.
    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_date: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]


class AccessToken(Base):
    """A personal access token (``Authorization: Bearer``), CVAT's ``/api/auth/access_tokens``."""

    __tablename__ = "access_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    read_only: Mapped[bool] = mapped_column(default=False)
    created_date: Mapped[datetime] = mapped_column(default=utcnow)
    updated_date: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    expiry_date: Mapped[datetime | None] = mapped_column(default=None)
    last_used_date: Mapped[datetime | None] = mapped_column(default=None)


class SignInFailure(Base):
    """Recent failed sign-ins of one user name or one client address (the sign-in throttle).

    Written only when a sign-in fails, read when one is tried with a password; in the
    database so that every replica of the server counts the same failures."""

    __tablename__ = "sign_in_failures"

    # sha256 of "user\0<name>" or "address\0<address>": fixed size, and no mistyped
    # passwords (people type them in the user name field) kept in clear.
    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)  # in the window that began at first_at
    first_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    lockouts: Mapped[int] = mapped_column(default=0)  # in a row: each one lasts twice as long
    locked_until: Mapped[datetime | None] = mapped_column(default=None)
