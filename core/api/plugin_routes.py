"""Plugin routes the core runs (``register_routes`` with ``auth=True`` or ``auth=False``).

The plugin writes a plain synchronous function of a ``cvatcore.hooks.RouteRequest``; the
core's endpoint wrapper gives it what every core endpoint has: one thread hop, one
transaction, the caller's credentials checked, JSON errors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from cvatcore.core.api.context import Ctx, endpoint
from cvatcore.core.api.responses import JSON
from cvatcore.hooks.jobs import enqueue
from cvatcore.hooks.routes import RequestUser, RouteRequest


def plugin_endpoint(
    handler: Callable[[RouteRequest], Any], *, auth: bool
) -> Callable[[Request], Any]:
    """A Starlette endpoint that runs ``handler`` as the core runs its own handlers.

    ``auth``: only signed-in callers (401 otherwise). The handler's return value is sent as
    JSON (200), unless it is a Starlette ``Response``.
    """

    def run(ctx: Ctx) -> Response:
        user = ctx.caller.require_user() if auth else ctx.user
        request = _route_request(ctx, user)
        result = handler(request)
        return result if isinstance(result, Response) else JSON(result)

    run.__name__ = getattr(handler, "__name__", "plugin_route")
    run.__doc__ = handler.__doc__
    return endpoint(run)


def _route_request(ctx: Ctx, user: Any) -> RouteRequest:
    public_user = None if user is None else RequestUser(
        user.id, user.username, bool(user.is_superuser), tuple(user.groups or ()))

    def queue(kind: str, args: dict[str, Any] | None = None, **options: Any) -> str:
        return enqueue(ctx.caller.connection, kind, args,
                       owner_id=None if user is None else user.id, **options)

    query = ctx.request.query_params
    return RouteRequest(
        method=ctx.method, path_params=dict(ctx.path_params), query=query,
        query_list=query.getlist, user=public_user, request_id=ctx.request_id,
        data=lambda: ctx.data, connection=lambda: ctx.caller.connection, enqueue=queue,
    )
