"""Projects, tasks, their segments and annotation jobs, and labels with attribute specs."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cvatcore.core.models.base import Base, utcnow


def _user_fk(index: bool = True) -> Any:
    return mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=index, default=None)


def _org_fk() -> Any:
    return mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True, default=None
    )


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(256))
    owner_id: Mapped[int | None] = _user_fk()
    assignee_id: Mapped[int | None] = _user_fk()
    assignee_updated_date: Mapped[datetime | None] = mapped_column(default=None)
    bug_tracker: Mapped[str] = mapped_column(String(2000), default="")
    status: Mapped[str] = mapped_column(String(32), default="annotation")
    organization_id: Mapped[int | None] = _org_fk()
    # "2d"/"3d", fixed by the first task with data; None until then (as CVAT).
    dimension: Mapped[str | None] = mapped_column(String(2), default=None)
    source_storage: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    target_storage: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    created_date: Mapped[datetime] = mapped_column(default=utcnow)
    updated_date: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class Task(Base):
    __tablename__ = "tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True, default=None
    )
    name: Mapped[str] = mapped_column(String(256))
    # "annotation" (images) or "interpolation" (video); set when data is attached.
    mode: Mapped[str] = mapped_column(String(32), default="")
    owner_id: Mapped[int | None] = _user_fk()
    assignee_id: Mapped[int | None] = _user_fk()
    assignee_updated_date: Mapped[datetime | None] = mapped_column(default=None)
    bug_tracker: Mapped[str] = mapped_column(String(2000), default="")
    overlap: Mapped[int | None] = mapped_column(default=None)
    segment_size: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(32), default="annotation")
    subset: Mapped[str] = mapped_column(String(64), default="")
    organization_id: Mapped[int | None] = _org_fk()
    dimension: Mapped[str] = mapped_column(String(2), default="2d")
    data_id: Mapped[int | None] = mapped_column(
        ForeignKey("task_data.id", ondelete="SET NULL"), index=True, default=None
    )
    source_storage: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    target_storage: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    created_date: Mapped[datetime] = mapped_column(default=utcnow)
    updated_date: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class Segment(Base):
    """A frame range (or list) of a task; each has one annotation job."""

    __tablename__ = "segments"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    start_frame: Mapped[int]
    stop_frame: Mapped[int]
    type: Mapped[str] = mapped_column(String(32), default="range")  # or "specific_frames"
    frames: Mapped[list[int] | None] = mapped_column(JSON, default=None)


class Job(Base):
    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    segment_id: Mapped[int] = mapped_column(
        ForeignKey("segments.id", ondelete="CASCADE"), index=True
    )
    # Denormalised from the segment: job lists filter and join by task on every request.
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    assignee_id: Mapped[int | None] = _user_fk()
    assignee_updated_date: Mapped[datetime | None] = mapped_column(default=None)
    status: Mapped[str] = mapped_column(String(32), default="annotation")
    stage: Mapped[str] = mapped_column(String(32), default="annotation")
    state: Mapped[str] = mapped_column(String(32), default="new")
    type: Mapped[str] = mapped_column(String(32), default="annotation")
    # The annotation version (LabeledData.version): bumped by every change of annotations.
    version: Mapped[int] = mapped_column(default=0)
    created_date: Mapped[datetime] = mapped_column(default=utcnow)
    updated_date: Mapped[datetime] = mapped_column(default=utcnow)


class Label(Base):
    __tablename__ = "labels"
    __table_args__ = (
        UniqueConstraint("task_id", "project_id", "parent_id", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int | None] = mapped_column(
        ForeignKey("tasks.id", ondelete="CASCADE"), index=True, default=None
    )
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True, default=None
    )
    # Skeleton points are sublabels of their skeleton.
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("labels.id", ondelete="CASCADE"), index=True, default=None
    )
    name: Mapped[str] = mapped_column(String(64))
    color: Mapped[str] = mapped_column(String(8), default="")
    type: Mapped[str] = mapped_column(String(32), default="any")
    svg: Mapped[str] = mapped_column(Text, default="")


class AttributeSpec(Base):
    __tablename__ = "attribute_specs"
    __table_args__ = (UniqueConstraint("label_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    label_id: Mapped[int] = mapped_column(ForeignKey("labels.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    mutable: Mapped[bool] = mapped_column(default=False)
    # "checkbox", "radio", "number", "text" or "select".
    input_type: Mapped[str] = mapped_column(String(16))
    default_value: Mapped[str] = mapped_column(String(128), default="")
    values: Mapped[list[str]] = mapped_column(JSON, default=list)
