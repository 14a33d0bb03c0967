"""``/api/projects``: thin handlers over ``services/projects.py``."""

from __future__ import annotations

from sqlalchemy import select
from starlette.responses import Response

from cvatcore.core.api.context import Ctx
from cvatcore.core.api.listing import ListSpec, apply_query, paginate
from cvatcore.core.api.responses import JSON, no_content
from cvatcore.core.api.routing import Op
from cvatcore.core.api.serializers_domain import PageJSON, one_project, projects_page
from cvatcore.core.models import Project, User
from cvatcore.core.services import projects


def _username(column: object) -> object:
    return select(User.username).where(User.id == column).scalar_subquery()


# CVAT's ProjectViewSet: search and simple filters on name, owner, assignee, status.
SPEC = ListSpec(
    fields={
        "name": Project.name, "owner": _username(Project.owner_id),
        "assignee": _username(Project.assignee_id), "status": Project.status,
        "id": Project.id, "updated_date": Project.updated_date,
    },
    search=("name", "owner", "assignee", "status"),
    simple_filters=("name", "owner", "assignee", "status"),
)


def list_projects(ctx: Ctx) -> Response:
    stmt = apply_query(ctx, projects.list_query(ctx.caller), SPEC)
    return PageJSON(paginate(ctx, stmt, lambda rows: projects_page(ctx, rows)))


def create_project(ctx: Ctx) -> Response:
    return JSON(one_project(ctx, projects.create(ctx.caller, ctx.data)), status_code=201)


def retrieve_project(ctx: Ctx) -> Response:
    return JSON(one_project(ctx, projects.get(ctx.caller, ctx.path_params["id"])))


def update_project(ctx: Ctx) -> Response:
    return JSON(one_project(ctx, projects.update(ctx.caller, ctx.path_params["id"], ctx.data)))


def delete_project(ctx: Ctx) -> Response:
    projects.delete(ctx.caller, ctx.path_params["id"])
    return no_content()


P = "/api/projects"
OPS = [
    Op("GET", P, list_projects, "projects_list", "projects", "List projects",
       response="ProjectRead", paginated=True,
       params=("filter", "search", "sort", *SPEC.simple_filters), extra={"list_spec": SPEC}),
    Op("POST", P, create_project, "projects_create", "projects", "Create a project",
       request="ProjectWriteRequest", response="ProjectRead", status=201),
    Op("GET", P + "/{id:int}", retrieve_project, "projects_retrieve", "projects",
       "One project", response="ProjectRead"),
    Op("PATCH", P + "/{id:int}", update_project, "projects_partial_update", "projects",
       "Change a project", request="PatchedProjectWriteRequest", response="ProjectRead"),
    Op("DELETE", P + "/{id:int}", delete_project, "projects_destroy", "projects",
       "Delete a project with its tasks", status=204),
]
