"""A stand-in ClickHouse server for tests: the ClickHouse engine in-process (chDB) behind the
part of ClickHouse's HTTP protocol clickhouse-connect uses (queries, parameters, streamed
inserts in Native format, compressed bodies, error codes). Not for production.

Run: ``python -m cvatcore_clickhouse.chdb_http PORT DATA_DIR`` from a directory without a
``config.xml`` (chDB would read it). One chDB session per process: queries are serialised.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import tempfile
import threading
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

LOCK = threading.Lock()
SKIP = {"query", "database", "default_format", "session_id", "session_timeout", "session_check",
        "query_id", "user", "password", "compress", "decompress", "wait_end_of_query",
        "enable_http_compression", "send_progress_in_http_headers",
        "http_headers_progress_interval_ms"}
INSERT_HEAD = re.compile(rb"^\s*INSERT\s+INTO\s+(.+?)\s+FORMAT\s+(\w+)[ \t]*\r?\n", re.I | re.S)
INSERT_SQL = re.compile(r"^\s*INSERT\s+INTO\s+(.+?)\s+FORMAT\s+(\w+)\s*$", re.I | re.S)
SESSION: Any = None


def _literal(value: str) -> str:
    if re.fullmatch(r"-?\d+(\.\d+)?", value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, code: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(code)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        if "query=" not in self.path:
            return self._send(200, b"Ok.\n", {})
        self._query(b"")

    def do_POST(self) -> None:  # noqa: N802
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = b""
            while size := int(self.rfile.readline().split(b";")[0], 16):
                body += self.rfile.read(size)
                self.rfile.readline()
            self.rfile.readline()
        else:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        encoding = self.headers.get("Content-Encoding")
        if encoding == "lz4":
            import lz4.frame

            body = lz4.frame.decompress(body)
        elif encoding == "zstd":
            try:
                from compression import zstd  # type: ignore[import-not-found]
            except ImportError:
                from backports import zstd  # type: ignore[import-not-found,no-redef]
            body = zstd.decompress(body)
        self._query(body)

    def _query(self, body: bytes) -> None:
        params = {k: v[-1] for k, v in
                  urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query).items()}
        sql, data = params.get("query"), body
        if sql is None:  # the query in the body; an INSERT's data follows its first line
            head = INSERT_HEAD.match(body)
            sql, data = ((body[:head.end()].decode(), body[head.end():]) if head
                         else (body.decode(), b""))
        fmt = params.get("default_format", "TabSeparated")
        try:
            with LOCK:
                out, summary = _run(params, sql, data, fmt)
        except Exception as exc:
            message = str(exc)
            code = (re.search(r"Code:\s*(\d+)", message) or [None, "1001"])[1]
            return self._send(500, message.encode(), {"X-ClickHouse-Exception-Code": code})
        self._send(200, out, {
            "Content-Type": "application/octet-stream", "X-ClickHouse-Format": fmt,
            "X-ClickHouse-Query-Id": params.get("query_id") or str(uuid.uuid4()),
            "X-ClickHouse-Timezone": "UTC", "X-ClickHouse-Summary": json.dumps(summary)})


def _run(params: dict[str, str], sql: str, data: bytes, fmt: str) -> tuple[bytes, dict[str, str]]:
    for key, value in params.items():
        if key.startswith("param_"):
            SESSION.query(f"SET {key} = {_literal(value)}")
        elif key not in SKIP:
            with contextlib.suppress(Exception):  # a client setting chDB does not know
                SESSION.query(f"SET {key} = {_literal(value)}")
    if params.get("database"):
        SESSION.query(f"USE {params['database']}")
    insert = INSERT_SQL.match(sql)
    if insert and data:
        fd, path = tempfile.mkstemp()
        os.write(fd, data)
        os.close(fd)
        try:
            source = f"file('{path}', '{insert.group(2)}')"
            count = SESSION.query(f"SELECT count() FROM {source}", "TSV").bytes().strip()
            SESSION.query(f"INSERT INTO {insert.group(1)} SELECT * FROM {source}")
        finally:
            os.unlink(path)
        return b"", {"written_rows": count.decode(), "written_bytes": str(len(data))}
    result = SESSION.query(sql, fmt)
    return result.bytes(), {"read_rows": str(result.rows_read()),
                            "read_bytes": str(result.bytes_read())}


def main(argv: list[str]) -> None:
    global SESSION
    from chdb import session

    port, data_dir = int(argv[0]), argv[1]
    SESSION = session.Session(data_dir)
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
