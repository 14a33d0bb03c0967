"""Online calls (``POST /api/lambda/functions/{id}``): one function on one frame of a task or
job, as CVAT's UI makes them: detectors (``mapping``, ``threshold``, ``roi``), interactors
(``pos_points``, ``neg_points``, ``obj_bbox``) and trackers (``shapes`` to start, ``states``
to go on).

A model server gets the frame (``backend.invoke``); a native function's agent gets an
interactive annotation request instead (``services/agent_calls.py``), which this call waits
on. So the call runs outside the request's write transaction (the operation manages its
own): it reads in the request's, and the ``call:function`` event is written once the
function has answered, in a short transaction of its own. ReID functions (model servers
only) get ``frame0``/``frame1`` and ``boxes0``/``boxes1`` and answer the matches.

Tracker states go back to the client signed by the server (``Secrets.sign``, for this
function and task): a state that was changed, made for another function or task, or is
older than 8 hours is a 400, as in CVAT, and never reaches the function.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from cvatcore.core.errors import ApiError, ValidationFailed
from cvatcore.core.models import Task
from cvatcore.core.secrets import BadSignature
from cvatcore.core.services import (
    agent_calls,
    labels,
    lambda_functions,
    lambda_mapping,
    lambda_roi,
    task_media,
)
from cvatcore.core.services.labels import LabelIndex
from cvatcore.core.services.lambda_functions import guarded, publish_call

if TYPE_CHECKING:
    from cvatcore.core.services.caller import Caller

TRACKER_STATE_MAX_AGE = 8 * 3600.0
BAD_STATE = "Invalid or expired tracker state"


class _Call:
    """What every kind needs: the caller, backend, function, task, job and frame."""

    def __init__(self, caller: Caller, function_id: str, data: dict[str, Any]) -> None:
        self.caller, self.function_id, self.data = caller, function_id, data
        self.backend, self.descriptor = lambda_functions.find(caller, function_id)
        task, self.job_id, frames = lambda_functions.target(caller, data, "view:data")
        self.task: Task = task
        self.frames = frames
        # ReID compares two frames (``frame0``, ``frame1``); the other kinds look at one.
        self.frame = 0 if self.descriptor["kind"] == "reid" else self.frame_of("frame")
        # Agent-run functions (the built-in ``native`` backend) answer through the queue.
        self.native = getattr(self.backend, "runs_on_agents", False)

    def frame_of(self, name: str) -> int:
        """The frame number ``data[name]``, within the task's or job's frames."""
        frame = self.data.get(name)
        if isinstance(frame, float) and frame.is_integer():
            frame = int(frame)  # cvat-sdk sends the fields its model does not declare as floats
        if isinstance(frame, bool) or not isinstance(frame, int):
            raise ValidationFailed.field(name, "A valid integer is required.")
        if frame not in self.frames:
            what = {"frame": "frame", "frame0": "start frame", "frame1": "end frame"}[name]
            raise ValidationFailed({"detail": f"The {what} {frame} is outside the "
                                              f"{'job' if self.job_id else 'task'} range."})
        return frame

    def image(self, frame: int, roi: lambda_roi.Roi | None = None) -> str:
        raw = lambda_functions.frame_raw(self.caller, self.task.id, frame)
        return lambda_roi.crop_b64(raw, roi) if roi else base64.b64encode(raw).decode("ascii")

    def invoke(self, payload: dict[str, Any]) -> Any:
        """The model server's answer for ``payload`` plus the frame (or its ``roi``); a
        payload that names its images (ReID) is sent as it is."""
        if "image0" not in payload:
            payload = {"image": self.image(self.frame, payload.pop("roi", None)), **payload}
        answer = guarded(lambda: self.backend.invoke(self.function_id, payload))
        self._published()
        return answer

    def ask_agent(self, params: dict[str, Any]) -> dict[str, Any]:
        return agent_calls.run(
            self.caller.state, function_id=int(self.function_id), task_id=self.task.id,
            params={"task": self.task.id, "frame": self.frame, **params},
            on_answer=self._published)

    def _published(self, session: Any = None) -> None:
        if session is not None:
            publish_call(self.caller, self.function_id, self.task, self.job_id, "online",
                         session=session)
            return
        with self.caller.state.db.unit_of_work() as own:
            publish_call(self.caller, self.function_id, self.task, self.job_id, "online",
                         session=own)


def call(caller: Caller, function_id: str, data: dict[str, Any]) -> Any:
    """``POST /api/lambda/functions/{id}`` (see the module text)."""
    one = _Call(caller, function_id, data)
    kind = one.descriptor["kind"]
    if data.get("roi") is not None and kind != "detector":
        raise ValidationFailed.field("roi", "Regions of interest are for detectors only.")
    if kind == "detector":
        return _detect(one)
    if kind == "interactor":
        return _interact(one)
    if kind == "tracker":
        return _track(one)
    return _reid(one)


def _detect(one: _Call) -> list[dict[str, Any]]:
    index = labels.label_index(one.caller.session, one.task)
    resolved = lambda_mapping.resolve(one.descriptor, index, one.data.get("mapping"))
    threshold = lambda_functions.threshold_of(one.data)
    roi = None
    if one.data.get("roi") is not None:
        meta = task_media.task_meta(one.caller, one.task.id)
        roi = lambda_roi.parse(one.data["roi"], lambda_roi.frame_sizes(meta, [one.frame]))
    if one.native:
        params: dict[str, Any] = {
            "type": "annotate_frame", "mapping": lambda_mapping.agent_mapping(resolved),
            "threshold": threshold, "conv_mask_to_poly": False}
        if roi is not None:
            params["roi"] = list(roi)
        found = one.ask_agent(params).get("annotations") or {}
        return _named_annotations(found.get("tags") or [],
                                  lambda_roi.offset_shapes(found.get("shapes") or [], roi),
                                  index)
    payload: dict[str, Any] = {"roi": roi}
    if threshold is not None:
        payload["threshold"] = threshold
    answer = one.invoke(payload)
    items = [i for i in answer if isinstance(i, dict)] if isinstance(answer, list) else []
    return _named(lambda_roi.offset_items(items, roi), resolved)


def _named(items: list[dict[str, Any]], resolved: lambda_mapping.Resolved
           ) -> list[dict[str, Any]]:
    """A model server's detections in the task's label names (unmapped labels dropped,
    attributes kept where they fit)."""
    out = []
    for item in items:
        entry = resolved.get(item.get("label"))
        if entry is not None:
            out.append({**item, "label": entry["name"],
                        "attributes": lambda_mapping.map_attributes(item, entry, by="name")})
    return out


def _named_annotations(tags: list[Any], shapes: list[Any], index: LabelIndex
                       ) -> list[dict[str, Any]]:
    """An agent's annotations (task label and attribute ids) in the online answer's shape:
    label and attribute names, as a model server's detections are given."""
    def named(item: Any) -> dict[str, Any] | None:
        found = index.get(item.get("label_id")) if isinstance(item, dict) else None
        if found is None:
            return None
        label, specs = found
        out = {"label": label.name, "type": item.get("type", "tag"),
               "attributes": [{"name": specs[a["spec_id"]].name, "value": a.get("value")}
                              for a in item.get("attributes") or []
                              if isinstance(a, dict) and a.get("spec_id") in specs]}
        for key in ("points", "rotation", "outside", "group"):
            if key in item:
                out[key] = item[key]
        if isinstance(item.get("elements"), list):
            out["elements"] = [e for e in map(named, item["elements"]) if e is not None]
        return out

    return [n for n in map(named, [*tags, *shapes]) if n is not None]


def _point_list(data: dict[str, Any], name: str, required: bool = True) -> list[list[float]]:
    value = data.get(name)
    if value is None and not required:
        return []
    if not isinstance(value, list) or not all(
            isinstance(p, list) and len(p) == 2 and all(
                isinstance(c, int | float) and not isinstance(c, bool) for c in p)
            for p in value):
        raise ValidationFailed.field(name, "A list of [x, y] points is required.")
    return value


def _interact(one: _Call) -> Any:
    data, spec = one.data, one.descriptor
    pos = _point_list(data, "pos_points")
    neg = _point_list(data, "neg_points", required=False)
    box = _point_list(data, "obj_bbox", required=False)
    if box and len(box) != 2:
        raise ValidationFailed.field("obj_bbox", "Two corners [[x1, y1], [x2, y2]] are "
                                                 "required.")
    if not one.native:  # CVAT passes these through to the model server unchecked
        payload: dict[str, Any] = {"pos_points": pos, "neg_points": neg,
                                   "obj_bbox": box or None}
        if data.get("threshold") is not None:
            payload["threshold"] = lambda_functions.threshold_of(data)
        return one.invoke(payload)
    # The agent refuses prompts its function does not take; say so before queueing.
    if len(pos) < spec.get("min_pos_points", 1):
        raise ValidationFailed.field("pos_points", f"At least {spec['min_pos_points']} "
                                                   "positive points are required.")
    min_neg = spec.get("min_neg_points", -1)
    if (min_neg < 0 and neg) or len(neg) < min_neg:
        raise ValidationFailed.field("neg_points", "This function takes no negative points."
                                     if min_neg < 0 else
                                     f"At least {min_neg} negative points are required.")
    if spec.get("startswith_box") and not box:
        raise ValidationFailed.field("obj_bbox", "This function needs a bounding box.")
    if box and not (spec.get("startswith_box") or spec.get("startswith_box_optional")):
        raise ValidationFailed.field("obj_bbox", "This function takes no bounding box.")
    result = one.ask_agent({"type": "interact", "pos_points": pos, "neg_points": neg,
                            "obj_bbox": box})
    return {"shapes": result.get("shapes") or []}


def _shapes(one: _Call, value: Any) -> list[dict[str, Any] | None]:
    supported = one.descriptor.get("supported_shape_types") or ["rectangle"]
    if not isinstance(value, list):
        raise ValidationFailed.field("shapes", "A list of shapes is required.")
    for shape in value:
        if shape is None:
            continue
        if not isinstance(shape, dict) or not isinstance(shape.get("points"), list) or not all(
                isinstance(p, int | float) and not isinstance(p, bool) for p in shape["points"]):
            raise ValidationFailed.field("shapes", "Each shape is {type, points: [numbers]}.")
        if shape.get("type") not in supported:
            raise ValidationFailed.field(
                "shapes", f"This function does not support shapes of type "
                          f"{shape.get('type')!r} (it tracks {', '.join(supported)}).")
    return value


def _track(one: _Call) -> dict[str, Any]:
    data = one.data
    if data.get("states") is None:  # starting: the shapes to follow
        states: list[Any] = []
        shapes = _shapes(one, data.get("shapes"))
    else:
        states = [_unsigned(one, s) for s in _list(data, "states")]
        shapes = (_shapes(one, data["shapes"]) if data.get("shapes") is not None
                  else [None] * len(states))
    if one.native:
        if not states and (not shapes or None in shapes):
            raise ValidationFailed.field("shapes", "Shapes to start tracking are required.")
        if states and None in states:
            raise ValidationFailed.field("states", "Every state must be given.")
        if states:
            result = one.ask_agent({"type": "track", "states": states})
            answer = {"shapes": result.get("shapes") or [], "states": result.get("states")}
        else:
            result = one.ask_agent({"type": "init_tracking", "shapes": [
                {"type": s["type"], "points": s["points"]} for s in shapes if s]})
            answer = {"shapes": shapes, "states": result.get("states")}
    else:
        answer = one.invoke({"shapes": shapes, "states": states})
    if not isinstance(answer, dict) or not isinstance(answer.get("states"), list):
        raise ApiError({"detail": f"Function {one.function_id} answered without tracker "
                                  "states."}, 502)
    return {**answer, "states": [_signed(one, s) for s in answer["states"]]}


def _reid(one: _Call) -> Any:
    """CVAT's ReID call: for each box of ``boxes0`` on ``frame0``, its match among
    ``boxes1`` on ``frame1`` (passed through)."""
    if one.native:  # cvat-cli serves detectors, interactors and trackers only
        raise ValidationFailed({"detail": "Native functions have no ReID kind."})
    first, second = one.frame_of("frame0"), one.frame_of("frame1")
    payload: dict[str, Any] = {"image0": one.image(first), "image1": one.image(second),
                               "boxes0": _list(one.data, "boxes0"),
                               "boxes1": _list(one.data, "boxes1")}
    threshold = lambda_functions.threshold_of(one.data)
    if threshold is not None:
        payload["threshold"] = threshold
    distance = one.data.get("max_distance")
    if distance is not None:
        if isinstance(distance, bool) or not isinstance(distance, int | float):
            raise ValidationFailed.field("max_distance", "A valid number is required.")
        payload["max_distance"] = distance
    return one.invoke(payload)


def _list(data: dict[str, Any], name: str) -> list[Any]:
    value = data.get(name)
    if not isinstance(value, list):
        raise ValidationFailed.field(name, "A list is required.")
    return value


def _purpose(one: _Call) -> str:
    return f"cvat-tracker-state:{one.function_id}"


def _signed(one: _Call, state: Any) -> str:
    return one.caller.state.secrets.sign(_purpose(one), {"task": one.task.id, "state": state})


def _unsigned(one: _Call, token: Any) -> Any:
    if token is None:
        return None
    try:
        value = one.caller.state.secrets.unsign(_purpose(one), token, TRACKER_STATE_MAX_AGE)
    except BadSignature:
        raise ValidationFailed({"detail": BAD_STATE}) from None
    if not isinstance(value, dict) or value.get("task") != one.task.id:
        raise ValidationFailed({"detail": BAD_STATE})
    return value.get("state")
