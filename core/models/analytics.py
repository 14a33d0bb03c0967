"""Analytics tables: the events outbox, each sink's delivery progress, and the events table of
the built-in ``sql`` sink (CVAT's ClickHouse columns, in the main database)."""

from datetime import datetime

from sqlalchemy import BigInteger, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cvatcore.core.models.base import Base, utcnow

# SQLite makes only an INTEGER PRIMARY KEY an auto-incrementing row id.
_SEQ = BigInteger().with_variant(Integer(), "sqlite")


class OutboxEvent(Base):
    """One analytics event, written in the transaction of the change it describes (or of the
    ``POST /api/events`` that sent it) and drained to every sink by background jobs."""

    __tablename__ = "analytics_outbox"

    seq: Mapped[int] = mapped_column(_SEQ, primary_key=True, autoincrement=True)
    #: The event's unique id: sinks drop an id they already hold, so a replay adds nothing.
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    created_date: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    record: Mapped[str] = mapped_column(Text)  # the CVAT event record, JSON


class SinkCursor(Base):
    """How far one sink got through the outbox: every row up to ``delivered_seq`` is in it."""

    __tablename__ = "analytics_sink_cursors"

    sink: Mapped[str] = mapped_column(String(64), primary_key=True)
    delivered_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    delivered_count: Mapped[int] = mapped_column(BigInteger, default=0)
    failures: Mapped[int] = mapped_column(default=0)  # consecutive failed attempts
    last_error: Mapped[str] = mapped_column(Text, default="")
    updated_date: Mapped[datetime] = mapped_column(default=utcnow)


class StoredEvent(Base):
    """The ``sql`` sink's table: CVAT's event columns plus the event id."""

    __tablename__ = "analytics_events"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    scope: Mapped[str] = mapped_column(String(64))
    obj_name: Mapped[str | None] = mapped_column(Text, default=None)
    obj_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    obj_val: Mapped[str | None] = mapped_column(Text, default=None)
    source: Mapped[str] = mapped_column(String(16))
    timestamp: Mapped[datetime] = mapped_column(index=True)
    count: Mapped[int | None] = mapped_column(default=None)
    duration: Mapped[int] = mapped_column(BigInteger, default=0)
    project_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    task_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    job_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    user_id: Mapped[int | None] = mapped_column(BigInteger, default=None, index=True)
    user_name: Mapped[str | None] = mapped_column(Text, default=None)
    user_email: Mapped[str | None] = mapped_column(Text, default=None)
    org_id: Mapped[int | None] = mapped_column(BigInteger, default=None, index=True)
    org_slug: Mapped[str | None] = mapped_column(Text, default=None)
    payload: Mapped[str | None] = mapped_column(Text, default=None)
