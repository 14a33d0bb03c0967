"""The last-resort error handler: no exception ever reaches the ASGI server.

Starlette's own handler for ``Exception`` answers and then raises the exception again, so
uvicorn logs it a second time and, since a response was started, closes the connection: a
keep-alive client's *next* request fails with a reset. This middleware sits inside
Starlette's outermost layer and ends every failure itself: database-busy and out-of-range
errors become a 503 or a 400 (``db_error_response``), anything else a JSON 500 naming the
request id, with the traceback logged once. Only a failure after the response has begun
(a broken stream) is passed on, as the connection cannot carry a second answer then.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cvatcore.core.errors import ApiError, ServiceUnavailable, ValidationFailed

logger = logging.getLogger("cvatcore")

#: Seconds a client is asked to wait after a 503 for a busy database.
BUSY_RETRY_AFTER = 1


class LastResortMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as exc:
            if started:
                raise
            await _answer(scope, send, exc)


async def _answer(scope: Scope, send: Send, exc: Exception) -> None:
    request_id = scope.get("cvatcore.request_id", "")
    mapped = db_error(exc)
    if mapped is not None:
        status, body, headers = mapped.status, mapped.body(), dict(mapped.headers or {})
    else:
        logger.error("unhandled error on %s %s (request %s)", scope.get("method"),
                     scope.get("path"), request_id, exc_info=exc)
        status, headers = 500, {}
        body = {"detail": "Internal server error.", "request_id": request_id}
    payload = json.dumps(body).encode()
    raw = [(b"content-type", b"application/json"),
           (b"content-length", str(len(payload)).encode())]
    raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": payload})


def db_error(exc: BaseException) -> ApiError | None:
    """The client-facing error for a database error that is no bug of the request's handler:
    SQLite's write lock held past the busy timeout (503, ``Retry-After``) and a number out
    of the column's range (400); ``None`` for anything else."""
    orig: Any = getattr(exc, "orig", None) or exc
    kind = type(orig).__name__
    text = str(orig).lower()
    if kind == "OperationalError" and ("database is locked" in text or "busy" in text):
        busy = ServiceUnavailable("The database is busy with other writes; try again.")
        busy.headers = {"Retry-After": str(BUSY_RETRY_AFTER)}
        return busy
    if kind in ("NumericValueOutOfRange", "OverflowError") or "out of range" in text \
            or "too large to convert" in text:
        return ValidationFailed({"detail": "A number in the request is out of range."})
    return None
