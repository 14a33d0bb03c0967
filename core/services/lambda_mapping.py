"""From a function's labels to a task's: CVAT's label mapping, and detections turned into
annotations a task can store.

``resolve`` is checked when a call or a batch request is made (a bad mapping is a 400 before
any model runs); its result is plain JSON, so a batch job carries it in its arguments.
``to_annotations`` turns one frame's detections into the body of an annotations write; the
annotations services check that body like any client's.
"""

from __future__ import annotations

from typing import Any

from cvatcore.core.errors import ValidationFailed
from cvatcore.core.models import AttributeSpec, Label
from cvatcore.core.services.labels import LabelIndex

Resolved = dict[str, dict[str, Any]]


def _compatible(model_type: str, task_type: str) -> bool:
    if model_type == task_type or {model_type, task_type} == {"mask", "polygon"}:
        return True
    if "skeleton" in (model_type, task_type):
        return False
    return task_type == "any" or model_type == "unknown"


def _fail(message: str) -> ValidationFailed:
    return ValidationFailed.field("mapping", message)


def resolve(function: dict[str, Any], index: LabelIndex, mapping: Any = None) -> Resolved:
    """``{function label: {"label_id", "name", "type", "attributes": {function attr: task
    attribute}, "sublabels": {...}}}``. Without ``mapping`` a function label goes to the
    task label of its name when their types fit (CVAT's default); an explicit mapping is
    checked whole: unknown labels or attributes, types that do not fit, or a skeleton
    without ``sublabels`` are a 400."""
    tops = {label.name: (label, specs) for label, specs in index.values() if label.parent_id
            is None}
    children: dict[int, dict[str, tuple[Label, dict[int, AttributeSpec]]]] = {}
    for label, specs in index.values():
        if label.parent_id is not None:
            children.setdefault(label.parent_id, {})[label.name] = (label, specs)
    model = {label["name"]: label for label in function.get("labels_v2", [])}
    if mapping is None:
        return _default(model, tops, children)
    if not isinstance(mapping, dict):
        raise _fail("An object {function label: {name: task label}} is required.")
    return {name: _explicit(name, entry, model, tops, children)
            for name, entry in mapping.items()}


def _default(model: dict[str, Any], tops: dict[str, Any], children: dict[int, Any]) -> Resolved:
    out: Resolved = {}
    for name, label in model.items():
        if name not in tops:
            continue
        task_label, specs = tops[name]
        if not _compatible(label.get("type", "unknown"), task_label.type):
            continue
        attributes = {a["name"]: a["name"] for a in label.get("attributes", [])}
        sub = None
        if task_label.type == "skeleton":
            sub = {s["name"]: {"name": s["name"]} for s in label.get("sublabels", [])
                   if s["name"] in children.get(task_label.id, {})}
        out[name] = _entry(task_label, specs, attributes, sub, children, strict=False)
    return out


def _explicit(name: str, entry: Any, model: dict[str, Any], tops: dict[str, Any],
              children: dict[int, Any]) -> dict[str, Any]:
    if isinstance(entry, str):
        entry = {"name": entry}
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise _fail(f"{name}: an object with the task label's name is required.")
    if name not in model:
        raise _fail(f"The function has no label {name!r}.")
    if entry["name"] not in tops:
        raise _fail(f"The task has no label {entry['name']!r}.")
    task_label, specs = tops[entry["name"]]
    model_type = model[name].get("type", "unknown")
    if not _compatible(model_type, task_label.type):
        raise _fail(f"{name}: a {model_type} label cannot go to the {task_label.type} label "
                    f"{task_label.name!r}.")
    if task_label.type == "skeleton" and not entry.get("sublabels"):
        raise _fail(f"{name}: a skeleton needs sublabels.")
    known = {a["name"] for a in model[name].get("attributes", [])}
    attributes = entry.get("attributes") or {}
    for attr in attributes:
        if attr not in known:
            raise _fail(f"{name}: the function label has no attribute {attr!r}.")
    return _entry(task_label, specs, attributes, entry.get("sublabels"), children, strict=True)


def _entry(label: Label, specs: dict[int, AttributeSpec], attributes: dict[str, str],
           sublabels: dict[str, Any] | None, children: dict[int, Any], strict: bool
           ) -> dict[str, Any]:
    by_name = {spec.name: spec for spec in specs.values()}
    attrs = {}
    for model_attr, task_attr in attributes.items():
        spec = by_name.get(task_attr)
        if spec is None:
            if strict:
                raise _fail(f"The task label {label.name!r} has no attribute {task_attr!r}.")
            continue
        attrs[model_attr] = {"spec_id": spec.id, "name": spec.name,
                             "input_type": spec.input_type, "values": list(spec.values or [])}
    out: dict[str, Any] = {"label_id": label.id, "name": label.name, "type": label.type,
                           "attributes": attrs}
    if label.type == "skeleton":
        points = children.get(label.id, {})
        subs = {}
        for model_sub, target in (sublabels or {}).items():
            target_name = target["name"] if isinstance(target, dict) else target
            if target_name not in points:
                raise _fail(f"The skeleton {label.name!r} has no point {target_name!r}.")
            sub_label, sub_specs = points[target_name]
            subs[model_sub] = _entry(sub_label, sub_specs, {}, None, children, strict)
        out["sublabels"] = subs
        out["all_points"] = [sub.id for sub, _ in points.values()]
    return out


# -- detections -> annotations ----------------------------------------------------------------


def map_attributes(item: dict[str, Any], entry: dict[str, Any], by: str = "spec_id"
                   ) -> list[dict[str, Any]]:
    """The item's attributes that are mapped and whose value fits the task attribute, as
    ``{"spec_id", "value"}`` (or ``{"name", "value"}`` with ``by="name"``)."""
    out = []
    for attr in item.get("attributes") or []:
        target = entry["attributes"].get(attr.get("name")) if isinstance(attr, dict) else None
        if target is not None and _fits(str(attr.get("value", "")), target):
            out.append({by: target[by], "value": str(attr["value"])})
    return out


def _fits(value: str, spec: dict[str, Any]) -> bool:
    kind = spec["input_type"]
    if kind == "number":
        try:
            float(value)
        except ValueError:
            return False
        return True
    if kind == "checkbox":
        return value in ("true", "false")
    if kind in ("select", "radio"):
        return value in spec["values"]
    return True


def to_annotations(frame: int, items: Any, resolved: Resolved, conv_mask_to_poly: bool
                   ) -> dict[str, list[dict[str, Any]]]:
    """One frame's detections as ``{"tags", "shapes"}`` with ``source="auto"``; items of
    unmapped labels are dropped, as CVAT does."""
    body: dict[str, list[dict[str, Any]]] = {"tags": [], "shapes": []}
    for item in items if isinstance(items, list) else []:
        entry = resolved.get(item.get("label")) if isinstance(item, dict) else None
        if entry is None:
            continue
        common = {"frame": frame, "label_id": entry["label_id"], "source": "auto",
                  "group": int(item.get("group_id") or 0),
                  "attributes": map_attributes(item, entry)}
        if item.get("type") == "tag":
            body["tags"].append(common)
            continue
        shape = _shape(item, entry, common, conv_mask_to_poly)
        if shape is not None:
            body["shapes"].append(shape)
    return body


def _shape(item: dict[str, Any], entry: dict[str, Any], common: dict[str, Any],
           conv_mask_to_poly: bool) -> dict[str, Any] | None:
    kind = item.get("type")
    points = item.get("points") or []
    if kind == "mask":
        if conv_mask_to_poly and points:
            kind = "polygon"
        else:
            points = item.get("mask") or points
    shape = {**common, "type": kind, "points": [float(p) for p in points],
             "occluded": False, "z_order": 0, "outside": bool(item.get("outside", False))}
    if kind in ("rectangle", "ellipse"):
        shape["rotation"] = float(item.get("rotation") or 0.0)
    if kind == "skeleton":
        shape["points"] = []
        shape["elements"] = _elements(item, entry, common["frame"])
        if not shape["elements"] or all(e["outside"] for e in shape["elements"]):
            return None
    return shape


def _elements(item: dict[str, Any], entry: dict[str, Any], frame: int) -> list[dict[str, Any]]:
    """Mapped skeleton points; points the function did not give are added as ``outside`` at
    the centroid of the given ones (a skeleton needs all its points)."""
    given: dict[int, dict[str, Any]] = {}
    for element in item.get("elements") or []:
        sub = entry.get("sublabels", {}).get(element.get("label"))
        if sub is not None and element.get("points"):
            given[sub["label_id"]] = {
                "type": "points", "frame": frame, "label_id": sub["label_id"], "source": "auto",
                "points": [float(p) for p in element["points"][:2]],
                "outside": bool(element.get("outside", False)), "occluded": False,
                "attributes": map_attributes(element, sub)}
    if not given:
        return []
    xs = [e["points"][0] for e in given.values()]
    ys = [e["points"][1] for e in given.values()]
    centroid = [sum(xs) / len(xs), sum(ys) / len(ys)]
    for label_id in entry.get("all_points", []):
        given.setdefault(label_id, {"type": "points", "frame": frame, "label_id": label_id,
                                    "source": "auto", "points": centroid, "outside": True,
                                    "occluded": False, "attributes": []})
    return list(given.values())


def agent_mapping(resolved: dict[str, Any]) -> dict[str, Any]:
    """A resolved label mapping (``services/lambda_mapping.resolve``) in the shape agents
    read: ``{function label: {"name", "attributes": {function attr: task attr},
    "sublabels": {function sublabel: {"name", "attributes"}}}}``."""
    def entry(value: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"name": value["name"], "attributes": {
            name: spec["name"] for name, spec in value.get("attributes", {}).items()}}
        if value.get("sublabels"):
            out["sublabels"] = {name: entry(sub) for name, sub in value["sublabels"].items()}
        return out

    return {name: entry(value) for name, value in resolved.items()}
