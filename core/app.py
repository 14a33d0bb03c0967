"""The Starlette application factory (``uvicorn --factory cvatcore.core.app:create_app``)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cvatcore.core.api.responses import JSON
from cvatcore.core.config import Settings, load_settings
from cvatcore.core.db.migrate import upgrade
from cvatcore.core.errors import ApiError
from cvatcore.core.plugins import PluginError
from cvatcore.core.state import AppState

logger = logging.getLogger("cvatcore")


def collect_routes(state: AppState) -> list[Route]:
    """Routes from every ``register_routes`` implementation; a path+method twice is an error."""
    routes: list[Route] = []
    owners: dict[tuple[str, str], str] = {}
    for impl in state.pm.hook.register_routes.get_hookimpls():

        def register(
            path: str, endpoint: Callable[..., Any], *, methods: list[str] | None = None,
            name: str | None = None, _plugin: str = impl.plugin_name,
        ) -> None:
            methods = [m.upper() for m in (methods or ["GET"])]
            for method in methods:
                if (path, method) in owners:
                    raise PluginError(
                        f"route {method} {path} is registered by two plugins: "
                        f"{owners[(path, method)]} and {_plugin}"
                    )
                owners[(path, method)] = _plugin
            routes.append(Route(path, endpoint, methods=methods, name=name))

        impl.function(register=register)
    return routes


class RequestIdMiddleware:
    """Reads ``X-Request-Id`` (or makes one) and returns it on every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _header(scope, b"x-request-id") or str(uuid.uuid4())
        scope["cvatcore.request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"], (b"x-request-id", request_id.encode("latin-1"))
                ]
            await send(message)

        await self.app(scope, receive, send_with_id)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            text = value.decode("latin-1")
            return text if 0 < len(text) <= 128 and text.isprintable() else None
    return None


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return JSON(exc.body(), status_code=exc.status)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return JSON({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


async def _server_error(request: Request, exc: Exception) -> Response:
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return JSON({"detail": "Internal server error."}, status_code=500)


def create_app(
    settings: Settings | None = None, state: AppState | None = None, migrate: bool = True
) -> Starlette:
    """Build the application: plugins, providers, routes; migrations run at start-up."""
    state = state or AppState.build(settings or load_settings())
    if migrate:
        upgrade(state.db.engine, state.pm)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state.pm.hook.startup(app=app)
        try:
            yield
        finally:
            try:
                state.pm.hook.shutdown(app=app)
            finally:
                state.db.dispose()

    app = Starlette(
        routes=collect_routes(state),
        lifespan=lifespan,
        exception_handlers={
            ApiError: _api_error,
            HTTPException: _http_error,
            Exception: _server_error,
        },
    )
    app.state.cvatcore = state
    app.add_middleware(RequestIdMiddleware)
    return app
