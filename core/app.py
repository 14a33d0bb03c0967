"""The Starlette application factories: ``create_app`` (tests, embedding) and
``create_server_app``, what ``cvatcore serve`` runs (``uvicorn --factory
cvatcore.core.app:create_server_app``): the same app, with the garbage collector tuned."""

from __future__ import annotations

import gc
import logging
import random
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Route, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cvatcore.core.api.last_resort import LastResortMiddleware
from cvatcore.core.api.plugin_routes import plugin_endpoint
from cvatcore.core.api.responses import JSON
from cvatcore.core.config import Settings, load_settings
from cvatcore.core.db.migrate import upgrade
from cvatcore.core.errors import ApiError
from cvatcore.core.jobs.runner import InProcessWorkers
from cvatcore.core.logs import REQUEST_ID
from cvatcore.core.registration import check_unique, route_methods
from cvatcore.core.state import AppState

logger = logging.getLogger("cvatcore")


def collect_routes(state: AppState) -> list[Route]:
    """Routes from ``register_routes``'s one call (kept on the state; ``GET /api/schema``
    reads the same list); a path and method registered twice stops start-up."""
    found = state.registrations.of("register_routes")
    check_unique(
        [(reg, method) for reg in found for method in route_methods(reg)], "route {key}", state.pm,
        key=lambda pair: f"{pair[1]} {pair[0].name}", plugin=lambda pair: pair[0].plugin,
    )
    return [
        Route(reg.name, plugin_endpoint(reg.value, auth=reg.options["auth"])
              if "auth" in reg.options else reg.value,
              methods=route_methods(reg), name=reg.options.get("name"))
        for reg in found
    ]


class RequestIdMiddleware:
    """Reads ``X-Request-Id`` (or makes one) and returns it on every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _header(scope, b"x-request-id") or new_request_id()
        scope["cvatcore.request_id"] = request_id
        REQUEST_ID.set(request_id)  # log records of this request carry it (core/logs.py)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"], (b"x-request-id", request_id.encode("latin-1"))
                ]
            await send(message)

        await self.app(scope, receive, send_with_id)


def new_request_id() -> str:
    """A random UUID4 string. From ``random``, not ``os.urandom`` as ``uuid4`` is: an id
    needs no secrecy, and the system call lets go of the GIL, a hand-off per request."""
    return str(uuid.UUID(int=random.getrandbits(128), version=4))


class IndexedRouter(Router):
    """Starlette's router, but a request tries only the routes that can match its path.

    Starlette tests every route in order, which is most of the routing cost with this API's
    route count. A route whose path has no parameters can only match that exact path, and one
    with parameters only paths starting with the text before its first ``{``; any other kind
    of route is always tried. Those candidates are tried in the original order, so the first
    full match is the one Starlette would pick; a path matched only for other methods is a
    405 whose ``Allow`` lists the methods of every route of that path; with none,
    Starlette's own ``app`` handles the request (redirects, 404).
    """

    _CACHE_SIZE = 4096

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._indexed: tuple[int, int] | None = None
        self._exact: dict[str, list[tuple[int, BaseRoute]]] = {}
        self._prefixed: list[tuple[int, str, BaseRoute]] = []
        self._candidates: dict[str, list[BaseRoute]] = {}

    def _index(self) -> None:
        self._exact, self._prefixed, self._candidates = {}, [], {}
        for position, route in enumerate(self.routes):
            if isinstance(route, Route) and not route.param_convertors:
                self._exact.setdefault(route.path, []).append((position, route))
            elif isinstance(route, Route):
                self._prefixed.append((position, route.path.partition("{")[0], route))
            else:
                self._prefixed.append((position, "", route))
        self._indexed = (id(self.routes), len(self.routes))

    def candidates(self, path: str) -> list[BaseRoute]:
        if self._indexed != (id(self.routes), len(self.routes)):
            self._index()
        found = self._candidates.get(path)
        if found is None:
            pairs = [*self._exact.get(path, ())]
            pairs += [(i, route) for i, prefix, route in self._prefixed if path.startswith(prefix)]
            found = [route for _, route in sorted(pairs, key=lambda pair: pair[0])]
            if len(self._candidates) >= self._CACHE_SIZE:
                self._candidates.clear()
            self._candidates[path] = found
        return found

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("root_path"):
            await super().app(scope, receive, send)  # mounted under a prefix: as Starlette
            return
        partial = partial_scope = None
        allowed: set[str] = set()
        for route in self.candidates(scope["path"]):
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                scope.setdefault("router", self)
                scope["route"] = route
                scope.update(child_scope)
                await route.handle(scope, receive, send)
                return
            if match is Match.PARTIAL:
                allowed.update(getattr(route, "methods", None) or ())
                if partial is None:
                    partial, partial_scope = route, child_scope
        if allowed:  # one Route per method here: the 405 names the methods of all of them
            raise HTTPException(405, f'Method "{scope["method"]}" not allowed.',
                                headers={"Allow": ", ".join(sorted(allowed))})
        if partial is not None and partial_scope is not None:
            scope.setdefault("router", self)
            scope["route"] = partial
            scope.update(partial_scope)
            await partial.handle(scope, receive, send)
            return
        await super().app(scope, receive, send)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            text = value.decode("latin-1")
            return text if 0 < len(text) <= 128 and text.isprintable() else None
    return None


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return JSON(exc.body(), status_code=exc.status, headers=exc.headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return JSON({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


def create_app(
    settings: Settings | None = None, state: AppState | None = None, migrate: bool = True
) -> Starlette:
    """Build the application: plugins, providers, routes; migrations run at start-up."""
    state = state or AppState.build(settings or load_settings())
    if migrate:
        upgrade(state.db.engine, state.pm)

    lifespans: list[InProcessWorkers] = []

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state.pm.hook.startup(app=app)
        workers = InProcessWorkers(state, state.settings.jobs.in_process_workers)
        workers.start()
        lifespans.append(workers)
        try:
            yield
        finally:
            try:
                workers.stop()
                _run_shutdown_hooks(state, app)
            finally:
                lifespans.remove(workers)
                if not lifespans:  # tests may run overlapping lifespans of one app
                    state.db.dispose()

    from cvatcore.core.api.metrics import Metrics, MetricsMiddleware
    from cvatcore.core.datasets.registry import collect_formats

    collect_formats(state.pm)  # a bad dataset format stops start-up, not the first export
    metrics = Metrics(state)
    routes = [*collect_routes(state), Route("/metrics", metrics.endpoint, methods=["GET"],
                                            include_in_schema=False)]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={
            ApiError: _api_error,
            HTTPException: _http_error,
        },
    )
    app.router = IndexedRouter(routes=routes, lifespan=lifespan)
    app.state.cvatcore = state
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_middleware(LastResortMiddleware)  # inside: its answers carry the request id
    app.add_middleware(RequestIdMiddleware)
    return app


def _run_shutdown_hooks(state: AppState, app: Starlette) -> None:
    """Call every plugin's ``shutdown``; one that fails is logged and the others still run."""
    for impl in reversed(state.pm.hook.shutdown.get_hookimpls()):
        try:
            impl.function(app=app)
        except Exception:
            logger.exception("shutdown hook of plugin %s failed", impl.plugin_name)


def create_server_app() -> Starlette:
    """The application as ``cvatcore serve`` runs it (uvicorn's factory): ``create_app``, then
    the garbage collector tuned for a long-running server (``tune_gc``)."""
    app = create_app()
    tune_gc()
    return app


def tune_gc() -> None:
    """Tune the garbage collector for a long-running process (``cvatcore serve`` and
    ``cvatcore worker``), once it has built what lives as long as it does.

    The ~100,000 objects built so far (models, plugins, routes, settings) live as long as the
    process: ``gc.freeze`` takes them out of every later collection (a full one walks them
    all, 100-170 ms here: every thread stops meanwhile, and a webhook delivery that falls in
    it is that much later). Requests build and drop many short-lived objects (a page of 100
    ORM rows, several thousand), which with the default threshold of 700 set off a young
    collection every few hundred allocations; 20,000 lets almost all of them be freed by
    reference counting first. Measured with bench/api.py on the 100-user list: time in the
    collector from ~9% of the CPU (default) to ~4% (freeze) to next to none (both). Only
    for server processes: a test session builds many apps and must be able to free them.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 10, 10)
