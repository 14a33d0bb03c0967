"""A logical dump of the database: every table as JSON lines, readable by either dialect.

Logical rather than ``pg_dump``/``.backup`` files so that one archive restores on SQLite or
PostgreSQL alike (moving off the embedded default is a restore), and so that nothing outside
Python (client tools of the server's exact version) is needed. Rows are streamed in both
directions, never held in memory as a whole.

A table's lines: first ``{"table": name, "columns": [...], "kinds": [...]}``, then one JSON
array per row. ``kinds`` says how a value was written: ``datetime`` (ISO 8601, UTC), ``date``,
``bytes`` (base64), ``decimal`` (text) or ``plain`` (JSON as is).
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy import Connection

SKIPPED_TABLES = frozenset({"alembic_version"})
BATCH_ROWS = 1000


def _kind(column: sa.Column) -> str:
    try:
        python_type = column.type.python_type
    except NotImplementedError:
        return "plain"
    if issubclass(python_type, dt.datetime):
        return "datetime"
    if issubclass(python_type, dt.date):
        return "date"
    if issubclass(python_type, bytes):
        return "bytes"
    if issubclass(python_type, decimal.Decimal):
        return "decimal"
    return "plain"


def _encode(kind: str, value: Any) -> Any:
    if value is None:
        return None
    return base64.b64encode(value).decode("ascii") if kind == "bytes" else str(value)


def _decode(kind: str, value: Any) -> Any:
    if value is None or kind == "plain":
        return value
    if kind == "datetime":
        return dt.datetime.fromisoformat(value)
    if kind == "date":
        return dt.date.fromisoformat(value)
    if kind == "bytes":
        return base64.b64decode(value)
    return decimal.Decimal(value)


def reflect(conn: Connection) -> sa.MetaData:
    meta = sa.MetaData()
    meta.reflect(conn)
    return meta


def tables_in_order(meta: sa.MetaData) -> list[sa.Table]:
    """Tables with the ones others refer to first (the order rows can be inserted in)."""
    return [t for t in meta.sorted_tables if t.name not in SKIPPED_TABLES]


def dump_table(conn: Connection, table: sa.Table) -> Iterator[bytes]:
    """The table's header line, then one line per row, fetched in batches."""
    columns = list(table.columns)
    kinds = [_kind(c) for c in columns]
    header = {"table": table.name, "columns": [c.name for c in columns], "kinds": kinds}
    yield _line(header)
    # orjson writes dates and datetimes itself (naive ones as UTC); only these need help.
    special = [(i, k) for i, k in enumerate(kinds) if k in ("bytes", "decimal")]
    order = list(table.primary_key.columns) or columns[:1]
    result = conn.execution_options(stream_results=True, yield_per=BATCH_ROWS).execute(
        sa.select(*columns).order_by(*order))
    for row in result:
        values = list(row)
        for i, kind in special:
            values[i] = _encode(kind, values[i])
        yield _line(values)


def _line(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_NAIVE_UTC | orjson.OPT_APPEND_NEWLINE)


def load_table(conn: Connection, meta: sa.MetaData, lines: Iterable[bytes],
               on_rows: Callable[[int], None] = lambda n: None) -> tuple[str, int]:
    """Insert a dumped table's rows into the same-named table of ``meta``; returns
    (table, rows). Columns the target does not have are an error (restore the schema of the
    archive first); columns the archive does not have take their defaults."""
    it = iter(lines)
    header = orjson.loads(next(it))
    table = meta.tables.get(header["table"])
    if table is None:
        raise ValueError(f"the database has no table {header['table']!r}")
    missing = [c for c in header["columns"] if c not in table.columns]
    if missing:
        raise ValueError(f"table {table.name!r} has no column(s) {', '.join(missing)}")
    names, kinds = header["columns"], header["kinds"]
    count, batch = 0, []
    for raw in it:
        values = orjson.loads(raw)
        batch.append({n: _decode(k, v) for n, k, v in zip(names, kinds, values, strict=True)})
        if len(batch) >= BATCH_ROWS:
            conn.execute(table.insert(), batch)
            count += len(batch)
            on_rows(len(batch))
            batch = []
    if batch:
        conn.execute(table.insert(), batch)
        count += len(batch)
        on_rows(len(batch))
    return table.name, count


def reset_sequences(conn: Connection, meta: sa.MetaData) -> None:
    """After rows came in with their ids, PostgreSQL's sequences continue after the largest
    (SQLite's AUTOINCREMENT-less integer keys need nothing)."""
    if conn.dialect.name != "postgresql":
        return
    for table in tables_in_order(meta):
        for column in table.primary_key.columns:
            if not isinstance(column.type, sa.Integer):
                continue
            seq = conn.execute(sa.text("SELECT pg_get_serial_sequence(:t, :c)"),
                               {"t": table.name, "c": column.name}).scalar()
            if seq:
                conn.execute(sa.text(
                    f'SELECT setval(:s, COALESCE((SELECT max("{column.name}") '
                    f'FROM "{table.name}"), 0) + 1, false)'), {"s": seq})


def has_rows(conn: Connection, meta: sa.MetaData) -> list[str]:
    """Tables that hold at least one row."""
    return [t.name for t in tables_in_order(meta)
            if conn.execute(sa.select(sa.literal(1)).select_from(t).limit(1)).first()]
