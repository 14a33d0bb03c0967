"""Projects, tasks, jobs and labels in CVAT's JSON shapes (``ProjectRead``, ``TaskRead``,
``JobRead``, ``Label``). A page costs a fixed number of queries, whatever its length: related
rows (users, task data, job counts, attributes) are read once per page, and job pages are
read as plain rows of one joined statement (``JOB_COLUMNS``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Integer, String, bindparam, case, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.functions import FunctionElement

from cvatcore.core.api.context import Ctx
from cvatcore.core.api.responses import JSON, iso
from cvatcore.core.api.serializers import base_url, basic_user, users_by_id
from cvatcore.core.db.fast_queries import select_rows
from cvatcore.core.models import (
    AttributeSpec,
    Issue,
    Job,
    Label,
    Project,
    Segment,
    Task,
    TaskData,
    User,
)

try:  # an order of magnitude faster than the json module on a page of 500 jobs
    import orjson
except ImportError:  # pragma: no cover - the standard encoder does the same, slower
    orjson = None


class PageJSON(JSON):
    """``JSON`` for large pages: ``orjson`` when installed. Every value is already JSON-safe
    here (dates are ISO strings), so both encoders write the same document."""

    def render(self, content: Any) -> bytes:
        if orjson is None:
            return super().render(content)
        return orjson.dumps(content)


def _storage(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if not value:
        return None
    return {"location": value.get("location", "local"),
            "cloud_storage_id": value.get("cloud_storage_id")}


def _media_type(dimension: str | None) -> str:
    return "point_cloud" if dimension == "3d" else "image"


# -- projects ---------------------------------------------------------------------------------

def projects_page(ctx: Ctx, rows: Sequence[Project]) -> list[dict[str, Any]]:
    ids = [p.id for p in rows]
    users = users_by_id(ctx, [p.owner_id for p in rows] + [p.assignee_id for p in rows])
    counts: dict[int, int] = {}
    subsets: dict[int, list[str]] = defaultdict(list)
    if ids:  # one query: the tasks per (project, subset) give both
        for project_id, subset, count in ctx.caller.session.execute(
            select(Task.project_id, Task.subset, func.count()).where(Task.project_id.in_(ids))
            .group_by(Task.project_id, Task.subset).order_by(Task.subset)
        ):
            counts[project_id] = counts.get(project_id, 0) + count
            if subset:
                subsets[project_id].append(subset)
    return [project(ctx, p, users, counts.get(p.id, 0), subsets.get(p.id, [])) for p in rows]


def project(ctx: Ctx, p: Project, users: dict[int, User], task_count: int,
            subsets: list[str]) -> dict[str, Any]:
    base = base_url(ctx)
    return {
        "url": f"{base}/api/projects/{p.id}",
        "id": p.id,
        "name": p.name,
        "owner": basic_user(ctx, users.get(p.owner_id or -1)),
        "assignee": basic_user(ctx, users.get(p.assignee_id or -1)),
        "guide_id": None,
        "bug_tracker": p.bug_tracker,
        "task_subsets": subsets,
        "created_date": iso(p.created_date),
        "updated_date": iso(p.updated_date),
        "status": p.status,
        "dimension": p.dimension,
        "organization": p.organization_id,
        "organization_id": p.organization_id,
        "target_storage": _storage(p.target_storage),
        "source_storage": _storage(p.source_storage),
        "assignee_updated_date": iso(p.assignee_updated_date),
        "tasks": {"count": task_count, "url": f"{base}/api/tasks?project_id={p.id}"},
        "labels": {"url": f"{base}/api/labels?project_id={p.id}"},
    }


def one_project(ctx: Ctx, p: Project) -> dict[str, Any]:
    return projects_page(ctx, [p])[0]


# -- tasks ------------------------------------------------------------------------------------

def _job_summaries(ctx: Ctx, task_ids: list[int]) -> dict[int, tuple[int, int, int]]:
    if not task_ids:
        return {}
    completed = func.sum(case(((Job.stage == "acceptance") & (Job.state == "completed"), 1),
                              else_=0)).cast(Integer)
    validation = func.sum(case((Job.stage == "validation", 1), else_=0)).cast(Integer)
    rows = ctx.caller.session.execute(
        select(Job.task_id, func.count(), completed, validation)
        .where(Job.task_id.in_(task_ids)).group_by(Job.task_id)
    ).all()
    return {task_id: (count, done, checking) for task_id, count, done, checking in rows}


def tasks_page(ctx: Ctx, rows: Sequence[Task]) -> list[dict[str, Any]]:
    ids = [t.id for t in rows]
    users = users_by_id(ctx, [t.owner_id for t in rows] + [t.assignee_id for t in rows])
    data_ids = [t.data_id for t in rows if t.data_id is not None]
    data = {d.id: d for d in ctx.caller.session.scalars(
        select(TaskData).where(TaskData.id.in_(data_ids)))} if data_ids else {}
    project_ids = {t.project_id for t in rows if t.project_id is not None}
    names = dict(ctx.caller.session.execute(
        select(Project.id, Project.name).where(Project.id.in_(project_ids))
    ).all()) if project_ids else {}
    jobs = _job_summaries(ctx, ids)
    return [
        task(ctx, t, users, data.get(t.data_id or -1), jobs.get(t.id, (0, 0, 0)),
             names.get(t.project_id or -1))
        for t in rows
    ]


def task(ctx: Ctx, t: Task, users: dict[int, User], data: TaskData | None,
         jobs: tuple[int, int, int], project_name: str | None) -> dict[str, Any]:
    base = base_url(ctx)
    result = {
        "url": f"{base}/api/tasks/{t.id}",
        "id": t.id,
        "name": t.name,
        "project_id": t.project_id,
        "project_name": project_name,
        "mode": t.mode,
        "owner": basic_user(ctx, users.get(t.owner_id or -1)),
        "assignee": basic_user(ctx, users.get(t.assignee_id or -1)),
        "bug_tracker": t.bug_tracker,
        "created_date": iso(t.created_date),
        "updated_date": iso(t.updated_date),
        "overlap": t.overlap,
        "segment_size": t.segment_size,
        "status": t.status,
        "data_chunk_size": None,
        "data_compressed_chunk_type": None,
        "data_original_chunk_type": None,
        "data_cloud_storage_id": None,
        "guide_id": None,
        "data": t.data_id,
        "dimension": t.dimension,
        "subset": t.subset,
        "organization": t.organization_id,
        "organization_id": t.organization_id,
        "target_storage": _storage(t.target_storage),
        "source_storage": _storage(t.source_storage),
        "assignee_updated_date": iso(t.assignee_updated_date),
        "validation_mode": None,
        "jobs": {"count": jobs[0], "completed": jobs[1], "validation": jobs[2],
                 "url": f"{base}/api/jobs?task_id={t.id}"},
        "labels": {"url": f"{base}/api/labels?task_id={t.id}"},
    }
    if data is not None:  # CVAT leaves these out until the task has data
        result.update(
            size=data.size, image_quality=data.image_quality, data_chunk_size=data.chunk_size,
            data_compressed_chunk_type=data.compressed_chunk_type,
            data_original_chunk_type=data.original_chunk_type,
            data_cloud_storage_id=data.cloud_storage_id, media_type=_media_type(t.dimension),
        )
    return result


def one_task(ctx: Ctx, t: Task) -> dict[str, Any]:
    return tasks_page(ctx, [t])[0]


# -- jobs -------------------------------------------------------------------------------------

class iso_text(FunctionElement[str]):  # noqa: N801 - reads as the SQL function it is
    """A date column as CVAT's ISO text (UTC, ``Z``), made by the database: a page of jobs
    then neither parses nor formats a thousand datetimes in Python."""

    type = String()
    inherit_cache = True


@compiles(iso_text, "sqlite")
def _iso_sqlite(element: iso_text, compiler: Any, **kw: Any) -> str:
    # SQLite keeps UTC datetimes as "YYYY-MM-DD HH:MM:SS.ffffff" text.
    return f"(replace({compiler.process(element.clauses, **kw)}, ' ', 'T') || 'Z')"


@compiles(iso_text, "postgresql")
def _iso_postgresql(element: iso_text, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    return f"""to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""


Assignee = aliased(User, name="job_assignee")
ISSUE_COUNT = (select(func.count()).where(Issue.job_id == Job.id).correlate(Job)
               .scalar_subquery())
# Counted by the database, so that no column of a page needs converting in Python (the
# frames of a "specific_frames" segment are a JSON array in both databases).
FRAME_COUNT = case(
    (Segment.type == "specific_frames", func.json_array_length(Segment.frames)),
    else_=Segment.stop_frame - Segment.start_frame + 1,
)
# A job's own columns; what it shows of its task (the same for every job of the task) is read
# once per task and page (``TASK_PART_COLUMNS``).
JOB_COLUMNS = (
    Job.id, Job.assignee_id, Job.status, Job.stage, Job.state, Job.type,
    iso_text(Job.created_date), iso_text(Job.updated_date), iso_text(Job.assignee_updated_date),
    Segment.start_frame, Segment.stop_frame, FRAME_COUNT,
    Assignee.username, Assignee.first_name, Assignee.last_name, ISSUE_COUNT, Job.task_id,
)
TASK_PART_COLUMNS = (
    Task.id, Task.name, Task.project_id, Task.mode, Task.dimension, Task.bug_tracker,
    Task.organization_id, Task.target_storage, Task.source_storage,
    TaskData.chunk_size, TaskData.compressed_chunk_type, TaskData.original_chunk_type,
    Project.name, Project.bug_tracker, Project.target_storage, Project.source_storage,
)


def with_job_columns(stmt: Any) -> Any:
    """The joins ``JOB_COLUMNS`` read, added to a statement that already joins ``Task``
    (``services.jobs.list_query``)."""
    return (stmt.join(Segment, Segment.id == Job.segment_id)
            .outerjoin(Assignee, Assignee.id == Job.assignee_id))


_TASK_PARTS = (
    select(*TASK_PART_COLUMNS).outerjoin(TaskData, TaskData.id == Task.data_id)
    .outerjoin(Project, Project.id == Task.project_id)
    .where(Task.id.in_(bindparam("task_ids", expanding=True)))
)


def _task_parts(ctx: Ctx, rows: Sequence[Sequence[Any]]) -> dict[int, dict[str, Any]]:
    """What the jobs of a page show of their tasks: one query, whatever the page's length."""
    task_ids = {row[-1] for row in rows}
    if not task_ids:
        return {}
    found = select_rows(ctx.work, _TASK_PARTS, {"task_ids": sorted(task_ids)})
    return {values[0]: _job_task_part(values) for values in found}


def jobs_page(ctx: Ctx, rows: Sequence[Sequence[Any]]) -> list[Any]:
    """Rows of ``JOB_COLUMNS`` as ``JobRead`` objects (one more query, for their tasks).

    With ``orjson``, the page comes back as one encoded ``orjson.Fragment`` that
    ``PageJSON`` writes as it is (``encoded_jobs``)."""
    base = base_url(ctx)
    parts = _task_parts(ctx, rows)
    if orjson is None:
        return [{**job_own(base, row), **parts[row[-1]]} for row in rows]
    return [orjson.Fragment(encoded_jobs(base, rows, parts))] if rows else []


def encoded_jobs(base: str, rows: Sequence[Sequence[Any]],
                 parts: dict[int, dict[str, Any]]) -> bytes:
    """The jobs of ``rows`` as the bytes ``orjson`` makes of ``job_own`` merged with the
    task's part, comma-separated, written as text: building and encoding a dictionary per
    job was most of a page's time. Every string from the database goes through ``orjson``
    (its escaping), but the dates, which ``iso_text`` made of date columns (digits and
    ``-:.TZ``); what repeats from job to job (the assignee, status, stage, state and
    type; the task's part) is encoded once per page."""
    dumps = orjson.dumps
    root = dumps(base)[1:-1].decode()

    def text(value: Any) -> str:
        return dumps(value).decode()

    tails = {task_id: text(part)[1:] for task_id, part in parts.items()}
    head = f'{{"url":"{root}/api/jobs/'
    issues_url = f',"url":"{root}/api/issues?job_id='
    labels_url = f'"}},"labels":{{"url":"{root}/api/labels?job_id='
    shared: dict[tuple[Any, ...], str] = {}  # (assignee, status, stage, state, type) -> text
    jobs: list[str] = []
    append = jobs.append
    for (jid, assignee_id, status, stage, state, kind, created, updated, assigned,
         start, stop, count, username, first_name, last_name, issues, task_id) in rows:
        key = (assignee_id, status, stage, state, kind)
        middle = shared.get(key)
        if middle is None:
            assignee = "null" if assignee_id is None else (
                f'{{"url":"{root}/api/users/{assignee_id}","id":{assignee_id},'
                f'"username":{text(username)},"first_name":{text(first_name)},'
                f'"last_name":{text(last_name)}}}'
            )
            middle = shared[key] = (
                f'"assignee":{assignee},"status":{text(status)},"stage":{text(stage)},'
                f'"state":{text(state)},"type":{text(kind)},"frame_count":'
            )
        assigned = "null" if assigned is None else f'"{assigned}"'
        append(
            f'{head}{jid}","id":{jid},{middle}{count},"start_frame":{start},'
            f'"stop_frame":{stop},"created_date":"{created}","updated_date":"{updated}",'
            f'"assignee_updated_date":{assigned},"issues":{{"count":{issues}'
            f'{issues_url}{jid}{labels_url}{jid}"}},{tails[task_id]}'
        )
    return ",".join(jobs).encode()


def _job_task_part(values: Sequence[Any]) -> dict[str, Any]:
    """What a job shows of its task, project and task data."""
    (task_id, task_name, project_id, mode, dimension, task_tracker, org_id, task_target,
     task_source, chunk_size, compressed, original, project_name, project_tracker,
     project_target, project_source) = values
    in_project = project_id is not None
    return {
        "task_id": task_id, "task_name": task_name, "project_id": project_id,
        "project_name": project_name, "guide_id": None, "dimension": dimension,
        "mode": mode, "media_type": _media_type(dimension),
        "bug_tracker": project_tracker if in_project else task_tracker,
        "data_chunk_size": chunk_size, "data_compressed_chunk_type": compressed,
        "data_original_chunk_type": original, "organization": org_id,
        "target_storage": _storage(project_target if in_project else task_target),
        "source_storage": _storage(project_source if in_project else task_source),
        "parent_job_id": None, "replicas_count": 0,
    }


def job_own(base: str, row: Sequence[Any]) -> dict[str, Any]:
    """A job's own fields from its ``JOB_COLUMNS`` values, read by position."""
    (jid, assignee_id, status, stage, state, kind, created, updated, assigned,
     start, stop, count, username, first_name, last_name, issues, _) = row
    assignee = None if assignee_id is None else {
        "url": f"{base}/api/users/{assignee_id}", "id": assignee_id, "username": username,
        "first_name": first_name, "last_name": last_name,
    }
    return {
        "url": f"{base}/api/jobs/{jid}", "id": jid, "assignee": assignee,
        "status": status, "stage": stage, "state": state, "type": kind,
        "frame_count": count,
        "start_frame": start, "stop_frame": stop,
        "created_date": created, "updated_date": updated, "assignee_updated_date": assigned,
        "issues": {"count": issues, "url": f"{base}/api/issues?job_id={jid}"},
        "labels": {"url": f"{base}/api/labels?job_id={jid}"},
    }


def one_job(ctx: Ctx, job_id: int) -> dict[str, Any]:
    stmt = with_job_columns(select(*JOB_COLUMNS)).where(Job.id == job_id)
    row = ctx.caller.connection.execute(stmt).one()
    return {**job_own(base_url(ctx), row), **_task_parts(ctx, [row])[row[-1]]}


# -- labels -----------------------------------------------------------------------------------

def labels_page(ctx: Ctx, rows: Sequence[Label]) -> list[dict[str, Any]]:
    """Labels with their attributes and (for skeletons) sublabels: two more queries."""
    skeletons = [lb.id for lb in rows if lb.type == "skeleton"]
    subs: dict[int, list[Label]] = defaultdict(list)
    if skeletons:
        for sub in ctx.caller.session.scalars(
            select(Label).where(Label.parent_id.in_(skeletons)).order_by(Label.id)
        ):
            subs[sub.parent_id or 0].append(sub)
    all_ids = [lb.id for lb in rows] + [s.id for group in subs.values() for s in group]
    attrs: dict[int, list[AttributeSpec]] = defaultdict(list)
    if all_ids:
        for spec in ctx.caller.session.scalars(
            select(AttributeSpec).where(AttributeSpec.label_id.in_(all_ids))
            .order_by(AttributeSpec.id)
        ):
            attrs[spec.label_id].append(spec)
    return [label(lb, attrs, subs.get(lb.id, [])) for lb in rows]


def attribute(spec: AttributeSpec) -> dict[str, Any]:
    return {"id": spec.id, "name": spec.name, "mutable": spec.mutable,
            "input_type": spec.input_type, "default_value": spec.default_value,
            "values": list(spec.values or [])}


def label(lb: Label, attrs: dict[int, list[AttributeSpec]],
          sublabels: list[Label]) -> dict[str, Any]:
    return {
        "id": lb.id,
        "name": lb.name,
        "color": lb.color,
        "attributes": [attribute(a) for a in attrs.get(lb.id, [])],
        "type": lb.type,
        "svg": lb.svg,
        "sublabels": [
            {"id": s.id, "name": s.name, "color": s.color, "type": s.type, "has_parent": True,
             "attributes": [attribute(a) for a in attrs.get(s.id, [])]}
            for s in sublabels
        ],
        "project_id": lb.project_id,
        "task_id": lb.task_id,
        "parent_id": lb.parent_id,
        "has_parent": lb.parent_id is not None,
    }


def one_label(ctx: Ctx, lb: Label) -> dict[str, Any]:
    return labels_page(ctx, [lb])[0]
