"""A local stand-in for the Nuclio dashboard, for tests (Nuclio itself needs Docker or
Kubernetes). It follows the dashboard's documented REST protocol for the requests CVAT's
gateway sends (see the plugin's README for the exact list):

* ``GET /api/functions``: an object keyed by function name, each ``{"metadata": {"name",
  "namespace", "annotations"}, "spec": {"description", "handler", "runtime"}, "status":
  {"state", "httpPort"}}``; only functions of the project named by
  ``x-nuclio-project-name``.
* ``GET /api/functions/<name>``: one of them, 404 when there is none.
* ``POST /api/function_invocations``: the function named by ``x-nuclio-function-name`` runs
  on the JSON body (the path in ``x-nuclio-path``); 404 for an unknown function; a
  function's error is a 500 with its message as the body.

``box_interactor``, ``shift_tracker``, ``point_tracker`` (an older tracker) and
``nearest_reid`` can be added with ``StandIn.add(..., kind="interactor" | "tracker" |
"reid")``. ``StandIn.delay`` holds every
invocation that long (timeouts); ``StandIn.requests`` records
``(method, path, headers, body)`` of every request.
"""

from __future__ import annotations

import base64
import io
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from typing import Any

from cvatcore.hooks.testing.httpd import serve_http

Handler = Callable[[dict[str, Any]], Any]


def box_detector(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The stand-in's detector: a confident ``car`` box over the middle half of the frame and
    a doubtful one in its top-left corner, filtered by ``threshold`` as CVAT's functions do."""
    from PIL import Image

    with Image.open(io.BytesIO(base64.b64decode(body["image"], validate=True))) as image:
        w, h = image.size
    found = [
        {"label": "car", "type": "rectangle", "confidence": 0.9,
         "points": [w * 0.25, h * 0.25, w * 0.75, h * 0.75]},
        {"label": "car", "type": "rectangle", "confidence": 0.3,
         "points": [0.0, 0.0, w * 0.2, h * 0.2]},
    ]
    threshold = float(body.get("threshold") or 0.0)
    return [item for item in found if item["confidence"] >= threshold]


def box_interactor(body: dict[str, Any]) -> dict[str, Any]:
    """The stand-in's interactor (HRNet's answer shape): the polygon around the positive
    points, or around ``obj_bbox`` when there is one."""
    corners = body.get("obj_bbox") or body["pos_points"]
    xs, ys = [p[0] for p in corners], [p[1] for p in corners]
    return {"points": [[min(xs), min(ys)], [max(xs), min(ys)], [max(xs), max(ys)],
                       [min(xs), max(ys)]]}


def shift_tracker(body: dict[str, Any]) -> dict[str, Any]:
    """The stand-in's tracker (CVAT's interface: ``shapes`` starts a state, ``states`` goes
    on): it follows something moving one pixel right and down per call; the state is the
    box and how many frames it was followed."""
    shapes, states = [], []
    for shape, state in zip(body["shapes"], body["states"] or [None] * len(body["shapes"]),
                            strict=True):
        if state is None:  # a new shape: its state starts here
            points = shape["points"] if isinstance(shape, dict) else shape
            state = {"box": points, "frames": 0}
        else:
            state = {"box": [p + 1 for p in state["box"]], "frames": state["frames"] + 1}
        states.append(state)
        shapes.append({"type": "rectangle", "points": state["box"]})
    return {"shapes": shapes, "states": states}


def point_tracker(body: dict[str, Any]) -> dict[str, Any]:
    """An older tracker (no ``supported_shape_types``): bare point lists in and out."""
    assert all(s is None or isinstance(s, list) for s in body["shapes"]), body["shapes"]
    answer = shift_tracker(body)
    return {**answer, "shapes": [s["points"] for s in answer["shapes"]]}


def nearest_reid(body: dict[str, Any]) -> list[int]:
    """The stand-in's ReID function (the body of CVAT's ``person-reidentification``: two
    images, ``boxes0``, ``boxes1``, ``threshold?``, ``max_distance?``): for each box of
    ``boxes0``, the index of the nearest unmatched box of ``boxes1`` whose centre lies
    within ``max_distance`` (50 by default) of its own, or -1."""
    for name in ("image0", "image1"):
        base64.b64decode(body[name], validate=True)  # two frames, as CVAT sends them
    limit = float(body.get("max_distance") or 50)

    def centre(box: dict[str, Any]) -> tuple[float, float]:
        x1, y1, x2, y2 = box["points"][:4]
        return (x1 + x2) / 2, (y1 + y2) / 2

    taken: set[int] = set()
    answer = []
    for box0 in body["boxes0"]:
        x0, y0 = centre(box0)
        found = sorted((((x - x0) ** 2 + (y - y0) ** 2) ** 0.5, i)
                       for i, (x, y) in enumerate(map(centre, body["boxes1"]))
                       if i not in taken)
        best = next((i for distance, i in found if distance <= limit), -1)
        taken.add(best)
        answer.append(best)
    return answer


def function_object(name: str, labels: list[dict[str, Any]], kind: str = "detector",
                    description: str = "", project: str = "cvat", port: int = 32768,
                    **annotations: str) -> dict[str, Any]:
    """A function as the dashboard lists it, with CVAT's ``function.yaml`` annotations."""
    return {
        "metadata": {"name": name, "namespace": "nuclio",
                     "labels": {"nuclio.io/project-name": project},
                     "annotations": {"name": annotations.pop("display_name", name),
                                     "type": kind, "spec": json.dumps(labels),
                                     "framework": "opencv", **annotations}},
        "spec": {"description": description, "handler": "main:handler",
                 "runtime": "python:3.9"},
        "status": {"state": "ready", "httpPort": port},
    }


class StandIn:
    def __init__(self) -> None:
        self.functions: dict[str, tuple[dict[str, Any], Handler]] = {}
        self.requests: list[tuple[str, str, dict[str, str], Any]] = []
        self.delay = 0.0
        self.url = ""

    def add(self, name: str, handler: Handler, labels: list[dict[str, Any]],
            **kwargs: Any) -> None:
        self.functions[name] = (function_object(name, labels, **kwargs), handler)

    def _listed(self, project: str | None) -> dict[str, Any]:
        return {name: obj for name, (obj, _) in self.functions.items()
                if project is None
                or obj["metadata"]["labels"]["nuclio.io/project-name"] == project}


def _handler_class(stand_in: StandIn) -> type[BaseHTTPRequestHandler]:
    class Dashboard(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # quiet test output
            pass

        def _answer(self, status: int, body: Any) -> None:
            raw = body if isinstance(body, bytes) else json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeouts)
                pass

        def _record(self, body: Any = None) -> None:
            stand_in.requests.append((self.command, self.path, dict(self.headers), body))

        def do_GET(self) -> None:  # noqa: N802 (http.server's names)
            self._record()
            listed = stand_in._listed(self.headers.get("x-nuclio-project-name"))
            if self.path.rstrip("/") == "/api/functions":
                return self._answer(200, listed)
            name = self.path.rstrip("/").rsplit("/", 1)[-1]
            if self.path.startswith("/api/functions/") and name in listed:
                return self._answer(200, listed[name])
            self._answer(404, {"error": "Function not found"})

        def do_POST(self) -> None:  # noqa: N802
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                return self._answer(400, {"error": "Body is not JSON"})
            self._record(body)
            if self.path.rstrip("/") != "/api/function_invocations":
                return self._answer(404, {"error": "Not found"})
            name = self.headers.get("x-nuclio-function-name")
            if not name:
                return self._answer(400, {"error": "Function name must be provided"})
            if name not in stand_in.functions:
                return self._answer(404, {"error": "Function not found"})
            if stand_in.delay:
                time.sleep(stand_in.delay)
            try:
                result = stand_in.functions[name][1](body)
            except Exception as exc:  # the function failed: Nuclio answers 500
                return self._answer(500, str(exc).encode())
            self._answer(200, result)

    return Dashboard


@contextmanager
def nuclio_dashboard() -> Iterator[StandIn]:
    """A running stand-in on 127.0.0.1 (a free port) serving ``openvino-car-detector``
    (``box_detector``); add more with ``StandIn.add``."""
    stand_in = StandIn()
    stand_in.add("openvino-car-detector", box_detector,
                 [{"id": 0, "name": "car", "type": "rectangle"},
                  {"id": 1, "name": "bus", "attributes": [
                      {"name": "color", "input_type": "select", "values": ["red", "blue"]}]}],
                 display_name="Car detector", description="Stand-in cars")
    with serve_http(_handler_class(stand_in), daemon_threads=True) as url:
        stand_in.url = url
        yield stand_in
