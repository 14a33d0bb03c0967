"""Cloud storages attached by users (``/api/cloudstorages``) and their manifests."""

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cvatcore.core.models.base import Base, utcnow


class CloudStorage(Base):
    __tablename__ = "cloud_storages"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_type: Mapped[str] = mapped_column(String(20))
    resource: Mapped[str] = mapped_column(String(222))
    display_name: Mapped[str] = mapped_column(String(63))
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True, default=None
    )
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True, default=None
    )
    credentials_type: Mapped[str] = mapped_column(String(29))
    # Encrypted (core/secrets.py): a Fernet token of the credential fields. Never returned.
    credentials: Mapped[str | None] = mapped_column(Text, default=None)
    keyless: Mapped[bool] = mapped_column(default=False)
    specific_attributes: Mapped[str] = mapped_column(String(1024), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    created_date: Mapped[datetime] = mapped_column(default=utcnow)
    updated_date: Mapped[datetime] = mapped_column(default=utcnow)


class CloudStorageManifest(Base):
    __tablename__ = "cloud_storage_manifests"
    __table_args__ = (UniqueConstraint("cloud_storage_id", "filename"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cloud_storage_id: Mapped[int] = mapped_column(
        ForeignKey("cloud_storages.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(1024), default="manifest.jsonl")
