"""``/api/cloudstorages``: thin handlers over ``services/cloud_storages.py``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from starlette.responses import Response

from cvatcore.core.api.context import Ctx
from cvatcore.core.api.listing import ListSpec, apply_query, paginate
from cvatcore.core.api.responses import JSON, iso, no_content
from cvatcore.core.api.routing import Op
from cvatcore.core.api.serializers import basic_user, users_by_id
from cvatcore.core.models import CloudStorage, User
from cvatcore.core.services import cloud_content, cloud_storages

owner_name = select(User.username).where(User.id == CloudStorage.owner_id).scalar_subquery()
CLOUD_SPEC = ListSpec(
    fields={"id": CloudStorage.id, "provider_type": CloudStorage.provider_type,
            "name": CloudStorage.display_name, "display_name": CloudStorage.display_name,
            "resource": CloudStorage.resource, "credentials_type": CloudStorage.credentials_type,
            "owner": owner_name, "description": CloudStorage.description},
    search=("name", "resource", "owner", "description"),
    simple_filters=("provider_type", "name", "resource", "credentials_type", "owner"),
)


def storages_page(ctx: Ctx, rows: Sequence[CloudStorage]) -> list[dict[str, Any]]:
    owners = users_by_id(ctx, (s.owner_id for s in rows))
    manifests = cloud_storages.manifests_of(ctx.caller, [s.id for s in rows])
    return [_record(ctx, s, owners.get(s.owner_id or -1), manifests[s.id]) for s in rows]


def _record(ctx: Ctx, s: CloudStorage, owner: User | None, manifests: list[str]
            ) -> dict[str, Any]:
    return {
        "id": s.id, "provider_type": s.provider_type, "resource": s.resource,
        "display_name": s.display_name, "owner": basic_user(ctx, owner),
        "credentials_type": s.credentials_type, "specific_attributes": s.specific_attributes,
        "description": s.description, "created_date": iso(s.created_date),
        "updated_date": iso(s.updated_date), "organization": s.organization_id,
        "manifests": manifests,
    }


def one(ctx: Ctx, storage: CloudStorage, status: int = 200) -> Response:
    return JSON(storages_page(ctx, [storage])[0], status_code=status)


def list_storages(ctx: Ctx) -> Response:
    stmt = apply_query(ctx, cloud_storages.list_query(ctx.caller), CLOUD_SPEC)
    return JSON(paginate(ctx, stmt, lambda rows: storages_page(ctx, rows)))


def create_storage(ctx: Ctx) -> Response:
    return one(ctx, cloud_storages.create(ctx.caller, ctx.data), 201)


def retrieve_storage(ctx: Ctx) -> Response:
    return one(ctx, cloud_storages.get(ctx.caller, ctx.path_params["id"]))


def update_storage(ctx: Ctx) -> Response:
    return one(ctx, cloud_storages.update(ctx.caller, ctx.path_params["id"], ctx.data))


def delete_storage(ctx: Ctx) -> Response:
    cloud_storages.delete_storage(ctx.caller, ctx.path_params["id"])
    return no_content()


def content_v2(ctx: Ctx) -> Response:
    storage = cloud_storages.get(ctx.caller, ctx.path_params["id"], "view")
    return JSON(cloud_content.content(ctx.caller, storage, ctx.query))


def storage_status(ctx: Ctx) -> Response:
    storage = cloud_storages.get(ctx.caller, ctx.path_params["id"], "view")
    return JSON(cloud_content.status(ctx.caller, storage))


def storage_preview(ctx: Ctx) -> Response:
    storage = cloud_storages.get(ctx.caller, ctx.path_params["id"], "view")
    image = cloud_content.preview(ctx.caller, storage)
    if image is None:
        return Response(status_code=204)
    return Response(image, media_type="image/jpeg")


def storage_actions(ctx: Ctx) -> Response:
    storage = cloud_storages.get(ctx.caller, ctx.path_params["id"], "view")
    provider = cloud_storages.provider_of(ctx.caller, storage)
    actions = getattr(provider, "actions", None)
    return JSON(cloud_content._call(actions) if callable(actions) else ["read", "write"])


PATH = "/api/cloudstorages"
ONE = PATH + "/{id:int}"
OPS = [
    Op("GET", PATH, list_storages, "cloudstorages_list", "cloudstorages", "List cloud storages",
       response="CloudStorageRead", paginated=True,
       params=("filter", "search", "sort", *CLOUD_SPEC.simple_filters),
       extra={"list_spec": CLOUD_SPEC}),
    Op("POST", PATH, create_storage, "cloudstorages_create", "cloudstorages",
       "Attach a cloud storage", request="CloudStorageWriteRequest",
       response="CloudStorageRead", status=201),
    Op("GET", ONE, retrieve_storage, "cloudstorages_retrieve", "cloudstorages",
       "One cloud storage", response="CloudStorageRead"),
    Op("PATCH", ONE, update_storage, "cloudstorages_partial_update", "cloudstorages",
       "Change a cloud storage", request="PatchedCloudStorageWriteRequest",
       response="CloudStorageRead"),
    Op("DELETE", ONE, delete_storage, "cloudstorages_destroy", "cloudstorages",
       "Detach a cloud storage", status=204),
    Op("GET", ONE + "/content-v2", content_v2, "cloudstorages_retrieve_content_v2",
       "cloudstorages", "One page of the storage's content", response="CloudStorageContent",
       params=("prefix", "next_token", "page_size", "manifest_path")),
    Op("GET", ONE + "/status", storage_status, "cloudstorages_retrieve_status", "cloudstorages",
       "AVAILABLE, FORBIDDEN or NOT_FOUND", extra={"response_schema": {"type": "string"}}),
    Op("GET", ONE + "/preview", storage_preview, "cloudstorages_retrieve_preview",
       "cloudstorages", "A thumbnail of the first image",
       extra={"response_schema": {"type": "string", "format": "binary"},
              "media_type": "image/jpeg",
              "no_body_statuses": {204: "The storage holds no image to preview"}}),
    Op("GET", ONE + "/actions", storage_actions, "cloudstorages_retrieve_actions",
       "cloudstorages", "Supported actions (read, write)",
       extra={"response_schema": {"type": "array", "items": {"type": "string"}}}),
]
