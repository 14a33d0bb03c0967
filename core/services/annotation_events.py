"""What an annotation change tells the event log: CVAT records ``<action>:tags``,
``<action>:shapes`` and ``<action>:tracks`` (one record per shape type, with ``count``,
``obj_name`` = the type, and a payload of ids, frames, labels and attributes only), not one
event per job. Services attach ``changes(action, rows)`` to their ``annotations`` domain
event; ``event_records`` turns it into those records."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

Row = dict[str, Any]
#: The key of the domain event's ``after`` that holds the changes.
KEY = "annotation_changes"


def changes(*parts: tuple[str, dict[str, list[Row]]]) -> dict[str, Any]:
    """``{KEY: [[action, summary], ...]}`` for (action, rows) pairs, in the order they
    happened (a PUT: the old annotations deleted, then the new ones created)."""
    return {KEY: [[action, summary(rows)] for action, rows in parts]}


def summary(rows: dict[str, list[Row]]) -> dict[str, Any]:
    """Tags as a list; shapes and tracks grouped by shape type (a track's is its first
    shape's); each annotation reduced to what CVAT keeps of it."""
    shapes: dict[str, list[Row]] = {}
    for shape in rows.get("shapes", ()):
        shapes.setdefault(shape.get("type") or "", []).append(_ids(shape))
    tracks: dict[str, list[Row]] = {}
    for track in rows.get("tracks", ()):
        first = track.get("shapes") or [{}]
        tracks.setdefault(first[0].get("type") or "", []).append(
            {**_ids(track), "shapes": [_ids(s) for s in track.get("shapes", ())]})
    return {"tags": [_ids(tag) for tag in rows.get("tags", ())], "shapes": shapes,
            "tracks": tracks}


def record_fields(summaries: Iterable[list[Any]]) -> list[tuple[str, dict[str, Any]]]:
    """(scope, fields) of each record the summaries make: ``count``, ``obj_name`` and the
    payload (``{"tags": [...]}``, ``{"shapes": [...]}``, ``{"tracks": [...]}``)."""
    out: list[tuple[str, dict[str, Any]]] = []
    for action, parts in summaries:
        if parts["tags"]:
            out.append((f"{action}:tags", {"count": len(parts["tags"]), "obj_name": None,
                                           "payload": {"tags": parts["tags"]}}))
        for kind in ("shapes", "tracks"):
            for shape_type, items in parts[kind].items():
                out.append((f"{action}:{kind}", {"count": len(items), "obj_name": shape_type,
                                                 "payload": {kind: items}}))
    return out


def _ids(row: Row) -> Row:
    out = {"id": row.get("id"), "frame": row.get("frame"),
           "attributes": row.get("attributes") or []}
    if row.get("label_id"):
        out["label_id"] = row["label_id"]
    return out
