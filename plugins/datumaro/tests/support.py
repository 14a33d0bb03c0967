"""Annotating a task through cvat-sdk, and its annotations in a comparable form."""

from __future__ import annotations

from typing import Any

from cvat_sdk import models

Shape = models.LabeledShapeRequest
MASK = [1, 3, 1, 4, 10, 12, 12, 14]  # RLE over a 3x3 box (7 pixels), then left, top, right, bottom
MASK_B = [0, 4, 2, 3, 30, 30, 32, 32]


def ids(task: Any) -> tuple[dict[str, int], dict[str, int]]:
    """Label name -> id (sublabels as ``pose/head``), ``label.attribute`` -> spec id."""
    labels: dict[str, int] = {}
    specs: dict[str, int] = {}
    for lbl in task.get_labels():
        labels[lbl.name] = lbl.id
        for sub in lbl.sublabels or []:
            labels[f"{lbl.name}/{sub.name}"] = sub.id
        for a in lbl.attributes:
            specs[f"{lbl.name}.{a.name}"] = a.id
    return labels, specs


def shape(task: Any, kind: str, frame: int, label: str, points: list[float],
          attrs: dict[str, str] | None = None, **extra: Any) -> Shape:
    labels, specs = ids(task)
    return Shape(type=models.ShapeType(kind), frame=frame, label_id=labels[label],
                 points=points, attributes=_attrs(specs, label, attrs), **extra)


def tag(task: Any, frame: int, label: str, attrs: dict[str, str] | None = None
        ) -> models.LabeledImageRequest:
    labels, specs = ids(task)
    return models.LabeledImageRequest(frame=frame, label_id=labels[label],
                                      attributes=_attrs(specs, label, attrs))


def skeleton(task: Any, frame: int, head: list[float], foot: list[float],
             **foot_extra: Any) -> Shape:
    labels, _ = ids(task)
    return Shape(type=models.ShapeType("skeleton"), frame=frame, label_id=labels["pose"],
                 points=[], elements=[
                     models.SubLabeledShapeRequest(type=models.ShapeType("points"), frame=frame,
                                                   label_id=labels["pose/head"], points=head),
                     models.SubLabeledShapeRequest(type=models.ShapeType("points"), frame=frame,
                                                   label_id=labels["pose/foot"], points=foot,
                                                   **foot_extra)])


def track(task: Any, label: str, kind: str, shapes: dict[int, list[float]],
          outside_at: int) -> models.LabeledTrackRequest:
    """A track with a key frame on each of ``shapes``' frames, closed at ``outside_at``."""
    labels, _ = ids(task)
    frames = sorted(shapes)
    keyframes = [models.TrackedShapeRequest(type=models.ShapeType(kind), frame=f,
                                            points=shapes[f], outside=False) for f in frames]
    keyframes.append(models.TrackedShapeRequest(type=models.ShapeType(kind), frame=outside_at,
                                                points=shapes[frames[-1]], outside=True))
    return models.LabeledTrackRequest(frame=frames[0], label_id=labels[label], shapes=keyframes)


def _attrs(specs: dict[str, int], label: str, attrs: dict[str, str] | None
           ) -> list[models.AttributeValRequest]:
    return [models.AttributeValRequest(spec_id=specs[f"{label}.{k}"], value=v)
            for k, v in (attrs or {}).items()]


def comparable(task: Any) -> dict[str, Any]:
    """The task's annotations with names instead of ids, rounded, in a stable order."""
    data = task.get_annotations()
    labels = {i: n.rsplit("/", 1)[-1] for n, i in ids(task)[0].items()}
    specs = {a.id: a.name for lbl in task.get_labels() for a in lbl.attributes}

    def attrs(items: Any) -> tuple[tuple[str, str], ...]:
        return tuple(sorted((specs[a.spec_id], a.value) for a in items))

    def one(s: Any) -> tuple[Any, ...]:
        elements = tuple(sorted(one(e) for e in (getattr(s, "elements", None) or [])))
        return (s.frame, labels.get(getattr(s, "label_id", None), ""), str(s.type),
                tuple(round(p, 1) for p in s.points), bool(s.occluded),
                round(float(getattr(s, "rotation", 0) or 0), 1), bool(s.outside),
                attrs(s.attributes), elements)

    return {
        "tags": sorted((t.frame, labels[t.label_id], attrs(t.attributes)) for t in data.tags),
        "shapes": sorted(one(s) for s in data.shapes),
        "tracks": sorted((labels[t.label_id], t.frame, attrs(t.attributes),
                          tuple(sorted(one(s)[:1] + one(s)[2:] for s in t.shapes)))
                         for t in data.tracks),
    }
