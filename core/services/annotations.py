"""Annotations of jobs and tasks: read, replace (PUT), patch (create, update, delete by id)
and delete, with CVAT's scopes (``view:annotations``, ``update:annotations``,
``delete:annotations`` on the job or task).

Every write checks the whole body first (``annotations_validate``), then takes the job's row
lock by bumping its ``version`` (so concurrent writers to one job queue up), then writes in
bulk (``annotations_store``). Each changed job publishes one ``annotations`` event with the
job as its object. A task's annotations are spread over its jobs (``annotations_task``).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, select

from cvatcore.core.bus import snapshot
from cvatcore.core.errors import ValidationFailed
from cvatcore.core.models import Job, Project, Segment, Task, TaskData
from cvatcore.core.models.base import utcnow
from cvatcore.core.services import annotation_events, changes, jobs, labels, tasks
from cvatcore.core.services import annotations_store as store
from cvatcore.core.services.annotations_output import labeled_data
from cvatcore.core.services.annotations_task import (
    FrameSet,
    JobPart,
    copies_of,
    gather,
    segment_frames,
    shared_frames,
    spread,
)
from cvatcore.core.services.annotations_validate import (
    Scope,
    check_body,
    check_ids,
    given_ids,
)

if TYPE_CHECKING:
    from cvatcore.core.services.caller import Caller

Row = dict[str, Any]
Rows = dict[str, list[Row]]
ACTIONS = ("create", "update", "delete")
KINDS = store.KINDS


def check_action(action: str | None) -> str:
    if action not in ACTIONS:
        raise ValidationFailed.field("action", "Use action=create, update or delete.")
    return action


def _conn(caller: Caller) -> Connection:
    caller.session.flush()
    return caller.session.connection()


def _task_size(caller: Caller, task: Task) -> int:
    data = caller.session.get(TaskData, task.data_id) if task.data_id is not None else None
    return data.size if data is not None else 0


def _bump(caller: Caller, job: Job, task: Task) -> dict[str, Any]:
    """Take the job's row lock and count a new version; the job's, its task's and project's
    ``updated_date`` move too (as CVAT's ``touch``). Returns the job as it was."""
    before = snapshot(job)
    now = utcnow()
    job.version = Job.version + 1  # type: ignore[assignment]  # in SQL: no lost increments
    job.updated_date = now
    task.updated_date = now
    if task.project_id is not None:
        project = caller.session.get(Project, task.project_id)
        if project is not None:
            project.updated_date = now
    caller.session.flush()
    return before


def _publish(caller: Caller, action: str, job: Job, task: Task, before: dict[str, Any],
             *parts: tuple[str, Rows]) -> None:
    """One ``<action>:annotations`` event for the job, in its task's organization, with what
    changed (``parts``: (action, rows) pairs) for the event log's per-kind records."""
    changes.publish(caller, action, "annotations", job, before, org_id=task.organization_id,
                    extra=annotation_events.changes(*parts))


# -- jobs ----------------------------------------------------------------------------------


def _job_target(caller: Caller, job: Job) -> tuple[Task, Scope]:
    task = caller.session.get(Task, job.task_id)
    assert task is not None  # a job goes with its task
    segment = caller.session.get(Segment, job.segment_id)
    size = _task_size(caller, task)
    frames = FrameSet(size, [segment_frames(segment)] if segment is not None else [])
    whole = FrameSet(size, [range(size)])
    scope = Scope(labels.label_index(caller.session, task), frames, frames.describe("the job's"),
                  whole, whole.describe("the task's"))
    return task, scope


def job_annotations(caller: Caller, job_id: int, raw: bool = False) -> Row:
    """The job's ``LabeledData``; with ``raw``, points are the stored JSON text
    (``orjson.Fragment``s, for ``annotations_json.encode``)."""
    job = jobs.get(caller, job_id, "view:annotations")
    task = caller.session.get(Task, job.task_id)
    assert task is not None
    rows = store.read(_conn(caller), [job.id], raw=raw)[job.id]
    return labeled_data(job.version, rows, labels.label_index(caller.session, task))


def replace_job(caller: Caller, job_id: int, data: dict[str, Any]) -> Row:
    """PUT: the job's annotations become exactly ``data``."""
    job = jobs.get(caller, job_id, "update:annotations")
    task, scope = _job_target(caller, job)
    rows = check_body(scope, data)
    before = _bump(caller, job, task)
    conn = _conn(caller)
    old = store.read(conn, [job.id])[job.id]
    store.delete_all(conn, [job.id])
    store.insert_rows(conn, job.id, rows)
    _publish(caller, "update", job, task, before, ("delete", old), ("create", rows))
    return labeled_data(job.version, rows, None)


def patch_job(caller: Caller, job_id: int, action: str | None, data: dict[str, Any]) -> Row:
    """PATCH ``?action=create|update|delete``: add, replace by id, or remove by id."""
    action = check_action(action)
    job = jobs.get(caller, job_id, "update:annotations")
    task, scope = _job_target(caller, job)
    if action == "delete":
        ids = check_ids(data)
        gone = store.read_ids(_conn(caller), [job.id], ids)
        if any(gone.values()):  # ids that are not here change nothing, as in CVAT
            before = _bump(caller, job, task)
            store.delete_ids(_conn(caller), [job.id], ids)
            _publish(caller, "delete", job, task, before, ("delete", gone))
        return labeled_data(job.version, gone, None)
    rows = check_body(scope, data)
    if not any(rows.values()):
        return labeled_data(job.version, rows, None)  # nothing to change: no new version
    if action == "update":
        given_ids(data, rows)
    before = _bump(caller, job, task)
    conn = _conn(caller)
    if action == "update":
        _require_known(conn, [job.id], rows)
        _keep_own_child_ids(conn, rows)
        store.delete_ids(conn, [job.id], _top_ids(rows))
    store.insert_rows(conn, job.id, rows, keep_ids=action == "update")
    _publish(caller, action, job, task, before, (action, rows))
    return labeled_data(job.version, rows, None)


def delete_job(caller: Caller, job_id: int) -> None:
    job = jobs.get(caller, job_id, "delete:annotations")
    task = caller.session.get(Task, job.task_id)
    assert task is not None
    before = _bump(caller, job, task)
    conn = _conn(caller)
    old = store.read(conn, [job.id])[job.id]
    store.delete_all(conn, [job.id])
    _publish(caller, "delete", job, task, before, ("delete", old))


def _top_ids(rows: Rows) -> dict[str, list[int]]:
    return {kind: [r["id"] for r in rows.get(kind, ())] for kind in KINDS}


def _require_known(conn: Connection, job_ids: list[int], rows: Rows) -> dict[int, int]:
    """``{id: job id}`` of the annotations to update; a 400 for ids not in these jobs."""
    errors: dict[str, list[str]] = {}
    where: dict[int, int] = {}
    for kind, ids in _top_ids(rows).items():
        found = store.existing(conn, job_ids, kind, ids)
        missing = [i for i in ids if i not in found]
        if missing:
            shown = ", ".join(map(str, missing[:20]))
            errors[kind] = [f"No {kind[:-1]} with id {shown} here to update."]
        where.update(found)
    if errors:
        raise ValidationFailed(errors)
    return where


def _keep_own_child_ids(conn: Connection, rows: Rows) -> None:
    """An update keeps the ids of elements and tracked shapes that already belong to the
    annotation; any other id given is dropped (the row gets a new one), so that a body can
    never take over another annotation's row."""
    shapes = rows.get("shapes", [])
    owned = store.element_ids(conn, "shapes", [s["id"] for s in shapes])
    for shape in shapes:
        _keep(shape.get("elements", ()), owned, shape["id"])
    tracks = rows.get("tracks", [])
    owned = store.element_ids(conn, "tracks", [t["id"] for t in tracks])
    for track in tracks:
        _keep(track.get("elements", ()), owned, track["id"])
    everything = [*tracks, *(e for t in tracks for e in t.get("elements", ()))]
    tracked = store.element_ids(conn, "tracked",
                                [t["id"] for t in everything if t.get("id") is not None])
    for track in everything:
        _keep(track["shapes"], tracked, track.get("id"))


def _keep(children: Iterable[Row], owned: dict[int, int], parent_id: int | None) -> None:
    for child in children:
        if child.get("id") is not None and (parent_id is None
                                            or owned.get(child["id"]) != parent_id):
            child["id"] = None


# -- tasks ---------------------------------------------------------------------------------


def _parts(caller: Caller, task: Task) -> list[JobPart]:
    """The task's annotation jobs with their segments, in frame order (one query)."""
    stmt = (select(Job, Segment).join(Segment, Segment.id == Job.segment_id)
            .where(Job.task_id == task.id, Job.type == "annotation")
            .order_by(Segment.start_frame, Job.id))
    return [JobPart(job, segment_frames(segment)) for job, segment in caller.session.execute(stmt)]


def _lock(caller: Caller, parts: list[JobPart]) -> None:
    """Row locks on the task's jobs before a task-wide write (PostgreSQL; SQLite's writers
    are serialized by its write lock already)."""
    if parts:
        caller.session.execute(select(Job.id).where(Job.id.in_([p.job.id for p in parts]))
                            .with_for_update())


def _task_scope(caller: Caller, task: Task, parts: list[JobPart]) -> Scope:
    size = _task_size(caller, task)
    frames = FrameSet(size, [p.frames for p in parts])
    return Scope(labels.label_index(caller.session, task), frames, frames.describe("the task's"),
                 frames, frames.describe("the task's"))


def _gathered(caller: Caller, task: Task, parts: list[JobPart], raw: bool = False) -> Row:
    rows_by_job = store.read(_conn(caller), [p.job.id for p in parts], raw=raw)
    return labeled_data(_version(parts), gather(parts, rows_by_job),
                        labels.label_index(caller.session, task))


def _version(parts: list[JobPart]) -> int:
    return max((p.job.version for p in parts), default=0)


def task_annotations(caller: Caller, task_id: int, raw: bool = False) -> Row:
    """The task's ``LabeledData``, gathered from its jobs (``raw`` as ``job_annotations``)."""
    task = tasks.get(caller, task_id, "view:annotations")
    return _gathered(caller, task, _parts(caller, task), raw)


def replace_task(caller: Caller, task_id: int, data: dict[str, Any]) -> Row:
    """PUT: each job gets the annotations on its frames; the answer is the task's new
    annotations, read back."""
    task = tasks.get(caller, task_id, "update:annotations")
    parts = _parts(caller, task)
    rows = check_body(_task_scope(caller, task, parts), data)
    _lock(caller, parts)
    per_job = spread(parts, rows)
    old = store.read(_conn(caller), [p.job.id for p in parts])
    for part in parts:
        before = _bump(caller, part.job, task)
        conn = _conn(caller)
        store.delete_all(conn, [part.job.id])
        store.insert_rows(conn, part.job.id, per_job[part.job.id])
        _publish(caller, "update", part.job, task, before, ("delete", old[part.job.id]),
                 ("create", per_job[part.job.id]))
    return _gathered(caller, task, parts, raw=True)


def delete_task(caller: Caller, task_id: int) -> None:
    task = tasks.get(caller, task_id, "delete:annotations")
    parts = _parts(caller, task)
    _lock(caller, parts)
    old = store.read(_conn(caller), [p.job.id for p in parts])
    for part in parts:
        before = _bump(caller, part.job, task)
        store.delete_all(_conn(caller), [part.job.id])
        _publish(caller, "delete", part.job, task, before, ("delete", old[part.job.id]))


def patch_task(caller: Caller, task_id: int, action: str | None, data: dict[str, Any]) -> Row:
    """PATCH on a task: as on a job, with each annotation written to (or removed from)
    every job whose segment holds its frame."""
    action = check_action(action)
    task = tasks.get(caller, task_id, "update:annotations")
    parts = _parts(caller, task)
    _lock(caller, parts)
    if action == "delete":
        gone, touched, gone_by_job = _remove(caller, parts, check_ids(data))
        _announce(caller, task, parts, touched, "delete", gone_by_job)
        return labeled_data(_version(parts), gone, None)
    rows = check_body(_task_scope(caller, task, parts), data)
    touched = _replace_by_id(caller, parts, data, rows) if action == "update" else set()
    conn = _conn(caller)
    per_job = spread(parts, rows)
    for job_id, job_rows in per_job.items():
        if any(job_rows.values()):
            if action == "update":
                _drop_copied_ids(job_rows, rows)
            store.insert_rows(conn, job_id, job_rows, keep_ids=action == "update")
            touched.add(job_id)
    _announce(caller, task, parts, touched, action, per_job)
    return labeled_data(_version(parts), rows, None)


def _replace_by_id(caller: Caller, parts: list[JobPart], data: dict[str, Any], rows: Rows
                   ) -> set[int]:
    """Before an update's new rows go in: check the ids and remove the old rows (and their
    copies); the ids of the jobs that changed."""
    given_ids(data, rows)
    conn = _conn(caller)
    _require_known(conn, [p.job.id for p in parts], rows)
    _keep_own_child_ids(conn, rows)
    return _remove(caller, parts, _top_ids(rows))[1]


def _announce(caller: Caller, task: Task, parts: list[JobPart], touched: set[int], action: str,
              rows_by_job: dict[int, Rows]) -> None:
    for part in parts:
        if part.job.id in touched:
            before = _bump(caller, part.job, task)
            _publish(caller, action, part.job, task, before,
                     (action, rows_by_job.get(part.job.id, {})))


def _drop_copied_ids(part_rows: Rows, given: Rows) -> None:
    """Copies of an updated annotation in further jobs are new rows: only the given dict
    (the first job's) keeps its ids."""
    originals = {id(r) for kind in KINDS for r in given.get(kind, ())}
    for kind in KINDS:
        for row in part_rows[kind]:
            if id(row) not in originals:
                _strip_ids(row)


def _strip_ids(value: Any) -> None:
    if isinstance(value, dict):
        value.pop("id", None)
        for child in value.values():
            _strip_ids(child)
    elif isinstance(value, list):
        for child in value:
            _strip_ids(child)


def _remove(caller: Caller, parts: list[JobPart], ids: dict[str, list[int]]
            ) -> tuple[Rows, set[int], dict[int, Rows]]:
    """Delete annotations of the task by id, with their copies on shared frames; the rows
    removed (first copies), the ids of the jobs that changed, and the removed rows by job."""
    conn = _conn(caller)
    job_ids = [p.job.id for p in parts]
    if not shared_frames(parts):
        gone = store.read_ids(conn, job_ids, ids)
        owners = {kind: store.existing(conn, job_ids, kind, ids.get(kind, [])) for kind in KINDS}
        store.delete_ids(conn, job_ids, ids)
        by_job: dict[int, Rows] = {}
        for kind in KINDS:
            for row in gone[kind]:
                by_job.setdefault(owners[kind][row["id"]], {k: [] for k in KINDS})[kind].append(row)
        return gone, {j for found in owners.values() for j in found.values()}, by_job
    rows_by_job = store.read(conn, job_ids)
    wanted = {kind: set(ids.get(kind, ())) for kind in KINDS}
    gone: Rows = {kind: [] for kind in KINDS}
    doomed = {kind: list(wanted[kind]) for kind in KINDS}
    touched: set[int] = set()
    gone_by_job: dict[int, Rows] = {}
    for kind in KINDS:
        originals = [(j, r) for j, rows in rows_by_job.items() for r in rows[kind]
                     if r["id"] in wanted[kind]]
        gone[kind] = [copy.deepcopy(r) for _, r in originals]
        for j, r in originals:
            gone_by_job.setdefault(j, {k: [] for k in KINDS})[kind].append(r)
        touched.update(j for j, _ in originals)
        if kind != "tracks":
            doomed[kind] += copies_of(parts, rows_by_job, kind, originals)
    where = {(k, r["id"]): j for j, rows in rows_by_job.items() for k in KINDS for r in rows[k]}
    touched.update(where[(k, i)] for k in KINDS for i in doomed[k] if (k, i) in where)
    store.delete_ids(conn, job_ids, doomed)
    return gone, touched, gone_by_job
