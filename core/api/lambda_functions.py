"""``/api/lambda``: thin handlers over ``services/lambda_functions.py`` (functions, online
calls) and ``services/lambda_requests.py`` (batch runs), in CVAT's shapes."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from cvatcore.core.api.context import Ctx
from cvatcore.core.api.responses import JSON, iso, no_content
from cvatcore.core.api.routing import Op
from cvatcore.core.models import BackgroundJob
from cvatcore.core.services import lambda_calls, lambda_functions, lambda_requests

#: Requests CVAT shows as queued: ours are queued or waiting for a retry.
_STATUS = {"queued": "queued", "started": "started", "finished": "finished",
           "failed": "failed"}


def function_call(job: BackgroundJob) -> dict[str, Any]:
    """A batch run as CVAT's ``FunctionCall``."""
    progress = job.progress if job.status != "finished" else 1.0
    return {
        "id": job.id,
        "function": dict((job.args or {}).get("function", {})),
        "status": _STATUS.get(job.status, job.status),
        "progress": int(round((progress or 0.0) * 100)),
        "enqueued": iso(job.created_date),
        "started": iso(job.started_date),
        "ended": iso(job.finished_date),
        "exc_info": job.message if job.status == "failed" else None,
    }


def _func_id(ctx: Ctx) -> str:
    return str(ctx.path_params["func_id"])


def list_functions(ctx: Ctx) -> Response:
    return JSON(lambda_functions.list_functions(ctx.caller))


def retrieve_function(ctx: Ctx) -> Response:
    return JSON(lambda_functions.find(ctx.caller, _func_id(ctx))[1])


def call_function(ctx: Ctx) -> Response:
    return JSON(lambda_calls.call(ctx.caller, _func_id(ctx), ctx.data or {}))


def list_requests(ctx: Ctx) -> Response:
    return JSON([function_call(job) for job in lambda_requests.list_requests(ctx.caller)])


def create_request(ctx: Ctx) -> Response:
    return JSON(function_call(lambda_requests.create(ctx.caller, ctx.data or {})))


def retrieve_request(ctx: Ctx) -> Response:
    return JSON(function_call(lambda_requests.get(ctx.caller, ctx.path_params["id"])))


def delete_request(ctx: Ctx) -> Response:
    lambda_requests.delete(ctx.caller, ctx.path_params["id"])
    return no_content()


FUNCTIONS = "/api/lambda/functions"
REQUESTS = "/api/lambda/requests"
_DESCRIPTOR = {"type": "object", "additionalProperties": True,
               "description": "A function: id, kind, name, description, version, labels_v2"}
_MODEL_ERRORS = {"errors": (502, 503, 504)}
OPS = [
    Op("GET", FUNCTIONS, list_functions, "lambda_list_functions", "lambda",
       "Functions of every enabled inference backend",
       extra={"response_schema": {"type": "array", "items": _DESCRIPTOR}, **_MODEL_ERRORS}),
    Op("GET", FUNCTIONS + "/{func_id}", retrieve_function, "lambda_retrieve_functions",
       "lambda", "One function", extra={"response_schema": _DESCRIPTOR, **_MODEL_ERRORS}),
    Op("POST", FUNCTIONS + "/{func_id}", call_function, "lambda_create_functions", "lambda",
       "Run a function on one frame of a task or job",
       request="OnlineFunctionCallRequest",
       # It waits for a model server or an agent (whose answer comes in through other
       # requests): reads in the request's transaction, writes in short ones of its own.
       extra={"response_schema": {"description": "The function's answer, in the task's "
                                                 "label names (detectors)"},
              "own_transactions": True, **_MODEL_ERRORS}),
    Op("GET", REQUESTS, list_requests, "lambda_list_requests", "lambda",
       "Batch runs of functions", extra={"response_schema": {
           "type": "array", "items": {"$ref": "#/components/schemas/FunctionCall"}}}),
    Op("POST", REQUESTS, create_request, "lambda_create_requests", "lambda",
       "Run a function over a whole task or job in the background",
       request="FunctionCallRequest", response="FunctionCall",
       extra={"errors": (404, 409, 502, 503, 504)}),  # 404: no such function or task
    Op("GET", REQUESTS + "/{id}", retrieve_request, "lambda_retrieve_requests", "lambda",
       "One batch run", response="FunctionCall"),
    Op("DELETE", REQUESTS + "/{id}", delete_request, "lambda_delete_requests", "lambda",
       "Cancel and forget a batch run", status=204),
]
