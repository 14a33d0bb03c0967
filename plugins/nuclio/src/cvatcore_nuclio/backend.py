"""The ``nuclio`` inference backend: CVAT's ``LambdaGateway`` in dashboard mode.

Functions are listed with ``GET /api/functions`` (an object keyed by function name) and
described by their metadata as CVAT's ``function.yaml`` files write it: ``metadata.name``
is the id, ``metadata.annotations.type`` the kind, ``.spec`` a JSON list of labels,
``.name`` the display name, ``.version``; ``spec.description``. They are invoked with
``POST /api/function_invocations``, the function named by ``x-nuclio-function-name``.
Connection errors are 503, timeouts 504, error answers keep their status.

Trackers declare the shapes they follow in ``metadata.annotations.supported_shape_types``
(a comma-separated list); one that declares none is an older tracker that only follows
rectangles and takes and answers bare point lists instead of ``{type, points}`` shapes,
which ``invoke`` converts both ways, as CVAT does.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
from pydantic import Field

from cvatcore.hooks import (
    FunctionNotFoundError,
    InferenceRejectedError,
    InferenceTimeoutError,
    InferenceUnavailableError,
    ProviderConfig,
)
from cvatcore.hooks.inference_types import FUNCTION_KINDS, check_descriptor, describe_function

logger = logging.getLogger("cvatcore.nuclio")
INTERACTOR_FIELDS = ("min_pos_points", "min_neg_points", "startswith_box",
                     "startswith_box_optional", "help_message", "animated_gif")


class NuclioConfig(ProviderConfig):
    """``[inference.options.nuclio]``; the defaults are CVAT's ``NUCLIO`` settings."""

    dashboard_url: str = "http://localhost:8070"
    #: ``x-nuclio-project-name``: the dashboard lists this project's functions only.
    project: str = "cvat"
    namespace: str = "nuclio"
    #: Seconds a function may take per frame (``X-Nuclio-Invoke-Timeout``).
    timeout: float = Field(default=120.0, gt=0)
    connect_timeout: float = Field(default=10.0, gt=0)


class NuclioBackend:
    def __init__(self, config: NuclioConfig | None = None) -> None:
        self.config = config or NuclioConfig()
        # Trackers of the older interface, seen in the last listing (which /api/lambda makes
        # before every call, to find the function's backend).
        self._point_trackers: set[str] = set()
        c = self.config
        self._http = httpx.Client(
            base_url=c.dashboard_url.rstrip("/"),
            timeout=httpx.Timeout(c.timeout, connect=c.connect_timeout),
            headers={"x-nuclio-project-name": c.project,
                     "x-nuclio-function-namespace": c.namespace,
                     "x-nuclio-invoke-via": "domain-name",
                     "x-nuclio-invoke-timeout": f"{int(c.timeout)}s"},
        )

    def _request(self, method: str, path: str, what: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TimeoutException:
            raise InferenceTimeoutError(f"Nuclio did not answer in time ({what}).") from None
        except httpx.TransportError as exc:
            raise InferenceUnavailableError(
                f"The Nuclio dashboard cannot be reached ({what}): {type(exc).__name__}."
            ) from None
        if response.status_code == 404:
            raise FunctionNotFoundError(f"Nuclio has no {what}.")
        if response.status_code >= 400:
            raise InferenceRejectedError(
                f"Nuclio answered {response.status_code} ({what}): {response.text[:200]}",
                response.status_code)
        return response

    def list_functions(self) -> list[dict[str, Any]]:
        functions = _json(self._request("GET", "/api/functions", "function list"))
        out, point_trackers = [], set()
        for name, item in (functions or {}).items() if isinstance(functions, dict) else []:
            try:
                descriptor = describe(item)
            except (KeyError, TypeError, ValueError) as exc:
                logger.error("Nuclio function %s skipped: bad metadata (%s)", name, exc)
                continue
            problems = check_descriptor(descriptor)
            if problems:
                logger.error("Nuclio function %s skipped: %s", name, "; ".join(problems))
                continue
            out.append(descriptor)
            if descriptor["kind"] == "tracker" and "supported_shape_types" not in (
                    item["metadata"].get("annotations") or {}):
                point_trackers.add(descriptor["id"])
        self._point_trackers = point_trackers
        return out

    def invoke(self, function_id: str, payload: dict[str, Any]) -> Any:
        points_only = function_id in self._point_trackers and "states" in payload
        if points_only:
            payload = {**payload, "shapes": [
                s["points"] if isinstance(s, dict) else s for s in payload.get("shapes", [])]}
        response = self._request(
            "POST", "/api/function_invocations", f"function {function_id!r}", json=payload,
            headers={"x-nuclio-function-name": function_id, "x-nuclio-path": "/"})
        answer = _json(response)
        if points_only and isinstance(answer, dict) and isinstance(answer.get("shapes"), list):
            answer["shapes"] = [None if p is None else {"type": "rectangle", "points": p}
                                for p in answer["shapes"]]
        return answer

    def health(self) -> dict[str, Any]:
        try:
            self._request("GET", "/api/functions", "function list")
        except Exception as exc:  # health never raises: it says what is wrong
            return {"ok": False, "detail": str(exc)}
        return {"ok": True, "detail": ""}


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise InferenceRejectedError("Nuclio's answer is not JSON.", 502) from None


def describe(item: dict[str, Any]) -> dict[str, Any]:
    """A dashboard function object as a CVAT descriptor (see the module text)."""
    metadata = item["metadata"]
    annotations = metadata.get("annotations") or {}
    kind = annotations.get("type")
    if kind not in FUNCTION_KINDS:
        raise ValueError(f"annotations.type {kind!r} is none of {', '.join(FUNCTION_KINDS)}")
    labels = json.loads(annotations.get("spec") or "[]")
    extra: dict[str, Any] = {}
    if kind == "tracker":
        declared = [t.strip() for t in str(annotations.get(
            "supported_shape_types", "rectangle")).split(",") if t.strip()]
        if not declared:
            raise ValueError("supported_shape_types names no shape type")
        extra["supported_shape_types"] = declared
    if kind == "interactor":
        for key in INTERACTOR_FIELDS:
            if key in annotations:
                value = annotations[key]
                extra[key] = (int(value) if key.startswith("min_") else
                              str(value).lower() == "true" if key.startswith("startswith")
                              else value)
    return describe_function(
        metadata["name"], name=annotations.get("name") or metadata["name"], kind=kind,
        labels=labels, description=(item.get("spec") or {}).get("description", ""),
        version=int(annotations.get("version", 1)), **extra)
