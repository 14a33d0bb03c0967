"""Prometheus metrics at ``/metrics`` (prometheus-client's text format): request latency by
route template, method and status, and the background queue's depth by kind and status; and
the access log (``cvatcore.access``), written where the request is timed.

One registry per application, not the library's global one: tests and embedders build
several apps in one process. With ``[server] workers`` above 1, each uvicorn process answers
for itself; scrape every replica (the Helm chart's pod annotations do).
"""

from __future__ import annotations

import functools
import logging
import re
import time
from collections.abc import Iterator
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cvatcore.core.services import health

#: One line per request; ``cvatcore serve`` turns it on with ``[server] access_log = true``.
access_log = logging.getLogger("cvatcore.access")

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class _QueueCollector(Collector):
    def __init__(self, state: Any) -> None:
        self.state = state

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily("cvatcore_jobs", "Background jobs not yet finished",
                                  labels=["kind", "status"])
        backlog = GaugeMetricFamily("cvatcore_event_sink_backlog",
                                    "Events in the outbox a sink has not got yet", labels=["sink"])
        deliveries = GaugeMetricFamily("cvatcore_webhook_deliveries",
                                       "Webhook deliveries not sent or given up on",
                                       labels=["state"])
        with self.state.db.engine.connect() as conn:
            for (kind, status), count in sorted(health.queue_depths(conn).items()):
                depth.add_metric([kind, status], count)
            sinks = health.sink_backlogs(conn, list(self.state.settings.analytics.sinks))
            for sink, numbers in sorted(sinks.items()):
                backlog.add_metric([sink], numbers["backlog"])
            for state, count in sorted(health.deliveries_waiting(conn).items()):
                deliveries.add_metric([state], count)
        yield depth
        yield backlog
        yield deliveries


class Metrics:
    def __init__(self, state: Any) -> None:
        self.registry = CollectorRegistry()
        self.latency = Histogram(
            "cvatcore_http_request_duration_seconds", "Time to answer an HTTP request",
            ["method", "route", "status"], registry=self.registry, buckets=BUCKETS)
        self.registry.register(_QueueCollector(state))

    async def endpoint(self, request: Request) -> Response:
        from starlette.concurrency import run_in_threadpool

        body = await run_in_threadpool(generate_latest, self.registry)
        return Response(body, media_type=CONTENT_TYPE_LATEST)


@functools.lru_cache(maxsize=1024)
def _template(path: str | None) -> str:
    """``/api/tasks/{id:int}`` as clients know it: ``/api/tasks/{id}``."""
    return _CONVERTOR.sub(r"{\1}", path) if path else "unmatched"


_CONVERTOR = re.compile(r"\{(\w+):\w+\}")


class MetricsMiddleware:
    """Times every HTTP request; the route is the matched path template (``/api/tasks/{id}``),
    so the number of series does not grow with ids."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            template = _template(getattr(scope.get("route"), "path", None))
            elapsed = time.perf_counter() - started
            self.metrics.latency.labels(scope["method"], template, str(status)).observe(elapsed)
            if access_log.isEnabledFor(logging.INFO):
                access_log.info("%s %s %d %.1f ms", scope["method"], scope["path"], status,
                                elapsed * 1000)
