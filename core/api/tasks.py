"""``/api/tasks``: thin handlers over ``services/tasks.py`` (task data has its own module)."""

from __future__ import annotations

from sqlalchemy import String, cast, null, select
from starlette.responses import Response

from cvatcore.core.api.context import Ctx
from cvatcore.core.api.listing import ListSpec, apply_query, paginate
from cvatcore.core.api.responses import JSON, no_content
from cvatcore.core.api.routing import Op
from cvatcore.core.api.serializers_domain import PageJSON, one_task, tasks_page
from cvatcore.core.models import Project, Task, User
from cvatcore.core.services import tasks


def _username(column: object) -> object:
    return select(User.username).where(User.id == column).scalar_subquery()


# CVAT's TaskViewSet (plus media_type, which cvat-sdk's tasks_list sends).
SPEC = ListSpec(
    fields={
        "project_name": Project.name, "name": Task.name, "owner": _username(Task.owner_id),
        "status": Task.status, "assignee": _username(Task.assignee_id), "subset": Task.subset,
        "mode": Task.mode, "dimension": Task.dimension, "tracker_link": Task.bug_tracker,
        "validation_mode": cast(null(), String), "id": Task.id, "project_id": Task.project_id,
        "updated_date": Task.updated_date,
    },
    search=("project_name", "name", "owner", "status", "assignee", "subset", "mode",
            "dimension", "tracker_link"),
    simple_filters=("project_name", "name", "owner", "status", "assignee", "subset", "mode",
                    "dimension", "tracker_link", "validation_mode", "project_id"),
)


def list_tasks(ctx: Ctx) -> Response:
    stmt = apply_query(ctx, tasks.list_query(ctx.caller), SPEC)
    media_type = ctx.query.get("media_type")
    if media_type:
        stmt = stmt.where((Task.dimension == "3d") == (media_type == "point_cloud"))
    return PageJSON(paginate(ctx, stmt, lambda rows: tasks_page(ctx, rows)))


def create_task(ctx: Ctx) -> Response:
    return JSON(one_task(ctx, tasks.create(ctx.caller, ctx.data)), status_code=201)


def retrieve_task(ctx: Ctx) -> Response:
    return JSON(one_task(ctx, tasks.get(ctx.caller, ctx.path_params["id"])))


def update_task(ctx: Ctx) -> Response:
    return JSON(one_task(ctx, tasks.update(ctx.caller, ctx.path_params["id"], ctx.data)))


def delete_task(ctx: Ctx) -> Response:
    tasks.delete(ctx.caller, ctx.path_params["id"])
    return no_content()


P = "/api/tasks"
OPS = [
    Op("GET", P, list_tasks, "tasks_list", "tasks", "List tasks", response="TaskRead",
       paginated=True, params=("filter", "search", "sort", *SPEC.simple_filters, "media_type"),
       extra={"list_spec": SPEC}),
    Op("POST", P, create_task, "tasks_create", "tasks", "Create a task (data comes next)",
       request="TaskWriteRequest", response="TaskRead", status=201),
    Op("GET", P + "/{id:int}", retrieve_task, "tasks_retrieve", "tasks", "One task",
       response="TaskRead"),
    Op("PATCH", P + "/{id:int}", update_task, "tasks_partial_update", "tasks",
       "Change a task, or move it into a project", request="PatchedTaskWriteRequest",
       response="TaskRead"),
    Op("DELETE", P + "/{id:int}", delete_task, "tasks_destroy", "tasks",
       "Delete a task with its jobs and annotations", status=204),
]
