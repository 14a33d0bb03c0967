"""The queue of a native function's annotation requests (ARs), as ``cvat-cli function
run-agent`` 2.80 speaks it (cvat-reference §11.3): ``acquire``, ``update``, ``complete``,
``fail``, and what ``watch`` announces.

Leases: ``acquire`` gives the AR to the agent for ``[inference] agent_lease_seconds``;
``update`` renews it. An AR whose lease ran out is handed to the next agent that asks, so an
agent that vanishes (killed, disconnected) gives its work back; until another agent takes it,
the first may still finish. Only the agent holding an AR may report on it (a 409 otherwise:
the one it lost it to reports instead). Only the function's owner serves its queue.

ARs are made by the inference backend (``core/builtin/inference_native.py``) for the
``autoannotate:task`` job, which waits for the result and writes it.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from cvatcore.core.errors import Conflict, NotFound, ValidationFailed
from cvatcore.core.models import AgentRequest, NativeFunction
from cvatcore.core.models.base import utcnow
from cvatcore.core.services import native_functions

if TYPE_CHECKING:
    from cvatcore.core.services.caller import Caller

CATEGORIES = ("interactive", "batch")
#: The result fields each AR type completes with.
RESULT_FIELDS = {"annotate_task": ("annotations",), "annotate_frame": ("annotations",),
                 "interact": ("shapes",), "init_tracking": ("states",),
                 "track": ("states", "shapes")}
MAX_EXC_INFO = 4096


def function_of_queue(caller: Caller, queue_id: str) -> NativeFunction:
    """The function a queue id (``function:<id>``) names, if the caller serves it."""
    kind, _, number = queue_id.partition(":")
    if kind != "function" or not number.isdecimal():
        raise NotFound("Queue not found.")
    return native_functions.get(caller, int(number), "serve")


def _agent_id(data: dict[str, Any]) -> str:
    agent_id = data.get("agent_id")
    if not isinstance(agent_id, str) or not 0 < len(agent_id) <= 64:
        raise ValidationFailed.field("agent_id", "A string of 1 to 64 characters is required.")
    return agent_id


def _lease(caller: Caller) -> timedelta:
    return timedelta(seconds=caller.state.settings.inference.agent_lease_seconds)


def acquire(caller: Caller, queue_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """The oldest AR of ``request_category`` that is queued or whose lease ran out, now the
    agent's: ``{"ar_assignment": {"ar_id", "ar_params"}}``, or ``{"ar_assignment": None}``."""
    function = function_of_queue(caller, queue_id)
    agent_id = _agent_id(data)
    category = data.get("request_category")
    if category not in CATEGORIES:
        raise ValidationFailed.field("request_category", f"Must be one of "
                                                         f"{', '.join(CATEGORIES)}.")
    now = utcnow()
    stmt = (select(AgentRequest)
            .where(AgentRequest.function_id == function.id, AgentRequest.category == category,
                   or_(AgentRequest.status == "queued",
                       and_(AgentRequest.status == "assigned", AgentRequest.lease_until < now)))
            .order_by(AgentRequest.created_date).limit(1))
    session = caller.session
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    request = session.scalar(stmt)
    if request is None:
        return {"ar_assignment": None}
    request.status, request.agent_id = "assigned", agent_id
    request.lease_until = now + _lease(caller)
    request.assignments += 1
    session.flush()
    return {"ar_assignment": {"ar_id": request.id, "ar_params": dict(request.params)}}


def _held(caller: Caller, queue_id: str, ar_id: str, data: dict[str, Any]) -> AgentRequest:
    function = function_of_queue(caller, queue_id)
    agent_id = _agent_id(data)
    stmt = select(AgentRequest).where(AgentRequest.id == ar_id,
                                      AgentRequest.function_id == function.id)
    if caller.session.bind is not None and caller.session.bind.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    request = caller.session.scalar(stmt)
    if request is None:
        raise NotFound("Annotation request not found.")
    if request.status != "assigned" or request.agent_id != agent_id:
        raise Conflict("This annotation request is not assigned to this agent "
                       "(its lease ran out and another agent took it, or it ended).")
    return request


def update(caller: Caller, queue_id: str, ar_id: str, data: dict[str, Any]) -> None:
    """Progress (0..1) from the agent holding the AR; renews its lease."""
    request = _held(caller, queue_id, ar_id, data)
    progress = data.get("progress")
    if isinstance(progress, bool) or not isinstance(progress, int | float) \
            or not 0 <= progress <= 1:
        raise ValidationFailed.field("progress", "A number from 0 to 1 is required.")
    request.progress = float(progress)
    request.lease_until = utcnow() + _lease(caller)


def complete(caller: Caller, queue_id: str, ar_id: str, data: dict[str, Any]) -> None:
    """The agent's result; the job waiting for it checks and stores it."""
    request = _held(caller, queue_id, ar_id, data)
    fields = RESULT_FIELDS.get(request.params.get("type"), ())
    result = {name: data.get(name) for name in fields}
    for name in fields:
        value = result[name]
        if name == "annotations":
            ok = isinstance(value, dict) and all(
                isinstance(value.get(k, []), list) for k in ("tags", "shapes"))
        else:
            ok = isinstance(value, list)
        if not ok:
            raise ValidationFailed.field(name, "This field is required and must be "
                                               + ("an object of tags and shapes."
                                                  if name == "annotations" else "a list."))
    request.status, request.result, request.progress = "completed", result, 1.0
    request.lease_until = None


def fail(caller: Caller, queue_id: str, ar_id: str, data: dict[str, Any]) -> None:
    """The agent could not do the AR; ``exc_info`` is the short reason it gives."""
    request = _held(caller, queue_id, ar_id, data)
    exc_info = data.get("exc_info", "")
    if not isinstance(exc_info, str):
        raise ValidationFailed.field("exc_info", "Must be a string.")
    request.status, request.exc_info = "failed", exc_info[:MAX_EXC_INFO] or "Unknown error"
    request.lease_until = None


def wakeup_key(function_id: int) -> tuple[str, int]:
    """The ``state.wakeups`` key of a function's queue: woken when an AR is queued."""
    return ("agent-queue", function_id)


def waiting_requests(session: Session, function_id: int) -> set[tuple[str, str]]:
    """``(category, AR id)`` of every AR an agent could take now (for the ``watch``
    stream, which announces a category whenever an AR it has not announced is waiting)."""
    now = utcnow()
    stmt = select(AgentRequest.category, AgentRequest.id).where(
        AgentRequest.function_id == function_id,
        or_(AgentRequest.status == "queued",
            and_(AgentRequest.status == "assigned", AgentRequest.lease_until < now)))
    return {(category, ar_id) for category, ar_id in session.execute(stmt)}


def submit(session: Session, *, function_id: int, task_id: int, category: str,
           params: dict[str, Any], job_id: str | None = None) -> AgentRequest:
    """Queue an AR; for a job, the one it queued before if it runs again (its worker was
    replaced) and that AR has not failed."""
    if job_id is not None:
        existing = session.scalar(select(AgentRequest).where(AgentRequest.job_id == job_id))
        if existing is not None:
            if existing.status != "failed" and existing.params == params:
                return existing
            session.delete(existing)
            session.flush()
    request = AgentRequest(id=str(uuid.uuid4()), function_id=function_id, task_id=task_id,
                           category=category, params=params, job_id=job_id)
    session.add(request)
    session.flush()
    return request


def serves_task(session: Session, user_id: int, task_id: int) -> bool:
    """Whether the user owns a native function with an unfinished request on the task: its
    agent then reads the task as that user, whoever asked for the run."""
    stmt = select(AgentRequest.id).join(
        NativeFunction, NativeFunction.id == AgentRequest.function_id).where(
        AgentRequest.task_id == task_id, NativeFunction.owner_id == user_id,
        AgentRequest.status.in_(("queued", "assigned"))).limit(1)
    return session.scalar(stmt) is not None
