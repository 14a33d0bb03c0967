"""Annotation import: ``POST /api/{tasks|jobs}/{id}/annotations/?format=...`` through the
upload protocol cvat-sdk uses (``Upload-Start``, TUS, ``Upload-Finish``), then the
``import:annotations`` job: the archive is checked (zip bombs, unsafe paths), read by the
format's importer, its label and attribute names matched to the task's, and written through
the annotation services in one transaction: everything, or nothing with a message that names
the file and line or element."""

from __future__ import annotations

import re
import tempfile
from typing import Any

from sqlalchemy import select

from cvatcore.core.datasets.archive import open_upload
from cvatcore.core.datasets.mask_polygons import masks_as_polygons
from cvatcore.core.datasets.registry import collect_formats
from cvatcore.core.errors import ApiError, NotFound, PayloadTooLarge, ValidationFailed
from cvatcore.core.jobs.queue import enqueue, request_id
from cvatcore.core.media import limits, store, uploads
from cvatcore.core.models import Frame, Segment, Task, TaskData
from cvatcore.core.services import changes, datasets_source
from cvatcore.core.services.annotations_bulk import write_batches
from cvatcore.core.services.caller import Caller
from cvatcore.core.services.datasets_export import storage_location, target_object
from cvatcore.core.services.datasets_resolve import Resolver
from cvatcore.hooks import JobFailed
from cvatcore.hooks.datasets import DatasetFormatError, ImportContext

IMPORTS_PREFIX = "imports/"


def area(caller: Caller, target: str, target_id: int) -> str:
    """The caller's upload area for imports into this object."""
    user = caller.user.id if caller.user is not None else 0
    return f"{IMPORTS_PREFIX}{target}-{target_id}-u{user}/"


def _check(caller: Caller, target: str, target_id: int) -> Any:
    scope = "import:dataset" if target == "project" else "import:annotations"
    return target_object(caller, target, target_id, scope)


def start_upload(caller: Caller, target: str, target_id: int) -> None:
    _check(caller, target, target_id)
    root = area(caller, target, target_id)
    store.remove_prefix(caller.state.media, root)


def tus_create(caller: Caller, target: str, target_id: int, filename: str,
               length: int) -> tuple[str, str]:
    _check(caller, target, target_id)
    if length > limits.MAX_TUS_FILE:
        raise PayloadTooLarge(f"File size exceeds max limit of {limits.MAX_TUS_FILE} bytes")
    filename = uploads.clean_name(filename or "annotations", basename=True)
    root = area(caller, target, target_id)
    return uploads.tus_create(caller.state.media, root, filename, length), filename


def tus_patch(caller: Caller, target: str, target_id: int, file_id: str, offset: int,
              body: Any) -> dict[str, Any]:
    _check(caller, target, target_id)
    return uploads.tus_patch(caller.state.media, area(caller, target, target_id), file_id,
                             offset, body)


def tus_state(caller: Caller, target: str, target_id: int, file_id: str) -> dict[str, Any]:
    _check(caller, target, target_id)
    return uploads.tus_state(caller.state.media, area(caller, target, target_id), file_id)


def _importer(caller: Caller, fields: dict[str, Any]) -> tuple[str, str]:
    """``(format name, import mode)`` of the request, checked."""
    name = fields.get("format") or ""
    fmt = collect_formats(caller.state.pm).importer(name)
    if fmt is None:
        formats = collect_formats(caller.state.pm)
        known = ", ".join(sorted(n for n in formats.all if formats.importer(n)))
        raise ValidationFailed.field("format", f"Unknown import format {name!r}; the server "
                                               f"has: {known}.")
    if not fmt.enabled:
        raise ApiError({"detail": f"The format {name!r} is disabled."}, status=405)
    mode = fields.get("import_mode") or "replace"
    if mode not in ("replace", "append"):
        raise ValidationFailed.field("import_mode", "Use replace or append.")
    return name, mode


def _conv_mask_to_poly(fields: dict[str, Any]) -> bool:
    value = str(fields.get("conv_mask_to_poly", "") or "true").lower()
    if value not in ("true", "false", "1", "0", "yes", "no"):
        raise ValidationFailed.field("conv_mask_to_poly", "Must be true or false.")
    return value in ("true", "1", "yes")


def finish_upload(caller: Caller, target: str, target_id: int, fields: dict[str, Any]) -> str:
    """``Upload-Finish``: check the format and the uploaded file, queue the import job. The
    file came with the request, so ``location`` and the object's ``source_storage`` play no
    part (a cloud file is imported with a plain POST, ``start_cloud_import``)."""
    obj = _check(caller, target, target_id)
    name, mode = _importer(caller, fields)
    if fields.get("location") not in (None, "", "local"):
        raise ValidationFailed.field("location", "An uploaded file is imported from "
                                                 "location=local.")
    root = area(caller, target, target_id)
    filename = uploads.clean_name(str(fields.get("filename") or ""), basename=True) \
        if fields.get("filename") else ""
    if not filename or not store.exists(caller.state.media, uploads.raw_prefix(root) + filename):
        raise ValidationFailed.field("filename", "No uploaded file of that name; upload it "
                                                 "first (Upload-Start, TUS, Upload-Finish).")
    return _enqueue(caller, target, obj, {
        "format": name, "mode": mode, "area": root, "filename": filename,
        "conv_mask_to_poly": _conv_mask_to_poly(fields)})


def start_cloud_import(caller: Caller, target: str, target_id: int,
                       fields: dict[str, Any]) -> str:
    """A plain ``POST`` (no upload headers): import the file ``filename`` of a cloud storage,
    the one named by ``location=cloud_storage`` and ``cloud_storage_id``, or without
    ``location`` by the object's ``source_storage`` (a job's task's), as CVAT decides. A
    local location has no file to import: 400."""
    obj = _check(caller, target, target_id)
    name, mode = _importer(caller, fields)
    use_default = str(fields.get("use_default_location", "true")).lower() not in (
        "false", "0", "no")
    location = fields.get("location") or (None if use_default else "local")
    where, cloud_id = storage_location(caller, target, obj, location,
                                       fields.get("cloud_storage_id"), field="source_storage")
    if where != "cloud_storage":
        raise ValidationFailed({"detail": "Send the file with the upload protocol: "
                                          "Upload-Start, TUS, then Upload-Finish; or name a "
                                          "file of a cloud storage (location=cloud_storage, "
                                          "cloud_storage_id, filename)."})
    key = str(fields.get("filename") or "").replace("\\", "/").lstrip("/")
    if not key or ".." in key.split("/"):
        raise ValidationFailed.field("filename", "The file's path in the cloud storage is "
                                                 "required (without '..').")
    root = area(caller, target, target_id)
    store.remove_prefix(caller.state.media, root)
    return _enqueue(caller, target, obj, {
        "format": name, "mode": mode, "area": root,
        "filename": uploads.clean_name(key, basename=True), "cloud_storage_id": cloud_id,
        "cloud_key": key, "conv_mask_to_poly": _conv_mask_to_poly(fields)})


def _enqueue(caller: Caller, target: str, obj: Any, args: dict[str, Any]) -> str:
    target_id = obj.id
    org_id = obj.organization_id if target != "job" else \
        caller.session.get(Task, obj.task_id).organization_id  # type: ignore[union-attr]
    kind = "dataset" if target == "project" else "annotations"
    user_id = caller.user.id if caller.user is not None else None
    rq_id = request_id("import", target, target_id, subresource=kind)
    name = args["format"]
    enqueue(caller.session, job_id=rq_id, kind="import:annotations",
            args={"target": target, "id": target_id, **args,
                  "request_id": caller.request_id},
            operation={"type": f"import:{kind}", "target": target, f"{target}_id": target_id,
                       "format": name, "org_id": org_id},
            owner_id=user_id, org_id=org_id)
    return rq_id


# -- the job -----------------------------------------------------------------------------------


def _frames(caller: Caller, task: Task, first: int, last: int) -> list[tuple[int, str, int, int]]:
    if task.data_id is None:
        return []
    data = caller.session.get(TaskData, task.data_id)
    video = data is not None and data.media_type == "video"
    rows = caller.session.execute(
        select(Frame.frame, Frame.path, Frame.width, Frame.height)
        .where(Frame.data_id == task.data_id, Frame.frame >= first, Frame.frame <= last)
        .order_by(Frame.frame)).all()
    return [(f, f"frame_{f:06d}.png" if video else p, w, h) for f, p, w, h in rows]


def frame_finder(frames: list[tuple[int, str, int, int]]) -> Any:
    """``frame_of(name, where)``: by path, then base name, then base name without extension."""
    def strip(name: str) -> str:
        return re.sub(r"\.[^./]*$", "", name)

    exact = {name: index for index, name, _, _ in frames}
    # Built at the first name that is not a path of the task (files the server wrote name
    # frames by path): two more maps of every frame's name cost memory per frame for nothing.
    loose: list[dict[str, int]] = []

    def frame_of(name: str, where: str) -> int:
        clean = name.replace("\\", "/").lstrip("./")
        if clean in exact:
            return exact[clean]
        if not loose:
            loose.append({path.rsplit("/", 1)[-1]: index for index, path, _, _ in frames})
            loose.append({strip(path.rsplit("/", 1)[-1]): index for index, path, _, _ in frames})
        for table, key in zip(loose, (clean.rsplit("/", 1)[-1],
                                      strip(clean.rsplit("/", 1)[-1])), strict=True):
            if key in table:
                return table[key]
        raise DatasetFormatError(f"{where}: the frame {name!r} is not in the task")

    return frame_of


def run(job: Any) -> dict[str, Any]:
    """The ``import:annotations`` job: read and check everything in a read transaction,
    then write it in one write transaction (all or nothing)."""
    args = job.args
    target, target_id, name = args["target"], int(args["id"]), args["format"]
    state = job.state
    fmt = collect_formats(state.pm).importer(name)
    if fmt is None or fmt.importer is None:
        raise JobFailed(f"The format {name!r} is no longer installed.")
    key = uploads.raw_prefix(args["area"]) + args["filename"]
    try:
        if args.get("cloud_storage_id") is not None:
            _from_bucket(state, int(args["cloud_storage_id"]), args["cloud_key"], key)
        with tempfile.TemporaryFile(prefix="cvatcore-import-") as tmp:
            try:
                with store.open_read(state.media, key) as source:
                    while chunk := source.read(1 << 20):
                        tmp.write(chunk)
            except FileNotFoundError:
                raise JobFailed(f"The uploaded file {args['filename']!r} is gone; upload it "
                                "again.") from None
            if target == "project":
                from cvatcore.core.services.datasets_project import import_into_project

                result = import_into_project(
                    job, target_id, key, args["filename"],
                    lambda task_id: _import(job, "task", task_id, fmt, tmp, args))
                return {"result_id": result}
            _import(job, target, target_id, fmt, tmp, args)
    except DatasetFormatError as exc:
        raise JobFailed(str(exc)) from None
    finally:
        store.remove_prefix(state.media, args["area"])
    return {"result_id": target_id}


def _from_bucket(state: Any, storage_id: int, cloud_key: str, key: str) -> None:
    """The cloud storage's file (``<its prefix>/<cloud_key>``, as exports write them, or
    ``cloud_key`` as given when it starts with the prefix) copied into the upload area, so a
    cloud import goes on as an uploaded one. A file past the upload limit fails the request
    saying so (not as a damaged archive cut at the limit)."""
    from cvatcore.core.media.sources import SourceError
    from cvatcore.core.services.cloud_buckets import open_for_job

    limit = limits.MAX_TUS_FILE
    try:
        bucket = open_for_job(state, storage_id)
        prefix = bucket.prefix.strip("/")
        path = cloud_key if not prefix or cloud_key.startswith(prefix + "/") \
            else f"{prefix}/{cloud_key}"
        size = bucket.provider.stat(path).size  # a file known to be too large is not read
        copied = size if size is not None and size > limit else None
        if copied is None:
            with store.open_read(bucket.provider, path) as source:
                copied = store.put_stream(state.media, key, source, limit=limit + 1)
    except FileNotFoundError:
        raise JobFailed(f"There is no file {cloud_key!r} in the cloud storage "
                        f"{storage_id}.") from None
    except (SourceError, OSError, ValueError) as exc:
        raise JobFailed(f"The file {cloud_key!r} cannot be read from the cloud storage "
                        f"{storage_id}: {exc}") from None
    if copied > limit:  # when not known before: one byte past the limit tells, unread rest
        raise JobFailed(f"The file {cloud_key!r} of the cloud storage {storage_id} is too "
                        f"large: files of at most {limit} bytes are imported, as uploads.")


def _import(job: Any, target: str, target_id: int, fmt: Any, tmp: Any,
            args: dict[str, Any]) -> None:
    tmp.seek(0)
    job.progress(0.1, "Reading and writing the annotations")
    with job.state.db.unit_of_work() as session:
        job.guard(session)
        import_file(Caller.for_job(job, session), target, target_id, fmt, tmp, args)


def import_file(caller: Caller, target: str, target_id: int, fmt: Any, stream: Any,
                args: dict[str, Any]) -> int:
    """Read ``stream`` with the format's importer and write what it holds in the caller's
    transaction, a batch at a time as it is read (``annotations_bulk``): a bad item anywhere
    raises ``JobFailed`` naming its place, and the transaction's rollback undoes the batches
    written before it. Returns the number of annotations written."""
    try:
        obj = target_object(caller, target, target_id, "view")
    except NotFound:
        raise JobFailed(f"The {target} {target_id} no longer exists.") from None
    task = obj if target == "task" else caller.session.get(Task, obj.task_id)
    first, last = 0, 10 ** 9
    if target == "job":
        segment = caller.session.get(Segment, obj.segment_id)
        first, last = segment.start_frame, segment.stop_frame  # type: ignore[union-attr]
    frames = _frames(caller, task, first, last)
    context = ImportContext(labels=datasets_source.dataset_labels(caller, task), frames=frames,
                            frame_of=frame_finder(frames))
    imported = fmt.importer(open_upload(stream, args["filename"]), context)
    if args.get("conv_mask_to_poly", True):
        imported = masks_as_polygons(imported)
    resolver = Resolver(caller, task, args["filename"])
    try:
        written = write_batches(caller, target, target_id,
                                lambda scope: resolver.rows(imported, scope),
                                replace=args.get("mode", "replace") != "append")
    except ValidationFailed as exc:
        raise JobFailed(resolver.explain(exc)) from None
    changes.publish(caller, "import", "dataset", obj,
                    org_id=task.organization_id if task is not None else None)
    return written
