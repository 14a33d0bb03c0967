"""Automatic-annotation functions (``/api/lambda/functions``): listing them from every enabled
inference backend, and calling one on one frame of a task or job.

Backends are the providers of ``register_inference_backends``, in the order of
``[inference] backends``; the first that lists an id serves it. Their errors
(``cvatcore.hooks.inference_types``) become the statuses CVAT answers with: 503 for an
unreachable server, 504 for a timeout, the upstream status otherwise.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from cvatcore.core.bus import make_event
from cvatcore.core.errors import ApiError, NotFound, ValidationFailed
from cvatcore.core.models import Segment, Task
from cvatcore.core.services import jobs, task_media, tasks
from cvatcore.hooks.inference_types import InferenceError, check_descriptor

if TYPE_CHECKING:
    from cvatcore.core.services.caller import Caller

logger = logging.getLogger("cvatcore.lambda")
T = TypeVar("T")


def guarded(call: Callable[[], T]) -> T:
    """Run a backend call; its ``InferenceError`` becomes the API error of its status."""
    try:
        return call()
    except InferenceError as exc:
        raise ApiError({"detail": str(exc)}, exc.status) from None


def _listing(caller: Caller) -> list[tuple[Any, dict[str, Any]]]:
    """``(backend, descriptor)`` of every valid function. A backend that is down is left
    out (and logged) while another answers; when every one is down, its error stands. A
    backend whose functions depend on who asks (the built-in ``native`` one) lists them with
    ``list_functions_for(caller)``."""
    found: dict[str, tuple[Any, dict[str, Any]]] = {}
    errors: list[InferenceError] = []
    backends = caller.state.inference_backends()
    for name, backend in backends:
        try:
            per_caller = getattr(backend, "list_functions_for", None)
            descriptors = per_caller(caller) if per_caller else backend.list_functions()
        except InferenceError as exc:
            logger.warning("inference backend %s cannot list its functions: %s", name, exc)
            errors.append(exc)
            continue
        for descriptor in descriptors:
            problems = check_descriptor(descriptor)
            if problems:
                logger.error("inference backend %s: function %r skipped: %s", name,
                             descriptor.get("id") if isinstance(descriptor, dict) else None,
                             "; ".join(problems))
                continue
            found.setdefault(descriptor["id"], (backend, descriptor))
    if errors and len(errors) == len(backends):
        raise ApiError({"detail": str(errors[0])}, errors[0].status)
    return list(found.values())


def list_functions(caller: Caller) -> list[dict[str, Any]]:
    caller.require_user()
    return [descriptor for _, descriptor in _listing(caller)]


def find(caller: Caller, function_id: str) -> tuple[Any, dict[str, Any]]:
    """The backend serving ``function_id`` and its descriptor; 404 when none lists it."""
    caller.require_user()
    for backend, descriptor in _listing(caller):
        if descriptor["id"] == function_id:
            return backend, descriptor
    raise NotFound(f"The function {function_id!r} is not available.")


def publish_call(caller: Caller, function_id: str, task: Task, job_id: int | None,
                 mode: str, session: Any = None) -> None:
    """One ``call:function`` event (``mode``: ``online`` or ``batch``) in the task's
    organization, in ``session`` (the caller's by default); its ``after`` names the
    function, task and job."""
    event = make_event(
        "call", "function", None,
        after={"function": function_id, "task": task.id, "job": job_id, "mode": mode},
        actor_id=caller.user.id if caller.user is not None else None,
        org_id=task.organization_id, request_id=caller.request_id)
    caller.state.bus.publish(session if session is not None else caller.session, event)


def target(caller: Caller, data: dict[str, Any], scope: str
           ) -> tuple[Task, int | None, range]:
    """The task, the job (if given) and the frames a call may use, from ``task``/``job``;
    a job must belong to the task when both are given."""
    task_id, job_id = data.get("task"), data.get("job")
    for name, value in (("task", task_id), ("job", job_id)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise ValidationFailed.field(name, "A valid integer is required.")
    if job_id is not None:
        job = jobs.get(caller, job_id, "view")
        if task_id is not None and job.task_id != task_id:
            raise ValidationFailed.field("job", f"Job {job_id} is not a job of task {task_id}.")
        task = tasks.get(caller, job.task_id, scope)
        segment = caller.session.get(Segment, job.segment_id)
        assert segment is not None
        return task, job_id, range(segment.start_frame, segment.stop_frame + 1)
    if task_id is None:
        raise ValidationFailed({"detail": "Either task or job is required."})
    task = tasks.get(caller, task_id, scope)
    size = task_media.task_meta(caller, task.id)["size"]
    return task, None, range(0, size)


def frame_raw(caller: Caller, task_id: int, frame: int) -> bytes:
    """The frame as stored (its original quality), encoded."""
    raw, _ = task_media.task_media(caller, task_id, {"type": "frame", "number": str(frame),
                                                     "quality": "original"})
    return raw


def frame_b64(caller: Caller, task_id: int, frame: int) -> str:
    return base64.b64encode(frame_raw(caller, task_id, frame)).decode("ascii")


def threshold_of(data: dict[str, Any]) -> float | None:
    value = data.get("threshold")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationFailed.field("threshold", "A valid number is required.")
    return float(value)
