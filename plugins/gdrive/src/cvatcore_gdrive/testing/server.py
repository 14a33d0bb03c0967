"""The stand-in's HTTP side: Drive v3's REST paths, the OAuth token endpoint and test helpers.

Run as ``python -m cvatcore_gdrive.testing.server --port 0``; it prints ``READY <url>``.
Paths and answers follow Google's: ``/drive/v3/files``, ``/upload/drive/v3/files``
(``uploadType=multipart|media|resumable``), ``/token``; errors in Google's JSON shape.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from cvatcore_gdrive.testing import api
from cvatcore_gdrive.testing.store import AuthFailure, Store

_REASONS = {400: "badRequest", 401: "authError", 403: "forbidden", 404: "notFound",
            429: "rateLimitExceeded", 500: "internalError", 503: "backendError"}


class DriveError(Exception):
    """Answered as ``{"error": {"code", "message", "errors": [{domain, reason, message}]}}``."""

    def __init__(self, code: int, message: str, reason: str | None = None,
                 location: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message = code, message
        self.reason = reason or _REASONS.get(code, "error")
        self.location = location

    def body(self) -> dict[str, Any]:
        detail = {"domain": "global", "reason": self.reason, "message": self.message}
        if self.location:
            detail.update(location=self.location, locationType="parameter")
        return {"error": {"code": self.code, "message": self.message, "errors": [detail]}}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes
    wbufsize = 65536
    server: StandInServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    # --- plumbing -------------------------------------------------------------------------------

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def send(self, status: int, body: bytes | dict[str, Any] | None = None,
             headers: dict[str, str] | None = None) -> None:
        if isinstance(body, dict):
            payload = json.dumps(body).encode()
            headers = {"Content-Type": "application/json; charset=UTF-8", **(headers or {})}
        else:
            payload = body or b""
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)
        self.status_sent = status

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        body = self._body()
        store = self.server.store
        self.status_sent = 0
        try:
            if url.path.startswith("/_standin/"):
                return self._admin(url.path[len("/_standin/"):], body, query)
            if url.path == "/token" and self.command == "POST":
                return self._token(body)
            with store.lock:
                fault = store.faults.pop(0) if store.faults else None
            if fault:
                reason = "userRateLimitExceeded" if fault == 403 else None
                raise DriveError(fault, "Injected fault", reason)
            principal = self._principal()
            request = api.Request(self.command, url.path, query, dict(self.headers.items()),
                                  body, principal, self.server.base_url)
            status, answer, headers = api.handle(store, request)
            self.send(status, answer, headers)
        except DriveError as exc:
            self.send(exc.code, exc.body())
        except api.ApiError as exc:
            err = DriveError(exc.code, exc.message, exc.reason, exc.location)
            self.send(err.code, err.body())
        finally:
            if not url.path.startswith("/_standin/"):
                with store.lock:
                    store.log.append({
                        "method": self.command, "path": url.path, "query": query,
                        "range": self.headers.get("Range"),
                        "content_range": self.headers.get("Content-Range"),
                        "status": self.status_sent})

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _dispatch

    def _principal(self) -> str:
        auth = self.headers.get("Authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else ""
        principal = self.server.store.tokens.get(token)
        if principal is None:
            raise DriveError(401, "Request had invalid authentication credentials. Expected OAuth"
                             " 2 access token, login cookie or other valid authentication"
                             " credential.", "authError")
        return principal

    def _token(self, body: bytes) -> None:
        form = dict(parse_qsl(body.decode()))
        try:
            principal = self.server.store.grant(form, self.server.base_url + "/token")
        except AuthFailure as exc:
            self.send(exc.status, {"error": exc.error, "error_description": exc.description})
            return
        self.send(200, {"access_token": self.server.store.issue(principal),
                        "expires_in": 3599, "token_type": "Bearer"})

    # --- test helpers -------------------------------------------------------------------------

    def _admin(self, name: str, body: bytes, query: dict[str, str]) -> None:
        store = self.server.store
        data = json.loads(body or b"{}")
        if name == "health":
            return self.send(200, {"ok": True})
        if name == "reset":
            store.reset()
        elif name == "principals":
            for email, pem in data.get("service_accounts", {}).items():
                store.add_service_account(email, pem)
            for token, (cid, secret, email) in data.get("refresh_tokens", {}).items():
                store.add_refresh_token(token, cid, secret, email)
        elif name == "folder":
            item = store.create(data["name"], "application/vnd.google-apps.folder",
                                data.get("parent", "root"), perms=data.get("share", {}))
            return self.send(200, {"id": item.id})
        elif name == "seed":
            return self.send(200, store.seed(data.get("parent", "root"), data["files"]))
        elif name == "children":
            pid = store.resolve_id(query["parent"])
            with store.lock:
                items = [i.record() for i in store.items.values() if pid in i.parents]
            return self.send(200, {"files": items})
        elif name == "requests":
            with store.lock:
                return self.send(200, {"requests": list(store.log)})
        elif name == "clear-log":
            with store.lock:
                store.log.clear()
        elif name == "config":
            with store.lock:
                store.faults = list(data.get("faults", store.faults))
                store.max_page = int(data.get("max_page", store.max_page))
                store.short_commit = bool(data.get("short_commit", store.short_commit))
        elif name == "revoke":
            store.revoke_all()
        else:
            return self.send(404, {"error": "no such helper"})
        self.send(200, {"ok": True})


class StandInServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int) -> None:
        super().__init__(("127.0.0.1", port), Handler)
        self.store = Store()
        self.base_url = f"http://127.0.0.1:{self.server_address[1]}"


def _exit_on_eof(server: StandInServer) -> None:
    sys.stdin.read()
    server.shutdown()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A local stand-in for the Google Drive v3 API")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--exit-with-parent", action="store_true",
                        help="stop when standard input closes (the test process ended)")
    args = parser.parse_args(argv)
    server = StandInServer(args.port)
    if args.exit_with_parent:
        threading.Thread(target=_exit_on_eof, args=(server,), daemon=True).start()
    print(f"READY {server.base_url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
