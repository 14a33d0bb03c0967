"""The ``import:backup`` job: a task or project archive in CVAT's format becomes a new task or
project, made through the same services as the API (the same checks and domain events).

All or nothing: the archive is checked first (a valid zip, no unsafe paths, no zip bomb, the
manifests and annotation sets in CVAT's form, ``data/manifest.jsonl`` naming only files that
are there); then each task's ``data/`` members stream into a fresh upload area and are indexed
as an upload would be (outside any transaction); then one transaction creates the project,
tasks, labels, frames, jobs and annotations. Any failure removes the media written so far and
leaves no row behind; the request fails with a message that says what is wrong."""

from __future__ import annotations

import json
import logging
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import timedelta
from typing import IO, Any

from cvatcore.core.datasets.archive import check_members
from cvatcore.core.errors import ValidationFailed
from cvatcore.core.media import store, uploads
from cvatcore.core.media.indexing import Indexed, Params, index_media
from cvatcore.core.media.sources import SourceError, list_inputs
from cvatcore.core.models import Job, TaskData
from cvatcore.core.services import annotations, changes, projects, tasks
from cvatcore.core.services import backups_format as fmt
from cvatcore.core.services.caller import Caller
from cvatcore.core.services.media_removal import cancel_orphan_checks, schedule_orphan_check
from cvatcore.core.services.task_data_job import fill_task_data
from cvatcore.hooks import JobFailed, StoragePathError
from cvatcore.hooks.datasets import DatasetFormatError

logger = logging.getLogger("cvatcore.backups")
COPY = 1 << 20
#: A job status in task.json, as the stage that gives it (the status follows the stage).
STAGES = {"annotation": "annotation", "validation": "validation", "completed": "acceptance"}
MAX_JSON = 512 * 1024 * 1024  # task.json, project.json, annotations.json read whole


#: A restore's data rows without a task after this long are a dead worker's leftovers.
ORPHAN_CHECK_AFTER = timedelta(hours=6)

@dataclass
class TaskPlan:
    folder: str  # "" or "task_<n>/"
    manifest: dict[str, Any]
    annotations: list[dict[str, Any]]
    data_id: int = 0
    indexed: Indexed | None = None
    params: Params = field(default_factory=Params)


def run(job: Any) -> dict[str, Any]:
    args, state = job.args, job.state
    try:
        with tempfile.TemporaryFile(prefix="cvatcore-restore-") as tmp:
            _fetch(job, tmp)
            tmp.seek(0)
            return {"result_id": restore(job, tmp, args["target"], args["filename"])}
    finally:
        if args.get("area"):
            store.remove_prefix(state.media, args["area"])


def _fetch(job: Any, tmp: IO[bytes]) -> None:
    """The archive into a local temporary file (a zip is read by seeking)."""
    args, state = job.args, job.state
    try:
        if args.get("cloud_storage_id") is not None:
            from cvatcore.core.services.cloud_buckets import open_for_job

            bucket = open_for_job(state, int(args["cloud_storage_id"]))
            prefix = bucket.prefix.strip("/")
            key = f"{prefix}/{args['key']}" if prefix else args["key"]
            with store.open_read(bucket.provider, key) as source:
                _copy(source, tmp)
            return
        with store.open_read(state.media, uploads.raw_prefix(args["area"]) + args["filename"]
                             ) as source:
            _copy(source, tmp)
    except (FileNotFoundError, SourceError, StoragePathError) as exc:
        raise JobFailed(f"The backup file {args['filename']!r} cannot be read: {exc}") from None


def _copy(source: IO[bytes], target: IO[bytes]) -> None:
    while chunk := source.read(COPY):
        target.write(chunk)


def restore(job: Any, stream: IO[bytes], target: str, filename: str) -> int:
    """Restore the archive in ``stream``; the new task's or project's id."""
    try:
        archive = zipfile.ZipFile(stream)
        infos = archive.infolist()
        check_members(infos, filename)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise JobFailed(f"{filename}: not a valid zip archive ({exc})") from None
    except DatasetFormatError as exc:
        raise JobFailed(str(exc)) from None
    plans: list[TaskPlan] = []
    with archive:
        try:
            project, found = _plan(archive, target)
            plans.extend(found)
            _unpack_all(job, archive, plans)
            return _create(job, target, project, plans)
        except fmt.BackupError as exc:
            _discard(job, plans)
            raise JobFailed(f"{filename}: {exc}") from None
        except (zipfile.BadZipFile, EOFError, zlib.error) as exc:
            _discard(job, plans)
            raise JobFailed(f"{filename}: the archive is damaged ({exc}); nothing was "
                            "restored") from None
        except BaseException:
            _discard(job, plans)
            raise


def _read_json(archive: zipfile.ZipFile, name: str) -> Any:
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise fmt.BackupError(f"{name} is missing; this is not a CVAT backup of this "
                              "kind") from None
    if info.file_size > MAX_JSON:
        raise fmt.BackupError(f"{name} is {info.file_size} bytes; at most {MAX_JSON} are read")
    try:
        with archive.open(info) as member:
            return json.loads(member.read(MAX_JSON + 1))
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise fmt.BackupError(f"{name} cannot be read ({exc})") from None


def _plan(archive: zipfile.ZipFile, target: str) -> tuple[dict[str, Any] | None, list[TaskPlan]]:
    """Every manifest and annotation set, checked before anything is written."""
    names = archive.namelist()
    if target == "task":
        folders = [""]
        project = None
    else:
        project = fmt.check_version(_read_json(archive, fmt.PROJECT_MANIFEST),
                                    fmt.PROJECT_MANIFEST)
        numbers = sorted({int(m.group(1)) for n in names if (m := fmt.TASK_DIR.match(n))})
        folders = [f"task_{n}/" for n in numbers]
    plans = []
    for folder in folders:
        sets = _read_json(archive, folder + fmt.ANNOTATIONS)
        manifest = fmt.check_task(_read_json(archive, folder + fmt.TASK_MANIFEST), sets, folder)
        plans.append(TaskPlan(folder, manifest, sets))
    return project, plans


def _params(data: dict[str, Any], order: list[str]) -> Params:
    sorting = data.get("sorting_method") or "lexicographical"
    if sorting in ("random", "predefined"):  # the frames keep the order the archive lists
        sorting = "predefined" if order else "lexicographical"
    return Params(image_quality=int(data.get("image_quality") or 70), sorting_method=sorting,
                  upload_file_order=order if sorting == "predefined" else [],
                  start_frame=int(data.get("start_frame") or 0),
                  stop_frame=data.get("stop_frame"), frame_filter=data.get("frame_filter") or "",
                  chunk_size=data.get("chunk_size"))


def _manifest_order(archive: zipfile.ZipFile, key: str, present: set[str]) -> list[str]:
    """The files ``data/manifest.jsonl`` names, in its order; each must be in ``data/``."""
    order: list[str] = []
    with archive.open(key) as member:
        for n, line in enumerate(member):
            try:
                item = json.loads(line)
            except ValueError:
                raise fmt.BackupError(f"{key}: line {n + 1} is not JSON") from None
            if not isinstance(item, dict) or "name" not in item:
                continue
            name = f"{item['name']}{item.get('extension', '')}"
            if present and name not in present:
                raise fmt.BackupError(f"{key} names {name!r}, which is not in the archive's "
                                      "data/; the archive was changed or is incomplete")
            order.append(name)
    return order


def _unpack_all(job: Any, archive: zipfile.ZipFile, plans: list[TaskPlan]) -> None:
    for n, plan in enumerate(plans):
        job.progress(round(0.8 * n / len(plans), 3), f"Unpacking task {n + 1} of {len(plans)}")
        _unpack(job, archive, plan)


def _unpack(job: Any, archive: zipfile.ZipFile, plan: TaskPlan) -> None:
    """The task's ``data/`` into a new upload area, then indexed as an upload is."""
    state, prefix = job.state, plan.folder + fmt.DATA_DIR
    members = [i for i in archive.infolist() if i.filename.startswith(prefix)
               and not i.is_dir() and not i.filename[len(prefix):].startswith("task/")]
    names = {i.filename[len(prefix):] for i in members}
    manifest_key = prefix + "manifest.jsonl"
    media = [i for i in members if i.filename != manifest_key
             and not i.filename.endswith("/index.json")]
    order = _manifest_order(archive, manifest_key, names - {"manifest.jsonl"}) \
        if manifest_key in archive.NameToInfo else []
    data = plan.manifest["data"]
    plan.params = _params(data, order)
    with state.db.unit_of_work() as session:
        job.guard(session)
        row = TaskData()
        session.add(row)
        session.flush()
        plan.data_id = row.id
        # Should the worker die before the task is made, this removes the row and its media.
        schedule_orphan_check(session, row.id, ORPHAN_CHECK_AFTER)
    if data.get("storage") == "cloud_storage" and not media:
        plan.indexed = _index_cloud(job, data, order, plan.params)
        return
    if not media:
        raise fmt.BackupError(f"{prefix} holds no media; the task cannot be restored")
    raw = store.raw_prefix(plan.data_id)
    for info in media:
        with archive.open(info) as source, \
                store.open_write(state.media, raw + info.filename[len(prefix):]) as target:
            _copy(source, target)
    try:
        plan.indexed = index_media(state.media, plan.data_id, list_inputs(state.media,
                                                                        plan.data_id),
                                   plan.params, lambda *_: None)
    except (SourceError, StoragePathError) as exc:
        raise fmt.BackupError(f"{prefix}: {exc}") from None
    _check_jobs(plan)


def _index_cloud(job: Any, data: dict[str, Any], keys: list[str], params: Params) -> Indexed:
    """A lightweight backup of cloud data: the same keys, read from the same storage."""
    from cvatcore.core.media.cloud_source import index_cloud
    from cvatcore.core.services.cloud_buckets import open_for_job

    storage_id = data.get("cloud_storage_id")
    if not isinstance(storage_id, int) or not keys:
        raise fmt.BackupError("a lightweight backup needs data.cloud_storage_id and "
                              "data/manifest.jsonl")
    _check_storage(job, storage_id)
    args = {"sorting_method": "predefined", "upload_file_order": keys,
            "image_quality": params.image_quality, "chunk_size": params.chunk_size}
    try:
        return index_cloud(open_for_job(job.state, storage_id), storage_id, keys, args,
                           lambda *_: None)
    except (SourceError, StoragePathError) as exc:
        raise fmt.BackupError(f"the cloud storage {storage_id}: {exc}") from None


def _check_storage(job: Any, storage_id: int) -> None:
    """The archive names a cloud storage: the user restoring it must be able to use it, as
    for a task made from its keys (an archive must not open someone else's bucket)."""
    from cvatcore.core.errors import NotFound, PermissionDenied
    from cvatcore.core.services import cloud_storages

    with job.state.db.unit_of_work(write=False) as session:
        try:
            storage = cloud_storages.get(Caller.for_job(job, session), storage_id, "view")
        except (NotFound, PermissionDenied):
            raise fmt.BackupError(f"the cloud storage {storage_id} of this lightweight backup "
                                  "does not exist or is not yours to use") from None
        if storage.organization_id != job.org_id:
            raise fmt.BackupError(f"the cloud storage {storage_id} belongs to another "
                                  "organization than the one restoring the backup")


def _check_jobs(plan: TaskPlan) -> None:
    assert plan.indexed is not None
    last = max(j["stop_frame"] for j in plan.manifest["jobs"])
    if last > plan.indexed.stop_frame:
        raise fmt.BackupError(f"{plan.folder}{fmt.TASK_MANIFEST}: the jobs reach frame {last}, "
                              f"but data/ holds frames up to {plan.indexed.stop_frame}")


def _create(job: Any, target: str, project_manifest: dict[str, Any] | None,
            plans: list[TaskPlan]) -> int:
    job.progress(0.9, "Creating the " + target)
    with job.state.db.unit_of_work() as session:
        job.guard(session)
        caller = Caller.for_job(job, session)
        project_id = None
        try:
            if project_manifest is not None:
                project = projects.create(caller, {
                    "name": project_manifest["name"],
                    "bug_tracker": project_manifest.get("bug_tracker") or "",
                    "labels": fmt.label_specs(project_manifest.get("labels") or [])})
                project_id = project.id
            ids = [_create_task(caller, plan, project_id) for plan in plans]
        except ValidationFailed as exc:
            raise fmt.BackupError(f"the archive's values are refused: {exc.body()}") from None
        return project_id if project_id is not None else ids[0]


def _create_task(caller: Caller, plan: TaskPlan, project_id: int | None) -> int:
    manifest, where = plan.manifest, plan.folder
    size, overlap = fmt.segment_options(manifest["jobs"])
    values: dict[str, Any] = {"name": manifest["name"], "segment_size": size, "overlap": overlap,
                              "bug_tracker": manifest.get("bug_tracker") or "",
                              "subset": manifest.get("subset") or ""}
    if project_id is not None:
        values["project_id"] = project_id
    else:
        values["labels"] = fmt.label_specs(manifest.get("labels") or [])
    task = tasks.create(caller, values)
    data = caller.session.get(TaskData, plan.data_id)
    assert data is not None and plan.indexed is not None
    task.data_id = data.id
    if plan.indexed.cloud_storage_id is None:
        data.storage = "local"
    fill_task_data(caller, task, data, plan.indexed, plan.params)
    data.deleted_frames = sorted({f for f in manifest["data"].get("deleted_frames") or []
                                  if isinstance(f, int) and 0 <= f < data.size})
    jobs = fmt.annotation_jobs(caller.session, task)
    ids = fmt.Ids(caller.session, task, f"{where}{fmt.ANNOTATIONS}")
    for job_row, job_meta, job_annotations in zip(jobs, manifest["jobs"], plan.annotations,
                                                  strict=False):
        _restore_job(caller, job_row, job_meta, ids.body(job_annotations))
    changes.publish(caller, "import", "backup", task, org_id=task.organization_id)
    return task.id


def _restore_job(caller: Caller, job: Job, meta: dict[str, Any], body: dict[str, Any]) -> None:
    if body["tags"] or body["shapes"] or body["tracks"]:
        annotations.replace_job(caller, job.id, body)
    status = meta.get("status")
    if status in STAGES and status != job.status:
        from cvatcore.core.services import jobs

        jobs.update(caller, job.id, {"stage": STAGES[status],
                                     **({"state": "completed"} if status == "completed" else {})})


def _discard(job: Any, plans: list[TaskPlan]) -> None:
    """Remove what a failed restore wrote: the media of each new upload area and its row."""
    made = [p.data_id for p in plans if p.data_id]
    for data_id in made:
        try:
            store.remove_prefix(job.state.media, store.data_prefix(data_id))
        except OSError:
            logger.exception("cannot remove the media of a failed restore (data %s)", data_id)
    if made:
        with job.state.db.unit_of_work() as session:
            for data_id in made:
                row = session.get(TaskData, data_id)
                if row is not None:
                    session.delete(row)
            # Their orphan checks go too: SQLite may give a deleted row's id to a new one.
            cancel_orphan_checks(session, made)
