"""Dataset export: ``POST /api/{tasks|jobs|projects}/{id}/dataset/export`` queues the
``export:dataset`` job; the job streams the archive (frames one at a time, zip members
written as they come) into the media store; the download streams it back.

An archive is cached by (object, format, save_images, the object's ``updated_date``): asking
again before anything changed serves the same file without writing it again. Every
annotation change moves the task's, job's and project's ``updated_date``."""

from __future__ import annotations

import contextlib
import hashlib
import re
import tempfile
from typing import Any

from sqlalchemy import select

from cvatcore.core.datasets.archive import ZipArchiveWriter
from cvatcore.core.datasets.registry import collect_formats
from cvatcore.core.errors import ApiError, NotFound, ValidationFailed
from cvatcore.core.jobs.queue import enqueue, request_id
from cvatcore.core.media import store
from cvatcore.core.models import BackgroundJob, Job, Project, Task
from cvatcore.core.services import changes, datasets_source
from cvatcore.core.services.caller import Caller
from cvatcore.hooks import JobFailed
from cvatcore.hooks.datasets import DatasetFormatError

TARGETS = ("task", "job", "project")
EXPORTS_PREFIX = "exports/"


def target_object(caller: Caller, target: str, target_id: int, scope: str) -> Any:
    """The task, job or project, checked for ``scope`` (404/403 as the services answer)."""
    from cvatcore.core.services import jobs, projects, tasks

    getter = {"task": tasks.get, "job": jobs.get, "project": projects.get}[target]
    return getter(caller, target_id, scope)


def _org_id(caller: Caller, target: str, obj: Any) -> int | None:
    if target == "job":
        task = caller.session.get(Task, obj.task_id)
        return task.organization_id if task is not None else None
    return obj.organization_id


def _format(caller: Caller, name: str | None) -> str:
    formats = collect_formats(caller.state.pm)
    if not name:
        raise ValidationFailed.field("format", "This field is required.")
    fmt = formats.exporter(name)
    if fmt is None:
        known = ", ".join(sorted(n for n in formats.all if formats.exporter(n)))
        raise ValidationFailed.field("format", f"Unknown export format {name!r}; the server "
                                               f"has: {known}.")
    if not fmt.enabled:
        raise ApiError({"detail": f"The format {name!r} is disabled."}, status=405)
    return name


def _target_storage(caller: Caller, target: str, obj: Any, location: str | None,
                    storage_id: str | None, field: str = "target_storage"
                    ) -> tuple[str, int | None]:
    """``(location, cloud storage id)``: as asked, else the object's ``target_storage`` (a
    job's task's; ``field="source_storage"`` for imports), else local, as CVAT decides."""
    if not location:
        holder = caller.session.get(Task, obj.task_id) if target == "job" else obj
        default = getattr(holder, field, None) or {}
        location = default.get("location") or "local"
        storage_id = storage_id or default.get("cloud_storage_id")
    if location == "local":
        return "local", None
    if location != "cloud_storage":
        raise ValidationFailed.field("location", "Use local or cloud_storage.")
    try:
        cloud_id = int(storage_id)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValidationFailed.field("cloud_storage_id", "A cloud storage id is required for "
                                                         "location=cloud_storage.") from None
    from cvatcore.core.services import cloud_storages

    cloud_storages.get(caller, cloud_id, "view")  # 404/403 as the cloud storage API answers
    return "cloud_storage", cloud_id


#: The location rule, for imports too (``field="source_storage"``).
storage_location = _target_storage


def start_export(caller: Caller, target: str, target_id: int, fmt: str | None,
                 save_images: bool, filename: str | None, location: str | None,
                 cloud_storage_id: str | None = None) -> str:
    """Queue the export; returns the request id (202). 400 for an unknown format or a bad
    location, 405 for a disabled format, 409 while the same export runs. Without
    ``location`` the object's ``target_storage`` decides (local when it has none)."""
    scope = "export:dataset" if save_images else "export:annotations"
    obj = target_object(caller, target, target_id, scope)
    name = _format(caller, fmt)
    where, cloud_id = _target_storage(caller, target, obj, location, cloud_storage_id)
    if filename is not None and not _safe_filename(filename):
        raise ValidationFailed.field("filename", "Use letters, digits, '_', '-', '.' and "
                                                 "spaces, with an extension.")
    user_id = caller.user.id if caller.user is not None else None
    subresource = "dataset" if save_images else "annotations"
    rq_id = request_id("export", target, target_id, subresource=subresource, format=name,
                       user_id=user_id, location=where)
    org_id = _org_id(caller, target, obj)
    enqueue(caller.session, job_id=rq_id, kind="export:dataset",
            args={"target": target, "id": target_id, "format": name,
                  "save_images": save_images, "filename": filename,
                  "cloud_storage_id": cloud_id, "request_id": caller.request_id},
            operation={"type": f"export:{subresource}", "target": target,
                       f"{target}_id": target_id, "format": name, "org_id": org_id},
            owner_id=user_id, org_id=org_id)
    return rq_id


def _safe_filename(name: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z0-9_\-. ]{1,254}", name)) and not name.startswith(".") \
        and "." in name


def cache_key(target: str, target_id: int, fmt: str, save_images: bool, stamp: str) -> str:
    """``exports/<target>/<id>/<format and images>/<updated_date>.zip``: one folder per kind
    of export, holding the archive of the object's latest version."""
    kind = hashlib.sha256(f"{fmt}\0{save_images}".encode()).hexdigest()[:24]
    version = hashlib.sha256(stamp.encode()).hexdigest()[:24]
    return f"{EXPORTS_PREFIX}{target}/{target_id}/{kind}/{version}.zip"


def _drop_older(media: Any, key: str) -> None:
    """Archives of earlier versions of the object in this format: no longer served."""
    folder = key.rsplit("/", 1)[0] + "/"
    for info in list(store.walk(media, folder)):
        if info.name != key:
            with contextlib.suppress(OSError):
                media.delete(info.name)


def run(job: Any) -> dict[str, Any]:
    """The ``export:dataset`` job: the cached archive, or a new one written as a stream."""
    args = job.args
    target, target_id, name = args["target"], int(args["id"]), args["format"]
    save_images = bool(args.get("save_images"))
    state = job.state
    fmt = collect_formats(state.pm).exporter(name)
    if fmt is None or fmt.exporter is None:
        raise JobFailed(f"The format {name!r} is no longer installed.")
    with state.db.unit_of_work(write=False) as session:  # a reader: progress still writes
        caller = Caller.for_job(job, session)
        try:
            obj = target_object(caller, target, target_id, "view")
        except NotFound:
            raise JobFailed(f"The {target} {target_id} no longer exists.") from None
        key = cache_key(target, target_id, name, save_images, str(obj.updated_date))
        if not store.exists(state.media, key):
            job.progress(0.0, "Writing the archive")
            dataset = datasets_source.build(caller, target, obj, save_images)
            _write(state.media, key, fmt.exporter, dataset)
            _drop_older(state.media, key)
        filename = args.get("filename") or _default_name(target, obj, args)
    with state.db.unit_of_work() as session:
        job.guard(session)
        row = session.get(BackgroundJob, job.id)
        if row is not None:
            row.args = {**row.args, "file": key}
        caller = Caller.for_job(job, session)
        obj = session.get({"task": Task, "job": Job, "project": Project}[target], target_id)
        if obj is not None:
            changes.publish(caller, "export", "dataset", obj,
                            org_id=_org_id(caller, target, obj))
    if args.get("cloud_storage_id") is not None:
        _to_bucket(state, int(args["cloud_storage_id"]), key, filename)
        return {}  # as CVAT: a cloud export has no result_url
    from urllib.parse import quote

    return {"result_url": f"/api/{target}s/{target_id}/dataset/download?rq_id="
                          f"{quote(job.id, safe='')}"}


def _write(media: Any, key: str, exporter: Any, dataset: Any) -> None:
    """The zip goes to a local temporary file member by member, then streams into the
    store: a failed export leaves nothing under the cache key."""
    with tempfile.TemporaryFile(prefix="cvatcore-export-") as tmp:
        archive = ZipArchiveWriter(tmp)
        try:
            exporter(dataset, archive)
        except DatasetFormatError as exc:
            raise JobFailed(str(exc)) from None
        finally:
            archive.close()
        tmp.flush()
        tmp.seek(0)
        store.put_stream(media, key, tmp)


def _to_bucket(state: Any, storage_id: int, key: str, filename: str) -> None:
    """Copy the archive into the cloud storage, as ``<its prefix>/<filename>``."""
    from cvatcore.core.media.sources import SourceError
    from cvatcore.core.services.cloud_buckets import open_for_job

    try:
        bucket = open_for_job(state, storage_id)
        prefix = bucket.prefix.strip("/")
        store.copy_object(state.media, key, bucket.provider,
                          f"{prefix}/{filename}" if prefix else filename)
    except SourceError as exc:
        raise JobFailed(str(exc)) from None


def finished_file(caller: Caller, rq_id: str | None, kind: str, target: str, target_id: int,
                  what: str) -> tuple[Any, str, int]:
    """The finished ``kind`` request ``rq_id`` of this object (an export or a backup, named
    ``what`` in messages): ``(job, store key, size)``; 404 or 400 saying why it is not."""
    from cvatcore.core.services import requests

    if not rq_id:
        raise ValidationFailed.field("rq_id", "This query parameter is required.")
    job = requests.get(caller, rq_id)
    args = job.args or {}
    if job.kind != kind or args.get("target") != target or \
            int(args.get("id", -1)) != target_id:
        raise NotFound(f"No such {what} of this object.")
    if job.status != "finished" or not args.get("file"):
        raise ValidationFailed({"detail": f"The {what} is {job.status}, not finished."})
    key = args["file"]
    try:
        size = caller.state.media.stat(key).size
    except FileNotFoundError:
        raise NotFound(f"The {what} file has expired; export again.") from None
    return job, key, int(size or 0)


def download(caller: Caller, target: str, target_id: int, rq_id: str | None
             ) -> tuple[str, int, str]:
    """The finished export ``rq_id`` of this object: ``(store key, size, file name)``."""
    job, key, size = finished_file(caller, rq_id, "export:dataset", target, target_id, "export")
    args = job.args
    obj = target_object(caller, target, target_id,
                        "export:dataset" if args.get("save_images") else "export:annotations")
    return key, size, args.get("filename") or _default_name(target, obj, args)


def _default_name(target: str, obj: Any, args: dict[str, Any]) -> str:
    base = getattr(obj, "name", None) or str(obj.id)
    stamp = re.sub(r"[^0-9]", "", str(obj.updated_date))[:14]
    kind = "dataset" if args.get("save_images") else "annotations"
    raw = f"{target}_{base}_{kind}_{stamp}_{args['format']}.zip".replace(" ", "_")
    clean = re.sub(r"[^A-Za-z0-9_\-.]", "-", raw).lstrip(".")
    return clean[:250]



def drop_exports_of_deleted(connection: Any, event: Any) -> None:
    """A deleted task, job or project: queue the removal of its cached archives (in the
    deletion's transaction, so a rolled-back deletion removes nothing)."""
    from cvatcore.hooks import enqueue as enqueue_job

    enqueue_job(connection, "delete:exports",
                {"prefix": f"{EXPORTS_PREFIX}{event.resource}/{event.obj_id}/"})


def run_drop_exports(job: Any) -> None:
    prefix = str(job.args["prefix"])
    if prefix.startswith(EXPORTS_PREFIX) and ".." not in prefix:
        store.remove_prefix(job.state.media, prefix)
    drop_orphan_exports(job.state)


def drop_orphan_exports(state: Any) -> None:
    """Remove the archives of tasks and jobs that no longer exist: a task's jobs (and a
    project's tasks) go with it in the database without a deletion event of their own."""
    for kind, model in (("task", Task), ("job", Job)):
        root = f"{EXPORTS_PREFIX}{kind}/"
        ids = {int(part) for info in store.walk(state.media, root)
               if (part := info.name[len(root):].split("/", 1)[0]).isdigit()}
        if not ids:
            continue
        with state.db.unit_of_work(write=False) as session:
            alive = set(session.scalars(select(model.id).where(model.id.in_(ids))))
        for gone in sorted(ids - alive):
            store.remove_prefix(state.media, f"{root}{gone}/")
