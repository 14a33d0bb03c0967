"""Batch automatic annotation (``/api/lambda/requests``): one function over a whole task or
job, in the ``autoannotate:task`` background job.

A request is checked whole when it is made (function, task, job, threshold, mapping: a 400
before anything is queued) and queued under the id ``action=autoannotate&target=task&id=N``,
so a task has at most one unfinished request (a second is a 409, as in CVAT) and the same
request shows in ``/api/requests``. The job reads each frame, calls the function, maps its
answer to the task's labels, and writes every shape in ONE transaction at the end through
the annotations services (with ``cleanup`` the task's or job's annotations are replaced,
else added to): a run that fails or is cancelled half-way leaves the annotations as they were.
ReID functions chain the rectangles into tracks instead (``lambda_reid``).
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from cvatcore.core.errors import ApiError, Conflict, NotFound, ValidationFailed
from cvatcore.core.jobs.queue import ACTIVE, enqueue, request_id
from cvatcore.core.models import BackgroundJob, Task
from cvatcore.core.services import (
    annotations,
    labels,
    lambda_functions,
    lambda_mapping,
    lambda_reid,
    lambda_roi,
    task_media,
)
from cvatcore.core.services import requests as requests_service
from cvatcore.core.services.caller import Caller
from cvatcore.hooks import InferenceError, JobFailed

KIND = "autoannotate:task"
#: Frames read and inferred per unit of work (a short read transaction each).
FRAMES_PER_READ = 16
#: Progress is written (and the lease renewed) at most this often.
PROGRESS_SECONDS = 0.5


def _request_id(task_id: int) -> str:
    return request_id("autoannotate", "task", task_id)


def _flag(data: dict[str, Any], *names: str) -> bool:
    for name in names:
        value = data.get(name)
        if value is not None:
            if not isinstance(value, bool):
                raise ValidationFailed.field(name, "Must be a valid boolean.")
            return value
    return False


def create(caller: Caller, data: dict[str, Any]) -> BackgroundJob:
    """``POST /api/lambda/requests``: queue a batch run; the new request's job row."""
    user = caller.require_user()
    function_id = data.get("function")
    if not isinstance(function_id, str) or not function_id:
        raise ValidationFailed.field("function", "This field is required.")
    if data.get("task") is None:
        raise ValidationFailed.field("task", "This field is required.")
    backend, backend_descriptor = lambda_functions.find(caller, function_id)
    kind = backend_descriptor["kind"]
    if kind not in ("detector", "reid"):
        raise ValidationFailed({"detail": f"Only detectors and ReID functions run over a "
                                          f"whole task; {function_id} is a {kind}."})
    if kind == "reid" and hasattr(backend, "annotate_task"):  # cvat-cli's agent has no ReID
        raise ValidationFailed({"detail": f"Function {function_id} is served by an agent, "
                                          "and agents do not run ReID functions."})
    task, job_id, frames = lambda_functions.target(caller, data, "update:annotations")
    threshold = lambda_functions.threshold_of(data)
    max_distance = lambda_reid.max_distance_of(data)
    roi = None
    if data.get("roi") is not None and kind == "reid":
        raise ValidationFailed.field("roi", "ReID functions compare whole frames.")
    if data.get("roi") is not None:  # inside every frame the run will crop
        meta = task_media.task_meta(caller, task.id)
        roi = lambda_roi.parse(data["roi"], lambda_roi.frame_sizes(meta, frames))
    cleanup = _flag(data, "cleanup")
    conv = _flag(data, "conv_mask_to_poly", "convMaskToPoly")
    resolved = None if kind == "reid" else lambda_mapping.resolve(  # ReID keeps the labels
        backend_descriptor, labels.label_index(caller.session, task), data.get("mapping"))
    rq_id = _request_id(task.id)
    existing = caller.session.get(BackgroundJob, rq_id)
    if existing is not None and existing.status in ACTIVE:
        raise Conflict(f"Only one running request is allowed for the same task #{task.id}")
    function = {"id": function_id, "threshold": threshold, "task": task.id}
    if job_id is not None:
        function["job"] = job_id
    job = enqueue(
        caller.session, job_id=rq_id, kind=KIND, max_attempts=1,
        args={"function": function, "frames": [frames.start, frames.stop], "cleanup": cleanup,
              "conv_mask_to_poly": conv, "mapping": resolved, "request_id": caller.request_id,
              "roi": list(roi) if roi else None, "kind": kind, "max_distance": max_distance},
        operation={"type": KIND, "target": "task", "task_id": task.id, "job_id": job_id,
                   "project_id": task.project_id, "org_id": task.organization_id,
                   "function_id": function_id},
        owner_id=user.id, org_id=task.organization_id,
    )
    lambda_functions.publish_call(caller, function_id, task, job_id, "batch")
    return job


def list_requests(caller: Caller) -> list[BackgroundJob]:
    """The caller's batch runs that did not fail (all of them for an admin), newest first."""
    stmt = requests_service.list_query(caller, {"action": "autoannotate"})
    stmt = stmt.where(BackgroundJob.status != "failed").order_by(
        BackgroundJob.created_date.desc())
    return list(caller.session.scalars(stmt))


def get(caller: Caller, rq_id: str) -> BackgroundJob:
    job = requests_service.get(caller, rq_id)
    if job.kind != KIND:
        raise NotFound("Request not found.")
    return job


def delete(caller: Caller, rq_id: str) -> None:
    """Cancel a run (queued or running: a running job stops at its next frame, writing
    nothing) and forget it, as CVAT deletes its RQ job."""
    caller.session.delete(get(caller, rq_id))
    caller.session.flush()


# -- the background job -----------------------------------------------------------------------


def run(job: Any) -> dict[str, Any]:
    """The ``autoannotate:task`` job (see the module text)."""
    args = job.args
    function = args["function"]
    task_id, function_id = function["task"], function["id"]
    with job.state.db.unit_of_work() as session:
        caller = Caller.for_job(job, session)
        if session.get(Task, task_id) is None:
            raise JobFailed(f"Task {task_id} no longer exists.")
        try:
            backend, _ = lambda_functions.find(caller, function_id)
            deleted = set(task_media.task_meta(caller, task_id)["deleted_frames"])
        except ApiError as exc:
            raise JobFailed(exc.message()) from None
    if args.get("kind") == "reid":  # chains the rectangles into tracks, and writes them
        frames = [f for f in range(*args["frames"]) if f not in deleted]
        lambda_reid.run(job, backend, frames)
        return {"result_id": task_id}
    if hasattr(backend, "annotate_task"):  # runs whole tasks itself (agents' queue)
        request = {"function": function_id, "task": task_id, "frames": args["frames"],
                   "threshold": function.get("threshold"), "mapping": args["mapping"],
                   "conv_mask_to_poly": args["conv_mask_to_poly"], "deleted": sorted(deleted),
                   "roi": args.get("roi")}
        body = backend.annotate_task(job, request)
    else:
        frames = [f for f in range(*args["frames"]) if f not in deleted]
        body = _frame_by_frame(job, backend, frames)
    _write(job, task_id, function.get("job"), body, args["cleanup"])
    return {"result_id": task_id}


def _frame_by_frame(job: Any, backend: Any, frames: list[int]) -> dict[str, list[Any]]:
    """Read frames in short transactions (the next ones while the function runs) and call
    the function on them, up to ``[inference] batch_concurrency`` calls at once (a model
    server, or OpenCV, which releases the GIL, serves several), mapping the answers in
    frame order."""
    args = job.args
    function = args["function"]
    task_id, function_id = function["task"], function["id"]
    roi = tuple(args["roi"]) if args.get("roi") else None
    body: dict[str, list[Any]] = {"tags": [], "shapes": [], "tracks": []}
    reported = time.monotonic()

    def invoke(frame_image: tuple[int, str]) -> Any:
        frame, image = frame_image
        payload: dict[str, Any] = {"image": image}
        if function.get("threshold") is not None:
            payload["threshold"] = function["threshold"]
        try:
            return backend.invoke(function_id, payload)
        except InferenceError as exc:
            raise JobFailed(f"Frame {frame}: {exc}") from None

    def read(batch: list[int]) -> list[tuple[int, str]]:
        with job.state.db.unit_of_work() as session:
            caller = Caller.for_job(job, session)
            try:
                if roi is None:
                    return [(f, lambda_functions.frame_b64(caller, task_id, f)) for f in batch]
                return [(f, lambda_roi.crop_b64(lambda_functions.frame_raw(caller, task_id, f),
                                                roi)) for f in batch]
            except ApiError as exc:
                raise JobFailed(exc.message()) from None

    concurrency = job.state.settings.inference.batch_concurrency
    batches = [frames[i:i + FRAMES_PER_READ] for i in range(0, len(frames), FRAMES_PER_READ)]
    number = 0
    with ThreadPoolExecutor(concurrency, thread_name_prefix="autoannotate") as pool, \
            ThreadPoolExecutor(1, thread_name_prefix="autoannotate-read") as reader:
        # The next frames are read while the function runs on these ones.
        upcoming = reader.submit(read, batches[0]) if batches else None
        for index in range(len(batches)):
            assert upcoming is not None
            images = upcoming.result()
            if index + 1 < len(batches):
                upcoming = reader.submit(read, batches[index + 1])
            answers = pool.map(invoke, images) if concurrency > 1 else map(invoke, images)
            for (frame, _), items in zip(images, answers, strict=True):
                number += 1
                if roi is not None and isinstance(items, list):  # back to the frame's place
                    items = lambda_roi.offset_items([i for i in items if isinstance(i, dict)],
                                                    roi)
                found = lambda_mapping.to_annotations(frame, items, args["mapping"],
                                                      args["conv_mask_to_poly"])
                body["tags"] += found["tags"]
                body["shapes"] += found["shapes"]
                now = time.monotonic()
                if now - reported >= PROGRESS_SECONDS or number == len(frames):
                    reported = now  # a write per frame would cost more than some functions
                    job.progress(round(0.99 * number / len(frames), 4),
                                 f"Annotated {number} of {len(frames)} frames")
                else:
                    job.check()  # cancelled or taken over: stop now, not at the next report
    return body


def _write(job: Any, task_id: int, job_id: int | None, body: dict[str, Any],
           cleanup: bool) -> None:
    """Every result in one transaction, only while this worker holds the job."""
    with job.state.db.unit_of_work() as session:
        job.guard(session)
        caller = Caller.for_job(job, session)
        try:
            _store(caller, task_id, job_id, body, cleanup)
        except ApiError as exc:  # the function's shapes do not fit the task (any more)
            raise JobFailed(f"The results cannot be saved: {exc.message()}") from None


def _store(caller: Caller, task_id: int, job_id: int | None, body: dict[str, Any],
           cleanup: bool) -> None:
    if job_id is not None:
        if cleanup:
            annotations.replace_job(caller, job_id, body)
        elif body["tags"] or body["shapes"]:
            annotations.patch_job(caller, job_id, "create", body)
    elif cleanup:
        annotations.replace_task(caller, task_id, body)
    elif body["tags"] or body["shapes"]:
        annotations.patch_task(caller, task_id, "create", body)


