"""``/api/functions``: native functions and their agents' queue, as cvat-cli 2.80 speaks
them (cvat-reference §11): thin handlers over ``services/native_functions.py`` and
``services/agent_queue.py``.

``watch`` is a server-sent event stream: it announces ``newrequest`` for each category with
work an agent could take (on connecting, and whenever a request it has not announced is
waiting: an online call made just after the agent found the queue empty is announced even
when another of its category was waiting a moment before), sends a keep-alive
comment every ``KEEPALIVE_SECONDS`` and ends after ``STREAM_SECONDS``, telling the agent
(``retry``) to reconnect soon; an agent without the stream still polls every minute.
The stream waits on the event loop and looks at the queue in a thread, so an idle agent
holds no request thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

from starlette.responses import Response, StreamingResponse

from cvatcore.core.api.context import Ctx
from cvatcore.core.api.listing import ListSpec, apply_query, paginate
from cvatcore.core.api.responses import JSON, iso, no_content
from cvatcore.core.api.routing import Op
from cvatcore.core.api.serializers import basic_user, users_by_id
from cvatcore.core.errors import ValidationFailed
from cvatcore.core.models import NativeFunction
from cvatcore.core.services import agent_queue, native_functions

#: How often the stream looks for new work (an indexed read), and how long one stream
#: lasts. Work queued by this process wakes the stream at once (``state.wakeups``); the
#: poll is for work queued by another process or replica.
POLL_SECONDS = 0.25
KEEPALIVE_SECONDS = 15.0
STREAM_SECONDS = 300.0
RECONNECT_MS = 1000

SPEC = ListSpec(
    fields={"id": NativeFunction.id, "name": NativeFunction.name, "kind": NativeFunction.kind,
            "visibility": NativeFunction.visibility},
    search=("name",), simple_filters=("name", "kind", "visibility"),
)


def _records(ctx: Ctx, rows: Sequence[NativeFunction]) -> list[dict[str, Any]]:
    owners = users_by_id(ctx, (f.owner_id for f in rows))
    return [{"id": f.id, "provider": native_functions.PROVIDER, "name": f.name,
             "kind": f.kind, "visibility": f.visibility, "description": f.description,
             "owner": basic_user(ctx, owners.get(f.owner_id)),
             "organization": f.organization_id, "created_date": iso(f.created_date),
             "updated_date": iso(f.updated_date),
             **_spec_fields(f)} for f in rows]


def _spec_fields(function: NativeFunction) -> dict[str, Any]:
    spec = dict(function.spec or {})
    if function.kind == "detector":
        spec.setdefault("labels_v2", [])
    return spec


def list_functions(ctx: Ctx) -> Response:
    stmt = apply_query(ctx, native_functions.list_query(ctx.caller), SPEC)
    return JSON(paginate(ctx, stmt, lambda rows: _records(ctx, rows)))


def create_function(ctx: Ctx) -> Response:
    function = native_functions.create(ctx.caller, ctx.data or {})
    return JSON(_records(ctx, [function])[0], status_code=201)


def retrieve_function(ctx: Ctx) -> Response:
    return JSON(_records(ctx, [native_functions.get(ctx.caller, ctx.path_params["id"])])[0])


def delete_function(ctx: Ctx) -> Response:
    native_functions.delete(ctx.caller, ctx.path_params["id"])
    return no_content()


def _queue(ctx: Ctx) -> str:
    return str(ctx.path_params["queue_id"])


def acquire(ctx: Ctx) -> Response:
    return JSON(agent_queue.acquire(ctx.caller, _queue(ctx), ctx.data or {}))


def _report(action: Any) -> Any:
    def handler(ctx: Ctx) -> Response:
        action(ctx.caller, _queue(ctx), str(ctx.path_params["ar_id"]), ctx.data or {})
        return JSON({})
    return handler


def _stream_seconds(ctx: Ctx) -> float:
    """``?seconds=N`` ends the stream sooner (a client that wants one look at the queue)."""
    raw = ctx.query.get("seconds")
    if raw is None:
        return STREAM_SECONDS
    try:
        seconds = float(raw)
    except ValueError:
        raise ValidationFailed.field("seconds", "A number is required.") from None
    if not 0 <= seconds <= STREAM_SECONDS:
        raise ValidationFailed.field("seconds", f"Must be from 0 to {STREAM_SECONDS:g}.")
    return seconds


def watch(ctx: Ctx) -> Response:
    """Checks the caller serves the queue now; the stream then reads it on its own."""
    function_id = agent_queue.function_of_queue(ctx.caller, _queue(ctx)).id
    lasts = _stream_seconds(ctx)
    db, wakeups = ctx.state.db, ctx.state.wakeups

    def waiting() -> set[tuple[str, str]]:
        with db.unit_of_work(write=False) as session:
            return agent_queue.waiting_requests(session, function_id)

    async def stream() -> AsyncIterator[bytes]:
        yield f"retry: {RECONNECT_MS}\n\n".encode()
        announced: set[tuple[str, str]] = set()
        started = last_sent = time.monotonic()
        with wakeups.listening(agent_queue.wakeup_key(function_id)) as woken:
            while True:
                woken.clear()  # before looking: a wake-up while looking is not lost
                now_waiting = await asyncio.to_thread(waiting)
                # Interactive first: cvat-cli takes them first anyway, and a call waits.
                for category in sorted({c for c, _ in now_waiting - announced},
                                       key=agent_queue.CATEGORIES.index):
                    data = json.dumps({"request_category": category})
                    yield f"event: newrequest\ndata: {data}\n\n".encode()
                    last_sent = time.monotonic()
                announced = now_waiting
                if time.monotonic() - last_sent >= KEEPALIVE_SECONDS:
                    yield b": keep-alive\n\n"
                    last_sent = time.monotonic()
                if time.monotonic() - started >= lasts:
                    return
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(woken.wait(), POLL_SECONDS)

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache"})


PATH = "/api/functions"
ONE = PATH + "/{id:int}"
QUEUE = PATH + "/queues/{queue_id}"
AR = QUEUE + "/requests/{ar_id}"
_FUNCTION = {"type": "object", "additionalProperties": True,
             "description": "A native function: id, provider, name, kind, visibility, owner, "
                            "organization and its kind's fields (labels_v2, ...)"}
_OK = {"response_schema": {"type": "object"}}
OPS = [
    Op("GET", PATH, list_functions, "functions_list", "functions", "List native functions",
       paginated=True, params=("filter", "search", "sort", *SPEC.simple_filters),
       extra={"list_spec": SPEC, "response_schema": _FUNCTION}),
    Op("POST", PATH, create_function, "functions_create", "functions",
       "Register a native function (cvat-cli function create-native)", status=201,
       extra={"response_schema": _FUNCTION}),
    Op("GET", ONE, retrieve_function, "functions_retrieve", "functions",
       "One native function", extra={"response_schema": _FUNCTION}),
    Op("DELETE", ONE, delete_function, "functions_destroy", "functions",
       "Delete a native function", status=204),
    Op("GET", QUEUE + "/watch", watch, "functions_queues_watch", "functions",
       "Server-sent events announcing new annotation requests", params=("seconds",),
       extra={"media_type": "text/event-stream",
              "response_schema": {"type": "string"}}),
    Op("POST", QUEUE + "/requests/acquire", acquire, "functions_queues_acquire", "functions",
       "Take the next annotation request of a category",
       extra={"response_schema": {"type": "object"}}),
    Op("POST", AR + "/update", _report(agent_queue.update), "functions_queues_update",
       "functions", "Report progress (renews the lease)", extra={**_OK, "errors": (409,)}),
    Op("POST", AR + "/complete", _report(agent_queue.complete), "functions_queues_complete",
       "functions", "Hand in the result", extra={**_OK, "errors": (409,)}),
    Op("POST", AR + "/fail", _report(agent_queue.fail), "functions_queues_fail",
       "functions", "Give up on an annotation request", extra={**_OK, "errors": (409,)}),
]
