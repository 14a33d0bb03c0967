"""Built-in event sink ``sql``: CVAT's event columns in a table of the main database
(``analytics_events``), so the embedded default keeps and exports events with nothing else
installed. Each event id is stored once (a replayed batch adds nothing)."""

from __future__ import annotations

import operator
from collections.abc import Iterator
from datetime import UTC
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, select

from cvatcore.core.models import StoredEvent
from cvatcore.hooks import (
    EVENT_FIELDS,
    EventQuery,
    ProviderConfig,
    Register,
    event_timestamp,
    hookimpl,
)

TABLE = StoredEvent.__table__
_READ_CHUNK = 2000
#: The insert's columns: ``id``, then the event's in CVAT's order, which ``write_in``
#: converts in place: ``timestamp`` (at ``_AT``), then ``count``, then ``duration``.
_COLUMNS = ("id", *EVENT_FIELDS)
_AT = EVENT_FIELDS.index("timestamp")
assert EVENT_FIELDS[_AT + 1:_AT + 3] == ("count", "duration")
_FIELDS_OF = operator.itemgetter(*EVENT_FIELDS)


class SqlSinkConfig(ProviderConfig):
    #: Another database to keep events in (a SQLAlchemy URL; it needs the cvatcore tables);
    #: empty: the main database.
    url: str | None = None


class SqlSink:
    def __init__(self, config: SqlSinkConfig) -> None:
        self.config = config
        self.engine: Engine | None = create_engine(config.url) if config.url else None

    def use_main_database(self, engine: Engine) -> None:
        if self.engine is None:
            self.engine = engine

    def shares_database(self, engine: Engine) -> bool:
        """Whether this sink stores into ``engine``'s database (the drain then hands it its
        own transaction through ``write_in``)."""
        return self.engine is engine or (self.engine is not None
                                          and self.engine.url == engine.url)

    def write(self, events: list[dict[str, Any]]) -> None:
        if events:
            with self._engine().begin() as conn:
                self.write_in(conn, events, dedupe=True)

    def write_in(self, conn: Connection, events: list[dict[str, Any]],
                 dedupe: bool = False) -> None:
        """Insert the batch in ``conn``'s transaction. ``dedupe``: the table may hold some
        of these ids already (a replay); otherwise a plain insert, whose duplicate key
        would fail the whole batch, and the transaction with it.

        Rows go to the driver as tuples (``exec_driver_sql``): SQLAlchemy's per-row
        parameter handling cost more than the insert itself."""
        sqlite = conn.dialect.name == "sqlite"
        stamp = _sqlite_stamp if sqlite else event_timestamp
        rows: dict[str, tuple[Any, ...]] = {}
        for event in events:
            event_id = event.get("id")
            if not event_id:  # a hand-made record: its content is its id, maybe stored already
                event_id, dedupe = _content_id(event), True
            try:  # the core's records have every field: one C call takes them all
                values = _FIELDS_OF(event)
            except KeyError:
                values = tuple(event.get(name) for name in EVENT_FIELDS)
            rows[str(event_id)] = (str(event_id), *values[:_AT], stamp(values[_AT]),
                                   values[_AT + 1], values[_AT + 2] or 0, *values[_AT + 3:])
        if not rows:
            return
        # Other databases have no ON CONFLICT: there a replayed id fails the batch.
        conflict = (" ON CONFLICT (id) DO NOTHING"
                    if dedupe and conn.dialect.name in ("postgresql", "sqlite") else "")
        mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        sql = (f"INSERT INTO {TABLE.name} ({', '.join(_COLUMNS)}) "
               f"VALUES ({', '.join([mark] * len(_COLUMNS))}){conflict}")
        conn.exec_driver_sql(sql, list(rows.values()))

    def read(self, query: EventQuery) -> Iterator[dict[str, Any]]:
        """The matching events in timestamp order, fetched in chunks (keyset pagination)."""
        columns = [TABLE.c[name] for name in EVENT_FIELDS]
        stmt = select(*columns, TABLE.c.id).where(
            TABLE.c.timestamp >= query.start, TABLE.c.timestamp <= query.end)
        for name, value in query.ids().items():
            stmt = stmt.where(TABLE.c[name] == value)
        stmt = stmt.order_by(TABLE.c.timestamp, TABLE.c.id)
        after: tuple[Any, str] | None = None
        engine = self._engine()
        while True:
            page = stmt
            if after is not None:
                page = stmt.where((TABLE.c.timestamp > after[0]) | (
                    (TABLE.c.timestamp == after[0]) & (TABLE.c.id > after[1])))
            with engine.connect() as conn:
                rows = conn.execute(page.limit(_READ_CHUNK)).all()
            for row in rows:
                record = dict(zip(EVENT_FIELDS, row[:-1], strict=True))
                stamp = record["timestamp"]
                record["timestamp"] = stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
                yield record
            if len(rows) < _READ_CHUNK:
                return
            after = (rows[-1].timestamp, rows[-1].id)

    def _engine(self) -> Engine:
        if self.engine is None:
            raise RuntimeError("the sql event sink has no database (use_main_database)")
        return self.engine


def _sqlite_stamp(value: Any) -> str:
    """The text SQLAlchemy's SQLite ``DateTime`` stores (``2026-01-31 12:00:00.123000``,
    UTC), so that reads through the model parse it back; the core's own ``...T...Z``
    strings are cut into shape without parsing them."""
    if (isinstance(value, str) and len(value) == 24 and value[10] == "T" and value[-1] == "Z"
            and value[19] == "."):
        return f"{value[:10]} {value[11:23]}000"
    moment = event_timestamp(value).astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def _content_id(event: dict[str, Any]) -> str:
    """An id for a hand-made record without one: the same content gives the same id."""
    import hashlib
    import json

    text = json.dumps({k: event.get(k) for k in EVENT_FIELDS}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:36]


@hookimpl
def register_event_sinks(register: Register) -> None:
    register("sql", SqlSink, config_model=SqlSinkConfig,
             description="events in a table of the main database (exportable)")
