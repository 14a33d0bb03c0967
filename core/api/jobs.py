"""``/api/jobs``: thin handlers over ``services/jobs.py``.

The list is the busiest read of the annotation domain: one joined statement read as plain
rows (``serializers_domain.JOB_COLUMNS``), one count and one issue count per page.
"""

from __future__ import annotations

from sqlalchemy import Integer, case, cast, null
from starlette.responses import Response

from cvatcore.core.api.context import Ctx
from cvatcore.core.api.listing import ListSpec, paginate_planned
from cvatcore.core.api.responses import JSON, no_content
from cvatcore.core.api.routing import Op
from cvatcore.core.api.serializers_domain import (
    JOB_COLUMNS,
    Assignee,
    PageJSON,
    jobs_page,
    one_job,
    with_job_columns,
)
from cvatcore.core.models import Job, Project, Task
from cvatcore.core.services import jobs

# CVAT's JobViewSet (plus mode and media_type, which cvat-sdk's jobs_list sends).
SPEC = ListSpec(
    fields={
        "task_name": Task.name, "project_name": Project.name, "assignee": Assignee.username,
        "state": Job.state, "stage": Job.stage, "id": Job.id, "task_id": Job.task_id,
        "project_id": Task.project_id, "updated_date": Job.updated_date,
        "dimension": Task.dimension, "type": Job.type, "mode": Task.mode,
        "media_type": case((Task.dimension == "3d", "point_cloud"), else_="image"),
        "parent_job_id": cast(null(), Integer),
    },
    search=("task_name", "project_name", "assignee", "state", "stage"),
    simple_filters=("task_name", "project_name", "assignee", "state", "stage", "task_id",
                    "project_id", "dimension", "type", "mode", "media_type", "parent_job_id"),
)


def list_jobs(ctx: Ctx) -> Response:
    return PageJSON(paginate_planned(
        ctx, "jobs", SPEC, lambda: with_job_columns(jobs.list_query(ctx.caller)), JOB_COLUMNS,
        lambda rows: jobs_page(ctx, rows),
    ))


def retrieve_job(ctx: Ctx) -> Response:
    return JSON(one_job(ctx, jobs.get(ctx.caller, ctx.path_params["id"]).id))


def update_job(ctx: Ctx) -> Response:
    job = jobs.update(ctx.caller, ctx.path_params["id"], ctx.data)
    ctx.caller.session.flush()
    return JSON(one_job(ctx, job.id))


def delete_job(ctx: Ctx) -> Response:
    jobs.delete(ctx.caller, ctx.path_params["id"])
    return no_content()


P = "/api/jobs"
OPS = [
    Op("GET", P, list_jobs, "jobs_list", "jobs", "List jobs", response="JobRead",
       paginated=True, params=("filter", "search", "sort", *SPEC.simple_filters),
       extra={"list_spec": SPEC}),
    Op("GET", P + "/{id:int}", retrieve_job, "jobs_retrieve", "jobs", "One job",
       response="JobRead"),
    Op("PATCH", P + "/{id:int}", update_job, "jobs_partial_update", "jobs",
       "Change a job's stage, state or assignee", request="PatchedJobWriteRequest",
       response="JobRead"),
    Op("DELETE", P + "/{id:int}", delete_job, "jobs_destroy", "jobs",
       "Delete a ground-truth job", status=204),
]
