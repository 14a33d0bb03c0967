"""``/api/labels``: thin handlers over ``services/labels.py``."""

from __future__ import annotations

from sqlalchemy.orm import aliased
from starlette.responses import Response

from cvatcore.core.api.context import Ctx
from cvatcore.core.api.listing import ListSpec, apply_query, paginate
from cvatcore.core.api.responses import JSON, no_content
from cvatcore.core.api.routing import Op
from cvatcore.core.api.serializers_domain import PageJSON, labels_page, one_label
from cvatcore.core.models import Label
from cvatcore.core.services import label_resource as labels

Parent = aliased(Label, name="parent_label")

# CVAT's LabelViewSet; ``parent`` is the parent label's name.
SPEC = ListSpec(
    fields={
        "name": Label.name, "parent": Parent.name, "id": Label.id, "type": Label.type,
        "color": Label.color, "parent_id": Label.parent_id,
    },
    search=("name", "parent"),
    simple_filters=("name", "parent", "type", "color", "parent_id"),
    default_sort="id",
)


def list_labels(ctx: Ctx) -> Response:
    stmt = labels.list_query(ctx.caller, ctx.query).outerjoin(Parent, Parent.id == Label.parent_id)
    if not (ctx.query.get("parent") or ctx.query.get("parent_id")):
        stmt = stmt.where(Label.parent_id.is_(None))  # sublabels travel with their skeleton
    stmt = apply_query(ctx, stmt, SPEC)
    return PageJSON(paginate(ctx, stmt, lambda rows: labels_page(ctx, rows)))


def retrieve_label(ctx: Ctx) -> Response:
    return JSON(one_label(ctx, labels.get(ctx.caller, ctx.path_params["id"])))


def update_label(ctx: Ctx) -> Response:
    return JSON(one_label(ctx, labels.update(ctx.caller, ctx.path_params["id"], ctx.data)))


def delete_label(ctx: Ctx) -> Response:
    labels.delete(ctx.caller, ctx.path_params["id"])
    return no_content()


P = "/api/labels"
OPS = [
    Op("GET", P, list_labels, "labels_list", "labels", "List labels", response="Label",
       paginated=True,
       params=("filter", "search", "sort", *SPEC.simple_filters, "job_id", "task_id",
               "project_id"),
       extra={"list_spec": SPEC}),
    Op("GET", P + "/{id:int}", retrieve_label, "labels_retrieve", "labels", "One label",
       response="Label"),
    Op("PATCH", P + "/{id:int}", update_label, "labels_partial_update", "labels",
       "Change a label", request="PatchedLabelRequest", response="Label"),
    Op("DELETE", P + "/{id:int}", delete_label, "labels_destroy", "labels",
       "Delete a label", status=204),
]
