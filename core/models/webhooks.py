"""Webhooks and their deliveries (CVAT's ``cvat/apps/webhooks/models.py``), plus the state
cvatcore needs for durable delivery: each delivery is an outbox row written in the change's
own transaction, with every attempt recorded."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cvatcore.core.models.base import Base, utcnow


class Webhook(Base):
    __tablename__ = "webhooks"
    __table_args__ = (
        # CVAT's constraint, checked by the service first (a 400, not CVAT's 500).
        CheckConstraint(
            "(type = 'project' AND project_id IS NOT NULL) OR "
            "(type = 'organization' AND project_id IS NULL AND organization_id IS NOT NULL)",
            name="project_or_organization",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    target_url: Mapped[str] = mapped_column(String(8192))
    description: Mapped[str] = mapped_column(String(128), default="")
    events: Mapped[str] = mapped_column(String(4096), default="")  # comma-joined, as CVAT
    type: Mapped[str] = mapped_column(String(16))
    content_type: Mapped[str] = mapped_column(String(64), default="application/json")
    # Encrypted (core/secrets.py); None when the webhook has no secret. Never returned.
    secret: Mapped[str | None] = mapped_column(Text, default=None)
    is_active: Mapped[bool] = mapped_column(default=True)
    enable_ssl: Mapped[bool] = mapped_column(default=True)
    # Why the server turned the webhook off (deliveries kept failing); "" otherwise.
    disabled_reason: Mapped[str] = mapped_column(Text, default="")
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True, default=None)
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True, default=None)
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True, default=None)
    # The background job that sends this webhook's pending deliveries, one at a time and in
    # order; None when nothing is pending (see services/webhooks_delivery.py).
    drain_job_id: Mapped[str | None] = mapped_column(String(255), default=None)
    # The ``seq`` of its newest delivery: each new one takes the next, under the row's lock.
    last_seq: Mapped[int] = mapped_column(default=0, server_default="0")
    created_date: Mapped[datetime] = mapped_column(default=utcnow)
    updated_date: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookDelivery(Base):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_pending", "webhook_id", "state", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[int] = mapped_column(
        ForeignKey("webhooks.id", ondelete="CASCADE"), index=True)
    # Its place among the webhook's deliveries, taken while the webhook's row is locked, so
    # that the order is the order of the commits (ids are not, on PostgreSQL: a sequence
    # hands them out before the lock). None for a ping, which is never queued.
    seq: Mapped[int | None] = mapped_column(default=None)
    event: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(default=None)
    redelivery: Mapped[bool] = mapped_column(default=False)
    changed_fields: Mapped[str] = mapped_column(String(4096), default="")
    request: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # the payload
    response: Mapped[str] = mapped_column(Text, default="")
    # pending -> delivered | failed
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_date: Mapped[datetime] = mapped_column(default=utcnow)
    updated_date: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookAttempt(Base):
    """One try at sending a delivery: what came back and how long it took."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column()
    status_code: Mapped[int | None] = mapped_column(default=None)
    # The start of the answer (headers and the first bytes of the body) or the error text.
    response_head: Mapped[str] = mapped_column(Text, default="")
    duration_ms: Mapped[int] = mapped_column(default=0)
    created_date: Mapped[datetime] = mapped_column(default=utcnow)
