"""``GET /api/server/health``: for load balancers and orchestrators (Kubernetes probes).

200 while the server can answer requests (``status`` ``ok``, or ``degraded`` when background
work is stalled, which an operator should look at but which is no reason to restart the
server); 503 when the database cannot be reached. Needs no sign-in and shows no secrets. A
"raw" operation: it runs outside the per-request database transaction, which could not even
begin while the database is down.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from cvatcore.core.api.responses import JSON
from cvatcore.core.api.routing import Op
from cvatcore.core.services import health


async def server_health(request: Request) -> Response:
    report = await run_in_threadpool(health.check, request.app.state.cvatcore)
    return JSON(report, status_code=503 if report["status"] == "failing" else 200)


OPS = [
    Op("GET", "/api/server/health", server_health, "server_retrieve_health", "server",
       "Whether the database answers and background work is being taken", response="Health",
       public=True, authenticate=False, extra={"raw": True}),
]
