"""The per-request context handlers and services receive, and the endpoint wrapper.

Each request's work runs in one worker thread inside one database transaction: the wrapper
reads the body, hops to a thread once, authenticates, calls the handler and commits (or
rolls back when anything raises, so a failed request leaves nothing half-written).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import anyio.to_thread
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from cvatcore.core.errors import NotAuthenticated, ValidationFailed
from cvatcore.core.models import User
from cvatcore.core.state import AppState

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# PostgreSQL text cannot hold NUL; refusing it everywhere keeps both databases alike.
NUL_MESSAGE = "NUL characters are not allowed in requests."


@dataclass
class Ctx:
    request: Request
    body: bytes
    session: Session
    state: AppState
    request_id: str
    user: User | None = None
    auth_method: str | None = None
    csrf_token: str | None = None
    read_only_token: bool = False
    response_cookies: list[tuple[str, str | None, dict[str, Any]]] = field(default_factory=list)

    @property
    def method(self) -> str:
        return self.request.method

    @property
    def query(self) -> Any:
        return self.request.query_params

    @property
    def path_params(self) -> dict[str, Any]:
        return self.request.path_params

    def require_user(self) -> User:
        if self.user is None:
            raise NotAuthenticated()
        return self.user

    @cached_property
    def data(self) -> dict[str, Any]:
        """The JSON (or form) body as a dict; a 400 when it is neither."""
        if not self.body:
            return {}
        ctype = self.request.headers.get("content-type", "")
        if ctype.startswith("application/x-www-form-urlencoded"):
            from urllib.parse import parse_qsl

            return dict(parse_qsl(self.body.decode("utf-8", "replace")))
        try:
            value = json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            raise ValidationFailed({"detail": "The request body is not valid JSON."}) from None
        if b"\\u0000" in self.body and _has_nul(value):
            raise ValidationFailed({"detail": NUL_MESSAGE})
        if not isinstance(value, dict):
            raise ValidationFailed({"detail": "The request body must be a JSON object."})
        return value

    def set_cookie(self, name: str, value: str | None, **options: Any) -> None:
        self.response_cookies.append((name, value, options))


Handler = Callable[[Ctx], Response]


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def endpoint(handler: Handler, *, authenticate: bool = True) -> Callable[[Request], Any]:
    """Wrap a synchronous handler into an async Starlette endpoint (one thread hop)."""

    async def run(request: Request) -> Response:
        body = b"" if request.method in SAFE_METHODS else await request.body()
        state: AppState = request.app.state.cvatcore
        return await anyio.to_thread.run_sync(_run_sync, handler, request, body, state, authenticate)

    run.__name__ = getattr(handler, "__name__", "endpoint")
    run.__doc__ = handler.__doc__
    run.handler = handler  # type: ignore[attr-defined]
    return run


def _run_sync(
    handler: Handler, request: Request, body: bytes, state: AppState, authenticate: bool
) -> Response:
    from cvatcore.core.services.credentials import authenticate_request

    request_id = request.scope.get("cvatcore.request_id") or str(uuid.uuid4())
    params = request.query_params.multi_items()
    if "\x00" in request.url.path or any("\x00" in k + v for k, v in params):
        raise ValidationFailed({"detail": NUL_MESSAGE})
    with state.db.unit_of_work(write=request.method not in SAFE_METHODS) as session:
        ctx = Ctx(request, body, session, state, request_id)
        if authenticate:
            authenticate_request(ctx)
        response = handler(ctx)
    for name, value, options in ctx.response_cookies:
        if value is None:
            response.delete_cookie(name, path="/")
        else:
            response.set_cookie(name, value, path="/", samesite="lax", **options)
    return response
