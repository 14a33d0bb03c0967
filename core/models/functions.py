"""Native functions (``/api/functions``) and the annotation requests their agents serve.

A native function is metadata only: the model runs wherever its owner runs
``cvat-cli function run-agent``. An annotation request (AR) is one piece of work queued for
a function's agents; an agent leases it (``lease_until``), and a lease that runs out lets
another agent take it, so an agent that vanishes gives its work back.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cvatcore.core.models.base import Base, utcnow


class NativeFunction(Base):
    __tablename__ = "native_functions"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(256))
    kind: Mapped[str] = mapped_column(String(16))  # detector | interactor | tracker
    visibility: Mapped[str] = mapped_column(String(16), default="private")  # or public
    description: Mapped[str] = mapped_column(Text, default="")
    # What the client uploaded for its kind: labels_v2, interactor points, tracker shapes.
    spec: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True, default=None)
    created_date: Mapped[datetime] = mapped_column(default=utcnow)
    updated_date: Mapped[datetime] = mapped_column(default=utcnow)


class AgentRequest(Base):
    __tablename__ = "agent_requests"
    __table_args__ = (Index("ix_agent_requests_queue", "function_id", "category", "status"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    function_id: Mapped[int] = mapped_column(
        ForeignKey("native_functions.id", ondelete="CASCADE"))
    category: Mapped[str] = mapped_column(String(16))  # batch | interactive
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # the agent's ar_params
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    # The background job waiting for the result; deleting it (a cancelled run) drops the AR.
    job_id: Mapped[str | None] = mapped_column(
        ForeignKey("background_jobs.id", ondelete="CASCADE"), unique=True, default=None)
    # queued -> assigned -> completed | failed (an assigned one whose lease ran out is
    # taken again as if queued)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    agent_id: Mapped[str | None] = mapped_column(String(64), default=None)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    assignments: Mapped[int] = mapped_column(default=0)
    progress: Mapped[float] = mapped_column(default=0.0)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    exc_info: Mapped[str] = mapped_column(Text, default="")
    created_date: Mapped[datetime] = mapped_column(default=utcnow)
