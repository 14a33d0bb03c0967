"""Background jobs: one table for all background work (``cvatcore.core.jobs``)."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cvatcore.core.models.base import Base, utcnow


class BackgroundJob(Base):
    """One unit of background work; CVAT's clients see it as ``/api/requests/{id}``."""

    __tablename__ = "background_jobs"
    __table_args__ = (Index("ix_background_jobs_claim", "status", "next_run_at"),)

    # The request id clients poll (CVAT's rq_id); also the idempotency key of the work.
    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))  # a registered job kind, "create:task"
    args: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # CVAT's ``operation``: type, target, project_id, task_id, job_id, format, function_id.
    operation: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    message: Mapped[str] = mapped_column(Text, default="")
    progress: Mapped[float | None] = mapped_column(default=None)
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True, default=None
    )
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), default=None
    )
    result_url: Mapped[str | None] = mapped_column(String(2048), default=None)
    result_id: Mapped[int | None] = mapped_column(default=None)
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=3)
    next_run_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    lease_owner: Mapped[str | None] = mapped_column(String(128), default=None)
    created_date: Mapped[datetime] = mapped_column(default=utcnow)
    started_date: Mapped[datetime | None] = mapped_column(default=None)
    finished_date: Mapped[datetime | None] = mapped_column(default=None)
    expiry_date: Mapped[datetime | None] = mapped_column(default=None)
