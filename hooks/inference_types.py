"""What inference backends hand the core and raise: function descriptors and errors.

A backend (``register_inference_backends``) describes each function it serves as a dict in
CVAT's ``/api/lambda/functions`` shape and answers an invocation with CVAT's result shapes.
``check_descriptor`` is the one check of that shape: the core runs it on every listing (a bad
descriptor is skipped and logged, as CVAT does) and the contract tests run it too.
"""

from __future__ import annotations

from typing import Any

#: CVAT's function kinds (``metadata.annotations.type`` of a Nuclio function).
FUNCTION_KINDS = ("detector", "interactor", "tracker", "reid")
#: Label types a function may declare; ``unknown`` (the default) matches any task label.
LABEL_TYPES = ("unknown", "any", "rectangle", "polygon", "polyline", "points", "ellipse",
               "cuboid", "mask", "skeleton", "tag")
#: Attribute input types, as in task labels.
INPUT_TYPES = ("checkbox", "radio", "number", "text", "select")
#: Shape types a detector may answer with (``type`` of each result item).
SHAPE_TYPES = ("rectangle", "polygon", "polyline", "points", "ellipse", "cuboid", "mask",
               "skeleton", "tag")


class InferenceError(Exception):
    """A function could not be run; ``status`` is the HTTP status the API answers with.

    The message is shown to the user as is: name the function and what failed, never a
    credential or an internal URL with one."""

    status = 502


class InferenceUnavailableError(InferenceError, ConnectionError):
    """The model server cannot be reached (connection refused or dropped): 503."""

    status = 503


class InferenceTimeoutError(InferenceError, TimeoutError):
    """The model server did not answer in time: 504."""

    status = 504


class FunctionNotFoundError(InferenceError, LookupError):
    """The backend serves no function with this id: 404."""

    status = 404


class InferenceRejectedError(InferenceError):
    """The function answered with an error (an HTTP error status, an unreadable answer);
    ``status`` is the upstream status where there is one, as CVAT passes it on."""

    def __init__(self, message: str, status: int = 502) -> None:
        super().__init__(message)
        self.status = status


def describe_function(
    id: str, *, name: str | None = None, kind: str = "detector",
    labels: list[dict[str, Any]] | None = None, description: str = "", version: int = 1,
    **extra: Any,
) -> dict[str, Any]:
    """A descriptor in CVAT's shape, with the defaults CVAT fills in: each label gets
    ``type`` ``"unknown"`` and ``attributes`` ``[]`` unless given; interactors get
    ``min_pos_points`` 1, ``min_neg_points`` -1, ``startswith_box`` false,
    ``startswith_box_optional`` false, ``help_message`` and ``animated_gif`` "".
    ``extra`` adds or overrides fields (interactor settings, ...)."""
    descriptor: dict[str, Any] = {
        "id": id, "kind": kind, "name": name or id, "description": description,
        "version": version, "labels_v2": [_label(label) for label in labels or []],
    }
    if kind == "interactor":
        descriptor.update(min_pos_points=1, min_neg_points=-1, startswith_box=False,
                          startswith_box_optional=False, help_message="", animated_gif="")
    descriptor.update(extra)
    return descriptor


def _label(label: dict[str, Any]) -> dict[str, Any]:
    out = {"name": label["name"], "type": label.get("type") or "unknown",
           "attributes": [dict(a) for a in label.get("attributes") or []]}
    for key in ("id", "svg"):
        if key in label:
            out[key] = label[key]
    if label.get("sublabels"):
        out["sublabels"] = [_label(sub) for sub in label["sublabels"]]
    return out


def check_descriptor(descriptor: Any) -> list[str]:
    """What is wrong with a function descriptor (an empty list when nothing is): the fields
    ``id``, ``kind``, ``name``, ``description``, ``version`` and ``labels_v2``, label names
    unique, label and attribute types known, skeleton sublabels well formed."""
    if not isinstance(descriptor, dict):
        return ["a descriptor is a JSON object"]
    problems = []
    fid = descriptor.get("id")
    if not isinstance(fid, str) or not fid:
        problems.append("id must be a non-empty string")
    if descriptor.get("kind") not in FUNCTION_KINDS:
        problems.append(f"kind must be one of {', '.join(FUNCTION_KINDS)}")
    for key in ("name", "description"):
        if not isinstance(descriptor.get(key), str):
            problems.append(f"{key} must be a string")
    if not isinstance(descriptor.get("version"), int):
        problems.append("version must be an integer")
    labels = descriptor.get("labels_v2")
    if not isinstance(labels, list):
        return [*problems, "labels_v2 must be a list"]
    return problems + _check_labels(labels, "labels_v2")


def _check_labels(labels: list[Any], where: str) -> list[str]:
    problems: list[str] = []
    names = [label.get("name") if isinstance(label, dict) else None for label in labels]
    if len(set(names)) != len(names):
        problems.append(f"{where}: label names must be unique")
    for label in labels:
        if not isinstance(label, dict) or not isinstance(label.get("name"), str):
            problems.append(f"{where}: every label needs a name")
            continue
        at = f"{where}[{label['name']}]"
        if label.get("type", "unknown") not in LABEL_TYPES:
            problems.append(f"{at}: unknown label type {label.get('type')!r}")
        for attr in label.get("attributes") or []:
            if not isinstance(attr, dict) or not isinstance(attr.get("name"), str):
                problems.append(f"{at}: every attribute needs a name")
            elif attr.get("input_type", "text") not in INPUT_TYPES:
                problems.append(f"{at}: unknown input_type {attr.get('input_type')!r}")
        if label.get("type") == "skeleton" and not label.get("sublabels"):
            problems.append(f"{at}: a skeleton needs sublabels")
        if label.get("sublabels"):
            problems += _check_labels(label["sublabels"], f"{at}.sublabels")
    return problems
