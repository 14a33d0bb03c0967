"""Organizations, memberships and invitations."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cvatcore.core.models.base import Base, utcnow


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(64), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    contact: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    created_date: Mapped[datetime] = mapped_column(default=utcnow)
    updated_date: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Membership(Base):
    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("user_id", "organization_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    # False until the invitation that created it is accepted.
    is_active: Mapped[bool] = mapped_column(default=False)
    joined_date: Mapped[datetime | None] = mapped_column(default=None)
    role: Mapped[str] = mapped_column(String(16))


class Invitation(Base):
    __tablename__ = "invitations"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_date: Mapped[datetime] = mapped_column(default=utcnow)
    sent_date: Mapped[datetime] = mapped_column(default=utcnow)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    membership_id: Mapped[int] = mapped_column(
        ForeignKey("memberships.id", ondelete="CASCADE"), unique=True
    )
