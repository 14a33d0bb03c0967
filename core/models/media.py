"""A task's media: one ``TaskData`` row and one ``Frame`` row per image (or video frame meta)."""

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from cvatcore.core.models.base import Base, utcnow


class TaskData(Base):
    __tablename__ = "task_data"

    id: Mapped[int] = mapped_column(primary_key=True)
    chunk_size: Mapped[int | None] = mapped_column(default=None)
    size: Mapped[int] = mapped_column(default=0)  # frames after start/stop/step
    image_quality: Mapped[int] = mapped_column(default=70)
    start_frame: Mapped[int] = mapped_column(default=0)
    stop_frame: Mapped[int] = mapped_column(default=0)
    frame_filter: Mapped[str] = mapped_column(String(256), default="")
    compressed_chunk_type: Mapped[str] = mapped_column(String(32), default="imageset")
    original_chunk_type: Mapped[str] = mapped_column(String(32), default="imageset")
    storage_method: Mapped[str] = mapped_column(String(16), default="cache")
    storage: Mapped[str] = mapped_column(String(16), default="local")  # local/share/cloud_storage
    sorting_method: Mapped[str] = mapped_column(String(16), default="lexicographical")
    cloud_storage_id: Mapped[int | None] = mapped_column(default=None, index=True)
    media_type: Mapped[str] = mapped_column(String(16), default="image")  # or "video"
    # Where the media lives in the media store (a key prefix) and, for video, its file.
    media_prefix: Mapped[str] = mapped_column(String(1024), default="")
    video_path: Mapped[str | None] = mapped_column(String(1024), default=None)
    deleted_frames: Mapped[list[int]] = mapped_column(JSON, default=list)
    chunks_updated_date: Mapped[datetime] = mapped_column(default=utcnow)
    created_date: Mapped[datetime] = mapped_column(default=utcnow)


class Frame(Base):
    """One media frame of a task: an image's name and size, or a video frame's."""

    __tablename__ = "frames"
    __table_args__ = (Index("ix_frames_data_frame", "data_id", "frame", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    data_id: Mapped[int] = mapped_column(ForeignKey("task_data.id", ondelete="CASCADE"))
    frame: Mapped[int]
    path: Mapped[str] = mapped_column(String(1024))
    width: Mapped[int]
    height: Mapped[int]
    related_files: Mapped[int] = mapped_column(default=0)
