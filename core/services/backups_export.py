"""Task and project backups: ``POST /api/{tasks|projects}/{id}/backup/export`` queues the
``export:backup`` job; the job writes CVAT's archive (``backups_format``) member by member,
the media streamed from the media store into the zip (ZIP64 past 4 GiB, so the size is limited
by disk, never by memory), then puts it in the media store; ``.../backup/download?rq_id=``
streams it back. As with dataset exports, an archive is kept per (object, lightweight, the
object's ``updated_date``): asking again before anything changed serves the same file."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
import zipfile
from typing import Any
from urllib.parse import quote

from sqlalchemy import select

from cvatcore.core.errors import NotFound, ValidationFailed
from cvatcore.core.jobs.queue import enqueue, request_id
from cvatcore.core.media import store
from cvatcore.core.models import BackgroundJob, Frame, Project, Task, TaskData
from cvatcore.core.services import annotations, changes
from cvatcore.core.services import backups_format as fmt
from cvatcore.core.services.caller import Caller
from cvatcore.core.services.datasets_export import (
    EXPORTS_PREFIX,
    _drop_older,
    _safe_filename,
    _target_storage,
    _to_bucket,
    finished_file,
    target_object,
)
from cvatcore.hooks import JobFailed

KIND = "export:backup"
COPY = 1 << 20
#: Already compressed media are stored as they are (deflating them again buys nothing).
STORED = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif", ".mp4", ".avi", ".mov",
                    ".mkv", ".webm", ".zip", ".tar", ".gz", ".7z", ".bz2", ".xz"})


def start_export(caller: Caller, target: str, target_id: int, filename: str | None,
                 location: str | None, cloud_storage_id: str | None,
                 lightweight: bool) -> str:
    """Queue the backup; returns the request id (202). Without ``location`` the object's
    ``target_storage`` decides, as CVAT does."""
    obj = target_object(caller, target, target_id, KIND)
    where, cloud_id = _target_storage(caller, target, obj, location, cloud_storage_id)
    if filename is not None and not _safe_filename(filename):
        raise ValidationFailed.field("filename", "Use letters, digits, '_', '-', '.' and "
                                                 "spaces, with an extension.")
    if target == "task":
        _check_exportable(caller, obj, lightweight)
    user_id = caller.user.id if caller.user is not None else None
    rq_id = request_id("export", target, target_id, subresource="backup", user_id=user_id,
                       lightweight=lightweight, location=where)
    org_id = obj.organization_id
    enqueue(caller.session, job_id=rq_id, kind=KIND,
            args={"target": target, "id": target_id, "filename": filename,
                  "lightweight": lightweight, "cloud_storage_id": cloud_id,
                  "request_id": caller.request_id},
            operation={"type": KIND, "target": target, f"{target}_id": target_id,
                       "org_id": org_id, "lightweight": lightweight},
            owner_id=user_id, org_id=org_id)
    return rq_id


def _check_exportable(caller: Caller, task: Task, lightweight: bool) -> None:
    data = caller.session.get(TaskData, task.data_id) if task.data_id is not None else None
    if data is not None and data.storage == "cloud_storage" and not lightweight:
        raise ValidationFailed({"detail": "The task's media are in a cloud storage: ask for a "
                                          "lightweight backup (lightweight=true), which keeps "
                                          "the keys, the labels and the annotations."})


def cache_key(target: str, target_id: int, lightweight: bool, stamp: str) -> str:
    version = hashlib.sha256(f"{stamp}\0{lightweight}".encode()).hexdigest()[:24]
    return f"{EXPORTS_PREFIX}{target}/{target_id}/backup/{version}.zip"


def _stamp(session: Any, target: str, obj: Any) -> str:
    """What the archive depends on: the object's ``updated_date`` (a project's tasks too)."""
    if target == "task":
        return str(obj.updated_date)
    dates = session.scalars(select(Task.updated_date).where(Task.project_id == obj.id)
                            .order_by(Task.id)).all()
    return "|".join([str(obj.updated_date), *map(str, dates)])


def run(job: Any) -> dict[str, Any]:
    """The ``export:backup`` job."""
    args, state = job.args, job.state
    target, target_id = args["target"], int(args["id"])
    lightweight = bool(args.get("lightweight"))
    with state.db.unit_of_work(write=False) as session:
        caller = Caller.for_job(job, session)
        try:
            obj = target_object(caller, target, target_id, "view")
        except NotFound:
            raise JobFailed(f"The {target} {target_id} no longer exists.") from None
        key = cache_key(target, target_id, lightweight, _stamp(session, target, obj))
        if not store.exists(state.media, key):
            job.progress(0.0, "Writing the backup")
            with tempfile.TemporaryFile(prefix="cvatcore-backup-") as tmp:
                with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED,
                                     compresslevel=6, allowZip64=True) as archive:
                    write_archive(caller, target, obj, archive, lightweight, job.progress)
                tmp.seek(0)
                store.put_stream(state.media, key, tmp)
            _drop_older(state.media, key)
        filename = args.get("filename") or default_name(target, obj)
    with state.db.unit_of_work() as session:
        job.guard(session)
        row = session.get(BackgroundJob, job.id)
        if row is not None:
            row.args = {**row.args, "file": key}
        obj = session.get(Task if target == "task" else Project, target_id)
        if obj is not None:
            changes.publish(Caller.for_job(job, session), "export", "backup", obj,
                            org_id=obj.organization_id)
    if args.get("cloud_storage_id") is not None:
        _to_bucket(state, int(args["cloud_storage_id"]), key, filename)
        return {}
    return {"result_url": f"/api/{target}s/{target_id}/backup/download?rq_id="
                          f"{quote(job.id, safe='')}"}


def write_archive(caller: Caller, target: str, obj: Any, archive: zipfile.ZipFile,
                  lightweight: bool, progress: Any = None) -> None:
    """CVAT's layout into ``archive``: a task at the top, or a project's tasks under
    ``task_<n>/`` (in id order) with ``project.json``."""
    if target == "task":
        _write_task(caller, obj, archive, "", lightweight)
        return
    tasks = caller.session.scalars(select(Task).where(Task.project_id == obj.id)
                                   .order_by(Task.id)).all()
    for n, task in enumerate(tasks):
        if progress is not None:
            progress(round(0.95 * n / max(len(tasks), 1), 3), f"Writing task {n + 1}")
        _write_task(caller, task, archive, f"task_{n}/", lightweight)
    _write_json(archive, fmt.PROJECT_MANIFEST, fmt.project_manifest(caller.session, obj))


def _write_json(archive: zipfile.ZipFile, name: str, value: Any) -> None:
    archive.writestr(name, json.dumps(value, separators=(",", ":"), default=str))


def _write_task(caller: Caller, task: Task, archive: zipfile.ZipFile, folder: str,
                lightweight: bool) -> None:
    session = caller.session
    data = session.get(TaskData, task.data_id) if task.data_id is not None else None
    if data is not None and data.size and not (lightweight and data.storage == "cloud_storage"):
        _write_data(caller, data, archive, folder + fmt.DATA_DIR)
    elif data is not None and data.storage == "cloud_storage":
        _write_keys(session, data, archive, folder + fmt.DATA_DIR)
    _write_json(archive, folder + fmt.TASK_MANIFEST, fmt.task_manifest(session, task, data))
    _write_annotations(caller, task, archive, folder + fmt.ANNOTATIONS)


def _write_data(caller: Caller, data: TaskData, archive: zipfile.ZipFile, folder: str) -> None:
    """The upload area as stored (CVAT's upload directory), each file streamed."""
    media = caller.state.media
    raw = store.raw_prefix(data.id)
    for info in store.walk(media, raw):
        name = info.name[len(raw):]
        if not name or name.endswith("/"):
            continue
        ext = ("." + name.rsplit(".", 1)[-1].lower()) if "." in name else ""
        member = zipfile.ZipInfo(folder + name)
        member.compress_type = zipfile.ZIP_STORED if ext in STORED else zipfile.ZIP_DEFLATED
        with store.open_read(media, info.name) as source, \
                archive.open(member, "w", force_zip64=True) as target:
            shutil.copyfileobj(source, target, COPY)


def _write_keys(session: Any, data: TaskData, archive: zipfile.ZipFile, folder: str) -> None:
    """A lightweight backup of cloud data: no media, only a manifest naming the keys (CVAT's
    ``manifest.jsonl`` lines), so a restore reads the same keys from the same storage."""
    with archive.open(folder + "manifest.jsonl", "w", force_zip64=True) as target:
        target.write(b'{"version":"1.1"}\n{"type":"images"}\n')
        rows = session.execute(select(Frame.path, Frame.width, Frame.height)
                               .where(Frame.data_id == data.id).order_by(Frame.frame))
        for path, width, height in rows:
            stem, dot, ext = path.rpartition(".")
            line = {"name": stem if dot else path, "extension": f".{ext}" if dot else "",
                    "width": width, "height": height}
            target.write(json.dumps(line).encode() + b"\n")


def _write_annotations(caller: Caller, task: Task, archive: zipfile.ZipFile, name: str
                       ) -> None:
    """One job's annotation set at a time (memory follows the largest job)."""
    names = fmt.Names(caller.session, task)
    with archive.open(name, "w", force_zip64=True) as target:
        target.write(b"[")
        for n, job in enumerate(fmt.annotation_jobs(caller.session, task)):
            body = annotations.job_annotations(caller, job.id)
            target.write((b"," if n else b"") + json.dumps(
                names.job(body), separators=(",", ":")).encode())
        target.write(b"]")


def download(caller: Caller, target: str, target_id: int, rq_id: str | None
             ) -> tuple[str, int, str]:
    """The finished backup ``rq_id`` of this object: ``(store key, size, file name)``."""
    job, key, size = finished_file(caller, rq_id, KIND, target, target_id, "backup")
    obj = target_object(caller, target, target_id, KIND)
    return key, size, job.args.get("filename") or default_name(target, obj)


def default_name(target: str, obj: Any) -> str:
    """CVAT's ``<target>_<name>_backup_<date>_<time>.zip``, in the characters the SDK takes."""
    stamp = obj.updated_date.strftime("%Y_%m_%d_%H_%M_%S") if hasattr(
        obj.updated_date, "strftime") else "0"
    raw = f"{target}_{obj.name}_backup_{stamp}.zip".replace(" ", "_").lower()
    return re.sub(r"[^a-z0-9_\-.]", "-", raw).lstrip(".-")[:250] or "backup.zip"

