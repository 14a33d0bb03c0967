"""Backup restore requests: ``POST /api/tasks/backup/`` and ``/api/projects/backup/`` through
the upload protocol cvat-sdk uses (``Upload-Start``, TUS, ``Upload-Finish`` with the
``filename``), or naming a file in a cloud storage (``location=cloud_storage``,
``cloud_storage_id``, ``filename``). Each queues an ``import:backup`` job
(``backups_restore.run``) whose finished request carries the new object's id in
``result_id``."""

from __future__ import annotations

import uuid
from typing import Any

from cvatcore.core.errors import PayloadTooLarge, PermissionDenied, ValidationFailed
from cvatcore.core.iam import engine
from cvatcore.core.jobs.queue import enqueue, request_id
from cvatcore.core.media import store, uploads
from cvatcore.core.media.limits import MAX_TUS_FILE
from cvatcore.core.services.caller import Caller
from cvatcore.core.services.context import org_context, subject

KIND = "import:backup"
IMPORTS_PREFIX = "imports/"


def area(caller: Caller, target: str) -> str:
    """The caller's upload area for backups of this kind (one upload at a time, as CVAT)."""
    user = caller.user.id if caller.user is not None else 0
    return f"{IMPORTS_PREFIX}backup-{target}-u{user}/"


def _check(caller: Caller, target: str) -> int | None:
    """``import:backup`` is checked as creating a task or project in the request's context;
    returns that context's organization."""
    caller.require_user()
    oc = org_context(caller)
    if not engine.allows(target, KIND, subject(caller), set(), oc.org_id is not None):
        raise PermissionDenied()
    return oc.org_id


def start_upload(caller: Caller, target: str) -> None:
    _check(caller, target)
    store.remove_prefix(caller.state.media, area(caller, target))


def tus_create(caller: Caller, target: str, filename: str, length: int) -> tuple[str, str]:
    _check(caller, target)
    if length > MAX_TUS_FILE:
        raise PayloadTooLarge(f"File size exceeds max limit of {MAX_TUS_FILE} bytes")
    filename = uploads.clean_name(filename or "backup.zip", basename=True)
    return uploads.tus_create(caller.state.media, area(caller, target), filename, length), \
        filename


def tus_patch(caller: Caller, target: str, file_id: str, offset: int, body: Any
              ) -> dict[str, Any]:
    _check(caller, target)
    return uploads.tus_patch(caller.state.media, area(caller, target), file_id, offset, body)


def tus_state(caller: Caller, target: str, file_id: str) -> dict[str, Any]:
    _check(caller, target)
    return uploads.tus_state(caller.state.media, area(caller, target), file_id)


def finish_upload(caller: Caller, target: str, fields: dict[str, Any]) -> str:
    """``Upload-Finish`` (or a request naming a file in a cloud storage): queue the restore."""
    org_id = _check(caller, target)
    raw_name = str(fields.get("filename") or "")
    location = fields.get("location") or "local"
    args: dict[str, Any] = {"target": target, "request_id": caller.request_id}
    if location == "cloud_storage":
        args.update(_cloud_source(caller, fields, raw_name))
    elif location == "local":
        root = area(caller, target)
        filename = uploads.clean_name(raw_name, basename=True) if raw_name else ""
        if not filename or not store.exists(caller.state.media,
                                            uploads.raw_prefix(root) + filename):
            raise ValidationFailed.field("filename", "No uploaded file of that name; upload it "
                                                     "first (Upload-Start, TUS, Upload-Finish).")
        args.update(area=root, filename=filename)
    else:
        raise ValidationFailed.field("location", "Use local or cloud_storage.")
    user_id = caller.user.id if caller.user is not None else None
    rq_id = request_id("import", target, str(uuid.uuid4()), subresource="backup")
    enqueue(caller.session, job_id=rq_id, kind=KIND, args=args,
            operation={"type": KIND, "target": target, "org_id": org_id},
            owner_id=user_id, org_id=org_id, max_attempts=1)
    return rq_id


def _cloud_source(caller: Caller, fields: dict[str, Any], key: str) -> dict[str, Any]:
    from cvatcore.core.services import cloud_storages

    try:
        storage_id = int(fields.get("cloud_storage_id"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValidationFailed.field("cloud_storage_id", "A cloud storage id is required for "
                                                         "location=cloud_storage.") from None
    if not key or key.startswith("/") or ".." in key.split("/"):
        raise ValidationFailed.field("filename", "The key of the backup in the cloud storage "
                                                 "is required.")
    cloud_storages.get(caller, storage_id, "view")  # 404/403 as the cloud storage API answers
    return {"cloud_storage_id": storage_id, "key": key, "filename": key.rsplit("/", 1)[-1]}
