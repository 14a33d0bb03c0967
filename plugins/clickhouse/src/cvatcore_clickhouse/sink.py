"""The ``clickhouse`` event sink: CVAT's ``events`` table over HTTP (clickhouse-connect)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from pydantic import Field, SecretStr

from cvatcore.hooks import EVENT_FIELDS, EventQuery, ProviderConfig, event_timestamp
from cvatcore_clickhouse.ddl import statements

COLUMNS = (*EVENT_FIELDS, "event_id")


class ClickHouseConfig(ProviderConfig):
    """``[analytics.options.clickhouse]``: where CVAT's events table lives."""

    host: str = "127.0.0.1"
    port: int = Field(default=8123, gt=0, lt=65536)
    username: str = "default"
    password: SecretStr = SecretStr("")
    database: str = Field(default="cvat", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    table: str = Field(default="events", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    secure: bool = False
    connect_timeout: float = Field(default=5.0, gt=0)
    send_receive_timeout: float = Field(default=60.0, gt=0)


class ClickHouseSink:
    """Writes batches with one INSERT each; ids the table holds already are left out."""

    def __init__(self, config: ClickHouseConfig) -> None:
        self.config = config
        self._client: Any = None
        self.table = f"`{config.database}`.`{config.table}`"

    def client(self) -> Any:
        if self._client is None:
            import clickhouse_connect

            c = self.config
            client = clickhouse_connect.get_client(
                host=c.host, port=c.port, username=c.username,
                password=c.password.get_secret_value(), secure=c.secure,
                connect_timeout=c.connect_timeout,
                send_receive_timeout=c.send_receive_timeout)
            for statement in statements(c.database, c.table):
                client.command(statement)
            self._client = client
        return self._client

    def write(self, events: list[dict[str, Any]]) -> None:
        """Insert the events whose ids the table does not hold yet."""
        self._insert(events, check=True)

    def write_new(self, events: list[dict[str, Any]]) -> None:
        """Insert a batch the core knows this table never received (no id lookup)."""
        self._insert(events, check=False)

    def _insert(self, events: list[dict[str, Any]], check: bool) -> None:
        if not events:
            return
        rows = {}
        for event in events:
            row = _row(event)
            rows[row[-1] or f"anonymous-{len(rows)}"] = row
        client = self.client()
        present = self._present(client, [r for r in rows.values() if r[-1]]) if check else ()
        fresh = [row for key, row in rows.items() if key not in present]
        if fresh:
            client.insert(self.table, fresh, column_names=list(COLUMNS))

    def _present(self, client: Any, rows: list[list[Any]]) -> set[str]:
        """The ids among ``rows`` the table holds (looked up in the batch's time range, which
        the table's ordering key narrows)."""
        if not rows:
            return set()
        stamps = [row[EVENT_FIELDS.index("timestamp")] for row in rows]
        # The ids go in the query's body, not as a parameter: parameters travel in the URL,
        # and a thousand ids would make it longer than servers accept.
        ids = ", ".join(_quote(row[-1]) for row in rows)
        result = client.query(
            f"SELECT event_id FROM {self.table} WHERE timestamp >= {{lo:DateTime64(3)}} "
            f"AND timestamp <= {{hi:DateTime64(3)}} AND event_id IN ({ids})",
            parameters={"lo": min(stamps), "hi": max(stamps)})
        return {r[0] for r in result.result_rows}

    def read(self, query: EventQuery) -> Iterator[dict[str, Any]]:
        """The events in timestamp order, streamed block by block."""
        where = ["timestamp >= {start:DateTime64(3)}", "timestamp <= {end:DateTime64(3)}"]
        params: dict[str, Any] = {"start": _naive(query.start), "end": _naive(query.end)}
        for name, value in query.ids().items():
            where.append(f"{name} = {{{name}:UInt64}}")
            params[name] = value
        sql = (f"SELECT {', '.join(EVENT_FIELDS)} FROM {self.table} "
               f"WHERE {' AND '.join(where)} ORDER BY timestamp")
        with self.client().query_row_block_stream(sql, parameters=params) as stream:
            for block in stream:
                for row in block:
                    record = dict(zip(EVENT_FIELDS, row, strict=True))
                    stamp = record["timestamp"]
                    record["timestamp"] = stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
                    yield record

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def _quote(text: str) -> str:
    """A ClickHouse string literal."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _naive(moment: datetime) -> datetime:
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.replace(tzinfo=None)


def _row(event: dict[str, Any]) -> list[Any]:
    """One event as the values of ``COLUMNS`` (a hot path: one call per event)."""
    get = event.get
    payload = get("payload")
    if payload is not None and not isinstance(payload, str):
        payload = json.dumps(payload)
    return [get("scope"), get("obj_name"), get("obj_id"), get("obj_val"), get("source"),
            _naive(event_timestamp(get("timestamp"))), get("count"), get("duration") or 0,
            get("project_id"), get("task_id"), get("job_id"), get("user_id"), get("user_name"),
            get("user_email"), get("org_id"), get("org_slug"), payload, str(get("id") or "")]
