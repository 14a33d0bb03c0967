"""The ``opencv`` backend's interactive functions: a GrabCut interactor and a template
tracker, both plain OpenCV from the ``opencv-python-headless`` wheel (no model).

``opencv-grabcut`` (interactor): the object around the positive points (or inside
``obj_bbox``) is cut from its background by GrabCut, positive points forced to foreground and
negative ones to background; the answer is the outline of the largest piece, in HRNet's
shape (``{"points": [[x, y], ...]}``).

``opencv-template-tracker`` (tracker, rectangles): the state is the box and a small
grayscale copy of what it showed on the first frame (at most ``TEMPLATE_SIDE`` pixels a
side, as a PNG); on each frame the copy is looked for near the last box (normalized cross
correlation). The state travels with the client, signed by the server, so any replica
tracks any object: nothing is kept here between calls. A match weaker than
``LOST_BELOW`` answers ``None`` for that shape (lost) and keeps the old box.
"""

from __future__ import annotations

import base64
from typing import Any

from cvatcore.hooks.inference_types import InferenceRejectedError, describe_function

GRABCUT = "opencv-grabcut"
TRACKER = "opencv-template-tracker"
TEMPLATE_SIDE = 48
LOST_BELOW = 0.3
FUNCTIONS = (
    describe_function(
        GRABCUT, name="GrabCut (OpenCV)", kind="interactor", min_pos_points=1,
        min_neg_points=0, startswith_box_optional=True,
        help_message="Click the object (and, if needed, around it); optionally draw a box.",
        description="OpenCV's GrabCut segmentation, in-process, CPU only."),
    describe_function(
        TRACKER, name="Template tracker (OpenCV)", kind="tracker",
        supported_shape_types=["rectangle"],
        description="Follows a box by normalized cross-correlation of its first look, "
                    "in-process, CPU only."),
)


def grabcut(image: Any, payload: dict[str, Any]) -> dict[str, Any]:
    import cv2
    import numpy as np

    height, width = image.shape[:2]
    pos = _points(payload.get("pos_points"), "pos_points")
    neg = _points(payload.get("neg_points") or [], "neg_points")
    box = _points(payload.get("obj_bbox") or [], "obj_bbox")
    if not pos and len(box) != 2:
        raise InferenceRejectedError("GrabCut needs positive points or a box.", 400)
    corners = box if len(box) == 2 else pos
    xs, ys = [p[0] for p in corners], [p[1] for p in corners]
    if len(box) != 2:  # points only: the object is assumed to reach somewhat beyond them
        pad = max(max(xs) - min(xs), max(ys) - min(ys), min(width, height) / 8)
        xs, ys = [min(xs) - pad, max(xs) + pad], [min(ys) - pad, max(ys) + pad]
    x1, y1 = max(int(min(xs)), 0), max(int(min(ys)), 0)
    x2, y2 = min(int(max(xs)) + 1, width), min(int(max(ys)) + 1, height)
    if x2 - x1 < 2 or y2 - y1 < 2:
        raise InferenceRejectedError("The region to cut is outside the frame.", 400)
    mask = np.full((height, width), cv2.GC_BGD, np.uint8)
    mask[y1:y2, x1:x2] = cv2.GC_PR_FGD
    radius = max(2, min(width, height) // 100)
    for points, value in ((pos, cv2.GC_FGD), (neg, cv2.GC_BGD)):
        for x, y in points:
            cv2.circle(mask, (int(x), int(y)), radius, int(value), -1)
    background, foreground = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.grabCut(image, mask, None, background, foreground, 3, cv2.GC_INIT_WITH_MASK)
    found = np.where((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD), 255, 0).astype(np.uint8)
    contours, _ = cv2.findContours(found, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return {"points": []}
    outline = max(contours, key=cv2.contourArea).reshape(-1, 2)
    return {"points": [[int(x), int(y)] for x, y in outline]}


def track(image: Any, payload: dict[str, Any]) -> dict[str, Any]:
    import cv2

    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    shapes_in, states_in = payload.get("shapes") or [], payload.get("states") or []
    count = max(len(shapes_in), len(states_in))
    shapes_in = list(shapes_in) + [None] * (count - len(shapes_in))
    states_in = list(states_in) + [None] * (count - len(states_in))
    shapes, states = [], []
    for shape, state in zip(shapes_in, states_in, strict=True):
        if state is None:
            if not isinstance(shape, dict) or len(shape.get("points") or []) != 4:
                raise InferenceRejectedError("A rectangle is needed to start tracking.", 400)
            state = _template(gray, [float(p) for p in shape["points"]])
            shapes.append({"type": "rectangle", "points": state["box"]})
        else:
            box = _follow(gray, state)
            shapes.append(None if box is None else {"type": "rectangle", "points": box})
            state = {**state, "box": box or state["box"]}
        states.append(state)
    return {"shapes": shapes, "states": states}


def _template(gray: Any, box: list[float]) -> dict[str, Any]:
    import cv2

    x1, y1, x2, y2 = (int(round(v)) for v in box)
    height, width = gray.shape
    x1, y1, x2, y2 = max(x1, 0), max(y1, 0), min(x2, width), min(y2, height)
    if x2 - x1 < 4 or y2 - y1 < 4:
        raise InferenceRejectedError("The box to track is too small or outside the frame.", 400)
    scale = min(1.0, TEMPLATE_SIDE / max(x2 - x1, y2 - y1))
    patch = cv2.resize(gray[y1:y2, x1:x2], None, fx=scale, fy=scale,
                       interpolation=cv2.INTER_AREA)
    ok, png = cv2.imencode(".png", patch)
    return {"box": [x1, y1, x2, y2], "scale": scale,
            "template": base64.b64encode(png.tobytes()).decode("ascii")}


def _follow(gray: Any, state: dict[str, Any]) -> list[float] | None:
    import cv2
    import numpy as np

    try:
        raw = base64.b64decode(state["template"])
        template = cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_GRAYSCALE)
        x1, y1, x2, y2 = (float(v) for v in state["box"])
        scale = float(state["scale"])
    except (KeyError, TypeError, ValueError):
        raise InferenceRejectedError("This is not a state of the template tracker.",
                                     400) from None
    if template is None or not 0 < scale <= 1:
        raise InferenceRejectedError("This is not a state of the template tracker.", 400)
    width, height = x2 - x1, y2 - y1
    # Look within one box size around the last place, at the template's scale.
    wx1, wy1 = max(int(x1 - width), 0), max(int(y1 - height), 0)
    wx2 = min(int(x2 + width), gray.shape[1])
    wy2 = min(int(y2 + height), gray.shape[0])
    window = cv2.resize(gray[wy1:wy2, wx1:wx2], None, fx=scale, fy=scale,
                        interpolation=cv2.INTER_AREA)
    if window.shape[0] < template.shape[0] or window.shape[1] < template.shape[1]:
        return None
    scores = cv2.matchTemplate(window, template, cv2.TM_CCOEFF_NORMED)
    _, best, _, (bx, by) = cv2.minMaxLoc(scores)
    if best < LOST_BELOW:
        return None
    nx, ny = wx1 + bx / scale, wy1 + by / scale
    return [round(nx, 2), round(ny, 2), round(nx + width, 2), round(ny + height, 2)]


def _points(value: Any, name: str) -> list[tuple[float, float]]:
    if not isinstance(value, list) or not all(
            isinstance(p, list | tuple) and len(p) == 2 for p in value):
        raise InferenceRejectedError(f"{name} must be a list of [x, y] points.", 400)
    try:
        return [(float(x), float(y)) for x, y in value]
    except (TypeError, ValueError):
        raise InferenceRejectedError(f"{name} must be a list of [x, y] points.",
                                     400) from None
