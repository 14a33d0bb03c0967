"""An unhandled exception is a JSON 500 with the request id, logged once, and the
keep-alive connection it came on keeps serving."""

from __future__ import annotations

import http.client
import json
import time
from base64 import b64encode

from cvatcore.hooks.testing.live import ADMIN


def _get(conn: http.client.HTTPConnection, path: str, **headers: str) -> tuple[int, dict, dict]:
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    body = response.read()
    return response.status, dict(response.getheaders()), json.loads(body) if body else {}


def test_unhandled_error_is_json_500_and_connection_survives(live):
    host, port = live.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    auth = "Basic " + b64encode(":".join(ADMIN).encode()).decode()
    try:
        status, headers, body = _get(conn, "/api/faulty/boom", **{"X-Request-Id": "req-boom-1"})
        assert status == 500
        assert body == {"detail": "Internal server error.", "request_id": "req-boom-1"}
        assert headers["x-request-id"] == "req-boom-1"
        sock = conn.sock
        # The same connection answers the next requests (no reset, no reconnect).
        status, _, about = _get(conn, "/api/server/about")
        assert status == 200 and about["name"]
        status, _, body = _get(conn, "/api/faulty/signed-in", Authorization=auth)
        assert status == 500 and body["request_id"]
        status, _, me = _get(conn, "/api/users/self", Authorization=auth)
        assert status == 200 and me["username"] == ADMIN[0]
        assert conn.sock is sock
    finally:
        conn.close()
    time.sleep(0.3)  # the log is written by the server process
    log = live.log.read_text()
    assert log.count("RuntimeError: faulty plugin failed on purpose") == 1
    assert log.count("ZeroDivisionError") == 1
    assert "Exception in ASGI application" not in log
