"""``/api/users``."""

from __future__ import annotations

from starlette.responses import Response

from cvatcore.core.api.context import Ctx
from cvatcore.core.api.listing import ListSpec, paginate_planned, parse_bool
from cvatcore.core.api.responses import JSON, no_content
from cvatcore.core.api.routing import Op
from cvatcore.core.api.serializers import USER_COLUMNS, basic_user, full_user, users_page
from cvatcore.core.models import User
from cvatcore.core.services import users
from cvatcore.core.services.accounts import privilege

SPEC = ListSpec(
    fields={
        "id": User.id, "username": User.username, "first_name": User.first_name,
        "last_name": User.last_name, "is_active": User.is_active,
    },
    search=("username", "first_name", "last_name"),
    simple_filters=("username", "first_name", "last_name", "is_active"),
    default_sort="id",
    casts={"is_active": parse_bool},
)


def list_users(ctx: Ctx) -> Response:
    return JSON(paginate_planned(
        ctx, "users", SPEC, lambda: users.list_query(ctx.caller), USER_COLUMNS,
        lambda rows: users_page(ctx, rows),
    ))


def users_self(ctx: Ctx) -> Response:
    return JSON(full_user(ctx, ctx.caller.require_user()))


def retrieve(ctx: Ctx) -> Response:
    user = users.get(ctx.caller, ctx.path_params["id"])
    viewer = ctx.caller.require_user()
    full = viewer.id == user.id or privilege(viewer) == "admin"
    return JSON(full_user(ctx, user) if full else basic_user(ctx, user))


def partial_update(ctx: Ctx) -> Response:
    return JSON(full_user(ctx, users.update(ctx.caller, ctx.path_params["id"], ctx.data)))


def destroy(ctx: Ctx) -> Response:
    users.delete(ctx.caller, ctx.path_params["id"])
    return no_content()


P = "/api/users"
OPS = [
    Op("GET", P, list_users, "users_list", "users", "List users", response="MetaUser",
       paginated=True, params=("filter", "search", "sort", *SPEC.simple_filters),
       extra={"list_spec": SPEC}),
    Op("GET", P + "/self", users_self, "users_retrieve_self", "users", "The signed-in user",
       response="User"),
    Op("GET", P + "/{id:int}", retrieve, "users_retrieve", "users", "One user",
       response="MetaUser"),
    Op("PATCH", P + "/{id:int}", partial_update, "users_partial_update", "users",
       "Change a user", request="PatchedUserRequest", response="User"),
    Op("DELETE", P + "/{id:int}", destroy, "users_destroy", "users", "Delete a user",
       status=204),
]
