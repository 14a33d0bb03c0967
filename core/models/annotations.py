"""Annotations of a job (tags, shapes, tracks with their shapes) and review issues.

Attribute values are kept on the row as JSON (``[{"spec_id": 1, "value": "x"}]``): they are
always read and written with their annotation, never on their own, so one row per value (as
CVAT has) would only multiply the rows to read.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cvatcore.core.models.base import Base, utcnow

Attributes = list[dict[str, Any]]


def _job_fk() -> Any:
    return mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))


def _label_fk() -> Any:
    return mapped_column(ForeignKey("labels.id", ondelete="CASCADE"), index=True)


class Tag(Base):
    __tablename__ = "annotation_tags"
    __table_args__ = (Index("ix_annotation_tags_job_frame", "job_id", "frame"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = _job_fk()
    label_id: Mapped[int] = _label_fk()
    frame: Mapped[int]
    group: Mapped[int | None] = mapped_column(default=0)
    source: Mapped[str] = mapped_column(String(16), default="manual")
    attributes: Mapped[Attributes] = mapped_column(JSON, default=list)


class Shape(Base):
    __tablename__ = "annotation_shapes"
    __table_args__ = (Index("ix_annotation_shapes_job_frame", "job_id", "frame"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = _job_fk()
    label_id: Mapped[int] = _label_fk()
    # Skeleton elements point at their skeleton shape.
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("annotation_shapes.id", ondelete="CASCADE"), index=True, default=None
    )
    frame: Mapped[int]
    group: Mapped[int | None] = mapped_column(default=0)
    source: Mapped[str] = mapped_column(String(16), default="manual")
    type: Mapped[str] = mapped_column(String(16))
    occluded: Mapped[bool] = mapped_column(default=False)
    outside: Mapped[bool] = mapped_column(default=False)
    z_order: Mapped[int] = mapped_column(default=0)
    rotation: Mapped[float] = mapped_column(default=0.0)
    points: Mapped[list[float]] = mapped_column(JSON, default=list)
    score: Mapped[float | None] = mapped_column(default=None)
    attributes: Mapped[Attributes] = mapped_column(JSON, default=list)


class Track(Base):
    __tablename__ = "annotation_tracks"
    __table_args__ = (Index("ix_annotation_tracks_job_frame", "job_id", "frame"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = _job_fk()
    label_id: Mapped[int] = _label_fk()
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("annotation_tracks.id", ondelete="CASCADE"), index=True, default=None
    )
    frame: Mapped[int]
    group: Mapped[int | None] = mapped_column(default=0)
    source: Mapped[str] = mapped_column(String(16), default="manual")
    attributes: Mapped[Attributes] = mapped_column(JSON, default=list)


class TrackedShape(Base):
    __tablename__ = "annotation_track_shapes"

    id: Mapped[int] = mapped_column(primary_key=True)
    track_id: Mapped[int] = mapped_column(
        ForeignKey("annotation_tracks.id", ondelete="CASCADE"), index=True
    )
    frame: Mapped[int]
    type: Mapped[str] = mapped_column(String(16))
    occluded: Mapped[bool] = mapped_column(default=False)
    outside: Mapped[bool] = mapped_column(default=False)
    z_order: Mapped[int] = mapped_column(default=0)
    rotation: Mapped[float] = mapped_column(default=0.0)
    points: Mapped[list[float]] = mapped_column(JSON, default=list)
    attributes: Mapped[Attributes] = mapped_column(JSON, default=list)


class Issue(Base):
    __tablename__ = "issues"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    frame: Mapped[int]
    position: Mapped[list[float]] = mapped_column(JSON, default=list)
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    resolved: Mapped[bool] = mapped_column(default=False)
    created_date: Mapped[datetime] = mapped_column(default=utcnow)
    updated_date: Mapped[datetime] = mapped_column(default=utcnow)


class Comment(Base):
    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"), index=True)
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    message: Mapped[str] = mapped_column(Text, default="")
    created_date: Mapped[datetime] = mapped_column(default=utcnow)
    updated_date: Mapped[datetime] = mapped_column(default=utcnow)
