"""Annotation rows as CVAT's ``LabeledData`` JSON.

As CVAT's ``JobAnnotation.init_from_db``, a read fills in the default value of every
attribute an annotation does not carry: all of the label's attributes on tags and shapes,
the immutable ones on a track, and the mutable ones on each tracked shape, where a missing
value repeats the previous shape's (that is how a track's attribute "keeps" its value).
The rows are changed in place: they are made for this one answer.
"""

from __future__ import annotations

from typing import Any

from cvatcore.core.services.labels import LabelIndex

Row = dict[str, Any]
Defaults = dict[int, tuple[list[Row], list[Row], list[Row]]]  # label -> all, immutable, mutable


def _defaults(labels: LabelIndex) -> Defaults:
    result: Defaults = {}
    for label_id, (_, specs) in labels.items():
        ordered = [specs[k] for k in sorted(specs)]
        result[label_id] = (
            [{"spec_id": s.id, "value": s.default_value} for s in ordered],
            [{"spec_id": s.id, "value": s.default_value} for s in ordered if not s.mutable],
            [{"spec_id": s.id, "value": s.default_value} for s in ordered if s.mutable],
        )
    return result


def _extend(attributes: list[Row], defaults: list[Row]) -> list[Row]:
    if len(attributes) >= len(defaults):
        return attributes  # the common case: every attribute is there already
    present = {a["spec_id"] for a in attributes}
    return attributes + [dict(d) for d in defaults if d["spec_id"] not in present]


def _shape(row: Row, defaults: Defaults | None, top: bool) -> Row:
    if row.get("score") is None:
        row.pop("score", None)
    if defaults is not None and row["label_id"] in defaults:
        row["attributes"] = _extend(row["attributes"], defaults[row["label_id"]][0])
    if top:
        row["elements"] = [_shape(e, defaults, False) for e in row.get("elements", ())]
    else:
        row.pop("elements", None)
    return row


def _track(row: Row, defaults: Defaults | None, top: bool) -> Row:
    label_defaults = defaults.get(row["label_id"]) if defaults is not None else None
    if label_defaults is not None:
        row["attributes"] = _extend(row["attributes"], label_defaults[1])
        previous = label_defaults[2]
        for shape in row["shapes"]:
            shape["attributes"] = _extend(shape["attributes"], previous)
            previous = shape["attributes"]
    for shape in row["shapes"]:
        shape.pop("track_id", None)
    if top:
        row["elements"] = [_track(e, defaults, False) for e in row.get("elements", ())]
    else:
        row.pop("elements", None)
    return row


def labeled_data(version: int, rows: dict[str, list[Row]], labels: LabelIndex | None) -> Row:
    """``{version, tags, shapes, tracks}``; with ``labels`` default attribute values are
    filled in (reads), without them the rows are shown as written (answers to writes, as
    CVAT's, show what was sent, with the new ids)."""
    defaults = _defaults(labels) if labels is not None else None
    tags = rows.get("tags", [])
    if defaults is not None:
        for tag in tags:
            if tag["label_id"] in defaults:
                tag["attributes"] = _extend(tag["attributes"], defaults[tag["label_id"]][0])
    return {
        "version": version,
        "tags": tags,
        "shapes": [_shape(s, defaults, True) for s in rows.get("shapes", ())],
        "tracks": [_track(t, defaults, True) for t in rows.get("tracks", ())],
    }
