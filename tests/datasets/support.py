"""Annotating a task through cvat-sdk and reading annotations back in a comparable form."""

from __future__ import annotations

from typing import Any

from cvat_sdk import models


def label_ids(task: Any) -> dict[str, int]:
    """Label name -> id; sublabels as ``pose/head``."""
    found: dict[str, int] = {}
    for lbl in task.get_labels():
        found[lbl.name] = lbl.id
        for sub in lbl.sublabels or []:
            found[f"{lbl.name}/{sub.name}"] = sub.id
    return found


def spec_ids(task: Any) -> dict[str, int]:
    return {f"{lbl.name}.{a.name}": a.id for lbl in task.get_labels() for a in lbl.attributes}


def shape(ids: dict[str, int], kind: str, frame: int, label: str, points: list[float],
          **extra: Any) -> models.LabeledShapeRequest:
    return models.LabeledShapeRequest(type=models.ShapeType(kind), frame=frame,
                                      label_id=ids[label], points=points, **extra)


def element(ids: dict[str, int], label: str, points: list[float],
            **extra: Any) -> models.SubLabeledShapeRequest:
    return models.SubLabeledShapeRequest(type=models.ShapeType("points"), frame=0,
                                         label_id=ids[label], points=points, **extra)


MASK = [1, 3, 1, 4, 10, 12, 12, 14]  # RLE (9 pixels), then left, top, right, bottom


def all_shapes(task: Any) -> models.LabeledDataRequest:
    """One of every 2D shape type, a tag, attributes, a group and a skeleton."""
    ids, specs = label_ids(task), spec_ids(task)
    color = [models.AttributeValRequest(spec_id=specs["car.color"], value="blue"),
             models.AttributeValRequest(spec_id=specs["car.parked"], value="true")]
    return models.LabeledDataRequest(
        tags=[models.LabeledImageRequest(frame=1, label_id=ids["person"])],
        shapes=[
            shape(ids, "rectangle", 0, "car", [1, 2, 30, 20], attributes=color, occluded=True,
                  z_order=2, group=1),
            shape(ids, "rectangle", 1, "car", [5, 5, 25, 25], rotation=30.0),
            shape(ids, "polygon", 0, "person", [1, 1, 20, 1, 20, 20, 1, 20], group=1),
            shape(ids, "polyline", 1, "person", [1, 1, 10, 10, 20, 5]),
            shape(ids, "points", 2, "person", [3, 3, 7, 9]),
            shape(ids, "ellipse", 2, "car", [20, 20, 30, 15]),
            shape(ids, "mask", 2, "person", MASK),
            shape(ids, "skeleton", 0, "pose", [], elements=[
                element(ids, "pose/head", [10, 10]),
                element(ids, "pose/foot", [12, 30], occluded=True)]),
        ])


def boxes(task: Any) -> models.LabeledDataRequest:
    ids = label_ids(task)
    return models.LabeledDataRequest(shapes=[
        shape(ids, "rectangle", 0, "car", [1, 2, 30, 20]),
        shape(ids, "rectangle", 0, "person", [10, 12, 40, 44]),
        shape(ids, "rectangle", 2, "car", [5.5, 6.25, 25, 30]),
    ])


def tracks(task: Any) -> models.LabeledDataRequest:
    ids, specs = label_ids(task), spec_ids(task)
    return models.LabeledDataRequest(tracks=[
        models.LabeledTrackRequest(
            frame=0, label_id=ids["car"],
            attributes=[models.AttributeValRequest(spec_id=specs["car.color"], value="blue")],
            shapes=[models.TrackedShapeRequest(
                type=models.ShapeType("rectangle"), frame=f, points=[f, 1.0, f + 10.0, 11.0],
                outside=f == 2, attributes=[models.AttributeValRequest(
                    spec_id=specs["car.parked"], value="true" if f else "false")])
                for f in (0, 2)])])


def comparable(task: Any) -> dict[str, Any]:
    """The task's annotations with names instead of ids, rounded, in a stable order."""
    data = task.get_annotations()
    labels = {i: n.rsplit("/", 1)[-1] for n, i in label_ids(task).items()}
    specs = {a.id: a.name for lbl in task.get_labels() for a in lbl.attributes}

    def attrs(items: Any) -> dict[str, str]:
        return {specs[a.spec_id]: a.value for a in items}

    def one(s: Any) -> tuple[Any, ...]:
        elements = tuple(sorted(one(e) for e in (getattr(s, "elements", None) or [])))
        return (s.frame, labels.get(getattr(s, "label_id", None), ""), str(s.type),
                tuple(round(p, 1) for p in s.points), bool(s.occluded),
                round(float(getattr(s, "rotation", 0) or 0), 1), bool(s.outside),
                tuple(sorted(attrs(s.attributes).items())), elements)

    return {
        "tags": sorted((t.frame, labels[t.label_id], tuple(sorted(attrs(t.attributes).items())))
                       for t in data.tags),
        "shapes": sorted(one(s) for s in data.shapes),
        "tracks": sorted((labels[t.label_id], t.frame,
                          tuple(sorted(attrs(t.attributes).items())),
                          tuple(sorted(one(s)[:1] + one(s)[2:] for s in t.shapes)))
                         for t in data.tracks),
    }


def assert_same(target: Any, source: Any) -> None:
    """The two tasks' annotations are equal; a difference is shown item by item."""
    a, b = comparable(target), comparable(source)
    for key in ("tags", "shapes", "tracks"):
        assert len(a[key]) == len(b[key]), (key, a[key], b[key])
        for x, y in zip(a[key], b[key], strict=True):
            assert x == y, f"\n{x}\n!=\n{y}"


def coco_shapes(task: Any) -> models.LabeledDataRequest:
    """What COCO keeps: boxes, polygons and masks, with attributes and occlusion."""
    ids, specs = label_ids(task), spec_ids(task)
    color = [models.AttributeValRequest(spec_id=specs["car.color"], value="blue"),
             models.AttributeValRequest(spec_id=specs["car.parked"], value="true")]
    return models.LabeledDataRequest(shapes=[
        shape(ids, "rectangle", 0, "car", [1, 2, 30, 20], attributes=color, occluded=True),
        shape(ids, "polygon", 0, "person", [1, 1, 20, 1, 20, 20, 1, 20]),
        shape(ids, "mask", 2, "person", MASK),
    ])


def masks_only(task: Any) -> models.LabeledDataRequest:
    ids = label_ids(task)
    return models.LabeledDataRequest(shapes=[
        shape(ids, "mask", 0, "person", MASK),
        shape(ids, "mask", 2, "car", [0, 4, 2, 3, 30, 30, 32, 32]),
    ])
