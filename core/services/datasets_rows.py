"""A range of frames' tags and shapes as exporters take them, read for an export.

The rows come straight off the driver's cursor (``FixedQuery``: compiled once, no result
objects), one query per table and range, and become the exporter's dicts in one step: label
and attribute *names* from maps made once, each distinct attribute text decoded once, and the
label's default values filled in as a read through the annotation API fills them
(``annotations_output``). Going through the API's rows first (id-based dicts, then renamed
copies) took most of an export's time; the dicts made here are the same."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import orjson
from sqlalchemy import Connection, Text, bindparam, cast, select, type_coerce
from sqlalchemy.types import NullType

from cvatcore.core.db.fast_queries import FixedQuery
from cvatcore.core.models import Job, Shape, Tag
from cvatcore.core.services.labels import LabelIndex

Row = dict[str, Any]


def _where(c: Any, by_job: bool) -> Any:
    """The rows of one job, or of every annotation job of one task, on ``first..last``."""
    jobs = c.job_id == bindparam("job") if by_job else c.job_id.in_(
        select(Job.id).where(Job.task_id == bindparam("task"), Job.type == "annotation")
        .scalar_subquery())
    return jobs & c.frame.between(bindparam("first"), bindparam("last"))


def _as_driver_gives(column: Any) -> Any:
    """A column without a result processor: floats come as floats from both drivers (and
    psycopg's Float processor needs the cursor description ``FixedQuery`` skips); booleans
    as SQLite's 0/1 or PostgreSQL's bools, made ``bool`` where the dicts are made."""
    return type_coerce(column, NullType())


def _shapes(by_job: bool) -> FixedQuery:
    c = Shape.__table__.c
    plain = _as_driver_gives
    return FixedQuery(select(
        c.parent_id, c.id, c.label_id, c.frame, c.group, c.source, c.type, plain(c.occluded),
        plain(c.outside), c.z_order, plain(c.rotation), cast(c.points, Text), plain(c.score),
        cast(c.attributes, Text)).where(_where(c, by_job)).order_by(c.frame, c.id))


def _tags(by_job: bool) -> FixedQuery:
    c = Tag.__table__.c
    return FixedQuery(select(c.label_id, c.frame, c.group, c.source, cast(c.attributes, Text))
                      .where(_where(c, by_job)).order_by(c.frame, c.id))


SHAPES = {True: _shapes(True), False: _shapes(False)}
TAGS = {True: _tags(True), False: _tags(False)}


class NamedRows:
    """Tags and shapes of one job (``job_id``) or of a task's annotation jobs (``task_id``;
    only for tasks whose segments do not overlap), by frame, with names."""

    def __init__(self, conn: Connection, index: LabelIndex, *, job_id: int | None = None,
                 task_id: int | None = None) -> None:
        self.conn = conn
        self.by_job = job_id is not None
        self.params = {"job": job_id} if self.by_job else {"task": task_id}
        self.labels = {lid: label.name for lid, (label, _) in index.items()}
        self.specs = {sid: spec.name for _, specs in index.values()
                      for sid, spec in specs.items()}
        self.defaults = {lid: [(sid, specs[sid].name, specs[sid].default_value)
                               for sid in sorted(specs)] for lid, (_, specs) in index.items()}
        self._attributes: dict[tuple[int, str], dict[str, str]] = {}

    def attributes(self, label_id: int, text: str) -> dict[str, str]:
        """``{name: value}`` of a stored attribute list, the label's missing attributes with
        their default values (when the list is shorter than the label's, as a read does)."""
        known = self._attributes.get((label_id, text))
        if known is None:
            given = orjson.loads(text) if text else []
            specs = self.specs
            known = {specs[a["spec_id"]]: a["value"] for a in given if a["spec_id"] in specs}
            defaults = self.defaults.get(label_id, [])
            if len(given) < len(defaults):
                present = {a["spec_id"] for a in given}
                for spec_id, name, value in defaults:
                    if spec_id not in present:
                        known[name] = value
            self._attributes[(label_id, text)] = known
        return dict(known) if known else {}

    def shapes(self, first: int, last: int) -> dict[int, list[Row]]:
        """Top-level shapes by frame (frame, then id order), elements under their skeleton."""
        rows = SHAPES[self.by_job].all(self.conn, {**self.params, "first": first, "last": last})
        by_frame: dict[int, list[Row]] = defaultdict(list)
        parents: dict[int, Row] = {}
        children: list[tuple[int, Row]] = []
        labels, attributes, loads = self.labels, self.attributes, orjson.loads
        for (parent_id, shape_id, label_id, frame, group, source, kind, occluded, outside,
             z_order, rotation, points, score, attrs) in rows:
            shape = {"frame": frame, "group": group, "source": source, "type": kind,
                     "occluded": bool(occluded), "outside": bool(outside), "z_order": z_order,
                     "rotation": rotation, "points": loads(points)}
            if score is not None:
                shape["score"] = score
            shape["label"] = labels.get(label_id, "")
            shape["attributes"] = attributes(label_id, attrs)
            shape["elements"] = []
            if parent_id is None:
                parents[shape_id] = shape
                by_frame[frame].append(shape)
            else:
                children.append((parent_id, shape))
        for parent_id, shape in children:
            if parent_id in parents:
                parents[parent_id]["elements"].append(shape)
        return by_frame

    def tags(self, first: int, last: int) -> dict[int, list[Row]]:
        rows = TAGS[self.by_job].all(self.conn, {**self.params, "first": first, "last": last})
        by_frame: dict[int, list[Row]] = defaultdict(list)
        for label_id, frame, group, source, attrs in rows:
            by_frame[frame].append({"frame": frame, "group": group, "source": source,
                                    "label": self.labels.get(label_id, ""),
                                    "attributes": self.attributes(label_id, attrs),
                                    "elements": []})
        return by_frame
