"""Bodies the annotation tests send, and a check that answers satisfy cvat-sdk's models."""

from __future__ import annotations

import copy
from typing import Any

from cvat_sdk.api_client import Configuration
from cvat_sdk.api_client.model_utils import validate_and_convert_types

from .rows import Made

_CONFIGURATION = Configuration(host="http://cvatcore.test")


def sdk_check(model: str, data: Any) -> Any:
    """Validate ``data`` as cvat-sdk 2.80 would an answer of type ``model`` (e.g.
    ``"labeled_data.LabeledData"``); raises as the SDK's client would."""
    module_name, class_name = model.split(".")
    module = __import__(f"cvat_sdk.api_client.model.{module_name}", fromlist=[class_name])
    return validate_and_convert_types(
        copy.deepcopy(data), (getattr(module, class_name),), ["received_data"], True, True,
        configuration=_CONFIGURATION)


def strip_ids(value: Any) -> Any:
    """The body without ids (and without ``version``), to compare what was sent with what
    is read back."""
    if isinstance(value, dict):
        return {k: strip_ids(v) for k, v in value.items() if k not in ("id", "version")}
    if isinstance(value, list):
        return [strip_ids(v) for v in value]
    return value


def car_attributes(made: Made, color: str = "blue", parked: str = "true",
                   speed: str = "42", plate: str = "AB-1", kind: str = "van") -> list[dict]:
    """Every attribute of ``car``, so that a read adds no default values."""
    values = {"color": color, "parked": parked, "speed": speed, "plate": plate, "kind": kind}
    return [{"spec_id": made.specs[("car", name)], "value": value}
            for name, value in values.items()]


def shape(made: Made, kind: str, frame: int, points: list[float], label: str = "car",
          **extra: Any) -> dict[str, Any]:
    body = {
        "type": kind, "frame": frame, "label_id": made.labels[label], "group": 0,
        "source": "manual", "occluded": False, "outside": False, "z_order": 0,
        "rotation": 0.0, "points": [float(p) for p in points],
        "attributes": car_attributes(made) if label == "car" else [], "elements": [],
    }
    body.update(extra)
    return body


def skeleton(made: Made, frame: int) -> dict[str, Any]:
    elements = [
        {**shape(made, "points", frame, [1, 1], label="head"),
         "attributes": [{"spec_id": made.specs[("head", "visible")], "value": "false"}]},
        shape(made, "points", frame, [2, 9], label="foot", outside=True),
    ]
    for element in elements:
        element.pop("elements")
    return shape(made, "skeleton", frame, [], label="body", elements=elements)


def every_shape(made: Made, frame: int = 1) -> list[dict[str, Any]]:
    """One shape of each of CVAT's eight types."""
    mask = [3, 2, 4, 10, 10, 12, 12]  # a run-length code, then its box
    return [
        shape(made, "rectangle", frame, [1, 2, 30, 40], rotation=15.5, z_order=2),
        shape(made, "polygon", frame, [0, 0, 10, 0, 10, 10], occluded=True),
        shape(made, "polyline", frame, [0, 0, 5, 5], source="auto"),
        shape(made, "points", frame, [1, 1, 2, 2, 3, 3], source="semi-auto"),
        shape(made, "ellipse", frame, [50, 50, 70, 60], source="file"),
        shape(made, "cuboid", frame, list(range(16)), source="consensus"),
        shape(made, "mask", frame, mask, group=3),
        skeleton(made, frame),
    ]


def track(made: Made, frame: int, frames: list[int], label: str = "car") -> dict[str, Any]:
    """A rectangle track with a key shape on each of ``frames``; ``car``'s immutable
    attributes on the track and mutable ones on each shape."""
    immutable = {"color", "plate", "kind"}
    specs = made.specs
    track_attrs = [{"spec_id": specs[("car", n)], "value": v}
                   for n, v in (("color", "red"), ("plate", "X"), ("kind", "sedan"))]
    shapes = []
    for index, f in enumerate(frames):
        attrs = [{"spec_id": specs[("car", n)], "value": v}
                 for n, v in (("parked", "false"), ("speed", str(10 * index)))
                 if n not in immutable] if label == "car" else []
        shapes.append({"type": "rectangle", "frame": f, "occluded": False,
                       "outside": index == len(frames) - 1, "z_order": 0, "rotation": 0.0,
                       "points": [float(index), 0.0, 10.0, 10.0], "attributes": attrs})
    return {"frame": frame, "label_id": made.labels[label], "group": 0, "source": "manual",
            "attributes": track_attrs if label == "car" else [], "shapes": shapes,
            "elements": []}


def skeleton_track(made: Made, frame: int) -> dict[str, Any]:
    def element(label: str, x: float) -> dict[str, Any]:
        return {"frame": frame, "label_id": made.labels[label], "group": 0, "source": "manual",
                "attributes": [], "shapes": [
                    {"type": "points", "frame": frame, "occluded": False, "outside": False,
                     "z_order": 0, "rotation": 0.0, "points": [x, x],
                     "attributes": ([{"spec_id": made.specs[("head", "visible")],
                                      "value": "true"}] if label == "head" else [])}]}

    return {"frame": frame, "label_id": made.labels["body"], "group": 0, "source": "manual",
            "attributes": [], "shapes": [
                {"type": "skeleton", "frame": frame, "occluded": False, "outside": False,
                 "z_order": 0, "rotation": 0.0, "points": [], "attributes": []}],
            "elements": [element("head", 1.0), element("foot", 2.0)]}


def tag(made: Made, frame: int, label: str = "daytime") -> dict[str, Any]:
    return {"frame": frame, "label_id": made.labels[label], "group": 0, "source": "manual",
            "attributes": []}


def full_body(made: Made) -> dict[str, Any]:
    return {
        "tags": [tag(made, 0), tag(made, 3)],
        "shapes": every_shape(made, 1),
        "tracks": [track(made, 2, [2, 4, 6]), skeleton_track(made, 5)],
    }
