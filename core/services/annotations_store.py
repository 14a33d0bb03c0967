"""Annotation rows in bulk: one statement per table for a write, one query per table for a read.

Rows travel as plain dicts, the shape ``annotations_validate`` makes (a skeleton's elements
under ``elements``, a track's shapes under ``shapes``). Inserts are executemany with
``RETURNING`` in parameter order, so a 50,000-shape job costs a handful of statements, and the
new ids go back onto the dicts for the answer. Reads never go row by row: tracked shapes of
every track come from one ``IN`` query.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Table, delete, func, insert, select, true

from cvatcore.core.models import Shape, Tag, Track, TrackedShape

Row = dict[str, Any]
KINDS = ("tags", "shapes", "tracks")

TAG_COLUMNS = ("id", "label_id", "frame", "group", "source", "attributes")
SHAPE_COLUMNS = ("id", "label_id", "frame", "group", "source", "type", "occluded", "outside",
                 "z_order", "rotation", "points", "score", "attributes")
TRACK_COLUMNS = ("id", "label_id", "frame", "group", "source", "attributes")
TRACKED_COLUMNS = ("id", "frame", "type", "occluded", "outside", "z_order", "rotation",
                   "points", "attributes")

TABLES: dict[str, Table] = {
    "tags": Tag.__table__,  # type: ignore[dict-item]
    "shapes": Shape.__table__,  # type: ignore[dict-item]
    "tracks": Track.__table__,  # type: ignore[dict-item]
}


def _values(row: Row, columns: Sequence[str], keep_id: bool, **extra: Any) -> Row:
    values = {name: row[name] for name in columns if name != "id"}
    if keep_id and row.get("id") is not None:
        values["id"] = row["id"]
    values.update(extra)
    return values


def _new_ids(conn: Connection, table: Table, count: int) -> list[int]:
    """``count`` unused ids of ``table``, taken before inserting so that the insert is a
    plain executemany (SQLite cannot return ids in parameter order from a batch, so
    ``RETURNING`` would mean one statement per row). PostgreSQL draws them from the
    column's sequence; SQLite counts on from the largest id, safe because a writing
    request holds SQLite's write lock from its first statement (``BEGIN IMMEDIATE``)."""
    if conn.dialect.name == "postgresql":
        sequence = func.pg_get_serial_sequence(table.name, "id")
        stmt = select(func.nextval(sequence)).select_from(func.generate_series(1, count))
        return list(conn.execute(stmt).scalars())
    last = conn.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()
    return list(range(last + 1, last + 1 + count))


def _insert(conn: Connection, table: Table, rows: list[Row], values: list[Row]) -> None:
    """Insert ``values``; rows without an id get a new one, set on the matching dict of
    ``rows`` too (rows that keep their id are an update)."""
    fresh = [i for i, v in enumerate(values) if "id" not in v]
    if fresh:
        for index, new_id in zip(fresh, _new_ids(conn, table, len(fresh)), strict=True):
            values[index]["id"] = rows[index]["id"] = new_id
    conn.execute(insert(table), values)


def insert_rows(conn: Connection, job_id: int, rows: dict[str, list[Row]],
                keep_ids: bool = False) -> None:
    """Write tags, shapes (then their elements) and tracks (then their elements, then every
    tracked shape) of one job; ids are set on ``rows``."""
    tags = rows.get("tags", [])
    if tags:
        _insert(conn, TABLES["tags"], tags,
                [_values(t, TAG_COLUMNS, keep_ids, job_id=job_id) for t in tags])
    shapes = rows.get("shapes", [])
    if shapes:
        _insert(conn, TABLES["shapes"], shapes,
                [_values(s, SHAPE_COLUMNS, keep_ids, job_id=job_id, parent_id=None)
                 for s in shapes])
        elements = [(e, s["id"]) for s in shapes for e in s.get("elements", ())]
        if elements:
            _insert(conn, TABLES["shapes"], [e for e, _ in elements],
                    [_values(e, SHAPE_COLUMNS, keep_ids, job_id=job_id, parent_id=p)
                     for e, p in elements])
    tracks = rows.get("tracks", [])
    if tracks:
        _insert_tracks(conn, job_id, tracks, keep_ids)


def _insert_tracks(conn: Connection, job_id: int, tracks: list[Row], keep_ids: bool) -> None:
    table = TABLES["tracks"]
    _insert(conn, table, tracks,
            [_values(t, TRACK_COLUMNS, keep_ids, job_id=job_id, parent_id=None) for t in tracks])
    elements = [(e, t["id"]) for t in tracks for e in t.get("elements", ())]
    if elements:
        _insert(conn, table, [e for e, _ in elements],
                [_values(e, TRACK_COLUMNS, keep_ids, job_id=job_id, parent_id=p)
                 for e, p in elements])
    everything = [*tracks, *(e for e, _ in elements)]
    shapes = [(s, t["id"]) for t in everything for s in t["shapes"]]
    if shapes:
        _insert(conn, TrackedShape.__table__,  # type: ignore[arg-type]
                [s for s, _ in shapes],
                [_values(s, TRACKED_COLUMNS, keep_ids, track_id=t) for s, t in shapes])


def delete_all(conn: Connection, job_ids: Sequence[int]) -> None:
    """Remove every annotation of ``job_ids`` (children first: no cascade row by row)."""
    if not job_ids:
        return
    tracks = select(Track.id).where(Track.job_id.in_(job_ids))
    conn.execute(delete(TrackedShape).where(TrackedShape.track_id.in_(tracks)))
    conn.execute(delete(Track).where(Track.job_id.in_(job_ids), Track.parent_id.is_not(None)))
    conn.execute(delete(Track).where(Track.job_id.in_(job_ids)))
    conn.execute(delete(Shape).where(Shape.job_id.in_(job_ids), Shape.parent_id.is_not(None)))
    conn.execute(delete(Shape).where(Shape.job_id.in_(job_ids)))
    conn.execute(delete(Tag).where(Tag.job_id.in_(job_ids)))


def delete_ids(conn: Connection, job_ids: Sequence[int], ids: dict[str, Iterable[int]]) -> None:
    """Remove the top-level annotations with these ids (with their elements and tracked
    shapes) if they belong to ``job_ids``; other ids are ignored, as CVAT does."""
    for kind, chunk in _chunks(ids):
        model: Any = {"tags": Tag, "shapes": Shape, "tracks": Track}[kind]
        own = select(model.id).where(model.job_id.in_(job_ids), model.id.in_(chunk))
        if kind == "tags":
            conn.execute(delete(Tag).where(Tag.id.in_(own)))
            continue
        if kind == "tracks":
            children = select(Track.id).where(Track.parent_id.in_(own))
            conn.execute(delete(TrackedShape).where(
                TrackedShape.track_id.in_(own) | TrackedShape.track_id.in_(children)))
        # Materialised first: PostgreSQL and SQLite differ on deleting from a table that the
        # statement's own subquery reads.
        top = list(conn.execute(own).scalars())
        conn.execute(delete(model).where(model.parent_id.in_(top)))
        conn.execute(delete(model).where(model.id.in_(top)))


def _chunks(ids: dict[str, Iterable[int]], size: int = 1000) -> Iterable[tuple[str, list[int]]]:
    """Long id lists in pieces: SQLite limits the parameters of one statement."""
    for kind, given in ids.items():
        values = list(given)
        for start in range(0, len(values), size):
            yield kind, values[start:start + size]


def existing(conn: Connection, job_ids: Sequence[int], kind: str,
             ids: Iterable[int]) -> dict[int, int]:
    """``{id: job_id}`` of the top-level annotations of ``kind`` among ``ids`` in the jobs."""
    found: dict[int, int] = {}
    model: Any = {"tags": Tag, "shapes": Shape, "tracks": Track}[kind]
    for _, chunk in _chunks({kind: ids}):
        stmt = select(model.id, model.job_id).where(model.job_id.in_(job_ids),
                                                    model.id.in_(chunk))
        if kind != "tags":
            stmt = stmt.where(model.parent_id.is_(None))
        found.update(dict(conn.execute(stmt).all()))
    return found


def element_ids(conn: Connection, kind: str, parent_ids: Iterable[int]) -> dict[int, int]:
    """``{element id: parent id}`` of the elements (or, for ``"tracked"``, the tracked
    shapes) under these parents."""
    found: dict[int, int] = {}
    for _, chunk in _chunks({kind: parent_ids}):
        if kind == "tracked":
            stmt = select(TrackedShape.id, TrackedShape.track_id).where(
                TrackedShape.track_id.in_(chunk))
        else:
            model: Any = Shape if kind == "shapes" else Track
            stmt = select(model.id, model.parent_id).where(model.parent_id.in_(chunk))
        found.update(dict(conn.execute(stmt).all()))
    return found


def read(conn: Connection, job_ids: Sequence[int],
         only: dict[str, list[int]] | None = None) -> dict[int, dict[str, list[Row]]]:
    """Every annotation of ``job_ids``, by job: one query per table. With ``only``, just
    the top-level annotations with those ids per kind (and their children)."""
    result: dict[int, dict[str, list[Row]]] = {j: {k: [] for k in KINDS} for j in job_ids}
    if not job_ids:
        return result
    tag = Tag.__table__.c
    if only is None or only.get("tags"):
        stmt = (select(tag.job_id, *(tag[c] for c in TAG_COLUMNS))
                .where(tag.job_id.in_(job_ids)).order_by(tag.frame, tag.id))
        if only is not None:
            stmt = stmt.where(tag.id.in_(only["tags"]))
        for values in conn.execute(stmt):
            result[values[0]]["tags"].append(dict(zip(TAG_COLUMNS, values[1:], strict=True)))
    if only is None or only.get("shapes"):
        _read_shapes(conn, job_ids, result, only and only["shapes"])
    if only is None or only.get("tracks"):
        _read_tracks(conn, job_ids, result, only and only["tracks"])
    return result


def read_ids(conn: Connection, job_ids: Sequence[int],
             ids: dict[str, list[int]]) -> dict[str, list[Row]]:
    """The stored annotations with these top-level ids in ``job_ids``, all jobs together."""
    found: dict[str, list[Row]] = {k: [] for k in KINDS}
    for kind, chunk in _chunks(ids):
        for rows in read(conn, job_ids, {**{k: [] for k in KINDS}, kind: chunk}).values():
            found[kind].extend(rows[kind])
    return found


def _mine(c: Any, ids: list[int] | None) -> Any:
    """Rows with these ids or whose parent has one (``None``: no limit)."""
    return true() if ids is None else c.id.in_(ids) | c.parent_id.in_(ids)


def _read_shapes(conn: Connection, job_ids: Sequence[int], result: dict[int, Any],
                 ids: list[int] | None = None) -> None:
    c = Shape.__table__.c
    parents: dict[int, Row] = {}
    children: list[tuple[int, Row]] = []
    stmt = (select(c.job_id, c.parent_id, *(c[n] for n in SHAPE_COLUMNS))
            .where(c.job_id.in_(job_ids), _mine(c, ids)).order_by(c.frame, c.id))
    for values in conn.execute(stmt):
        row = dict(zip(SHAPE_COLUMNS, values[2:], strict=True))
        if values[1] is None:
            row["elements"] = []
            parents[row["id"]] = row
            result[values[0]]["shapes"].append(row)
        else:
            children.append((values[1], row))
    for parent_id, row in children:
        if parent_id in parents:
            parents[parent_id]["elements"].append(row)


def _read_tracks(conn: Connection, job_ids: Sequence[int], result: dict[int, Any],
                 ids: list[int] | None = None) -> None:
    c = Track.__table__.c
    tracks: dict[int, Row] = {}
    children: list[tuple[int, Row]] = []
    stmt = (select(c.job_id, c.parent_id, *(c[n] for n in TRACK_COLUMNS))
            .where(c.job_id.in_(job_ids), _mine(c, ids)).order_by(c.id))
    for values in conn.execute(stmt):
        row = dict(zip(TRACK_COLUMNS, values[2:], strict=True))
        row["shapes"] = []
        tracks[row["id"]] = row
        if values[1] is None:
            row["elements"] = []
            result[values[0]]["tracks"].append(row)
        else:
            children.append((values[1], row))
    for parent_id, row in children:
        if parent_id in tracks:
            tracks[parent_id]["elements"].append(row)
    if not tracks:
        return
    s = TrackedShape.__table__.c
    owners = select(c.id).where(c.job_id.in_(job_ids), _mine(c, ids))
    stmt = (select(s.track_id, *(s[n] for n in TRACKED_COLUMNS))
            .where(s.track_id.in_(owners)).order_by(s.track_id, s.frame))
    by_track: dict[int, list[Row]] = defaultdict(list)
    for values in conn.execute(stmt):
        by_track[values[0]].append(dict(zip(TRACKED_COLUMNS, values[1:], strict=True)))
    for track_id, shapes in by_track.items():
        tracks[track_id]["shapes"] = shapes
