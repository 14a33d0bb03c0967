"""Online calls of native functions: one interactive annotation request (AR) that an agent
(``cvat-cli function run-agent``) answers while the HTTP request that asked for it waits.

The AR is queued in a short transaction of its own, and the wait reads it in short read
transactions: the asking request holds no write transaction meanwhile (on SQLite it would
keep the agent's ``complete`` from ever committing). ``watch`` announces the AR as
``interactive``, which cvat-cli takes before batch work, even half-way through a batch AR.

Two deadlines, from ``[inference]``: an AR no agent has taken within
``agent_pickup_seconds`` is withdrawn and the call answers 503 saying no agent serves the
function; one not answered within ``online_timeout_seconds`` is withdrawn and the call
answers 504. An answered, failed or withdrawn AR is deleted: interactive ARs leave no rows.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from cvatcore.core.errors import ApiError
from cvatcore.core.models import AgentRequest
from cvatcore.core.services import agent_queue

#: How often the waiting call looks at its AR (a primary-key read).
POLL_SECONDS = 0.02


def run(state: Any, *, function_id: int, task_id: int, params: dict[str, Any],
        on_answer: Callable[[Session], None]) -> dict[str, Any]:
    """Queue ``params`` as an interactive AR of the function, wait for an agent's result and
    return it; ``on_answer(session)`` runs in the transaction that removes the answered AR
    (the call's event is published there)."""
    settings = state.settings.inference
    with state.db.unit_of_work() as session:
        ar_id = agent_queue.submit(session, function_id=function_id, task_id=task_id,
                                   category="interactive", params=params).id
    state.wakeups.wake(agent_queue.wakeup_key(function_id))  # this process's watch streams
    started = time.monotonic()
    pickup = started + settings.agent_pickup_seconds
    deadline = started + settings.online_timeout_seconds
    delay = POLL_SECONDS / 4
    while True:
        with state.db.unit_of_work(write=False) as session:
            ar = session.get(AgentRequest, ar_id)
            status = ar.status if ar is not None else None
            result, exc_info = (ar.result, ar.exc_info) if ar is not None else (None, None)
        if status is None:
            raise ApiError({"detail": f"Function {function_id} was deleted while the call "
                                      "waited for its agent."}, 503)
        if status == "completed":
            _finish(state, ar_id, on_answer)
            return result or {}
        if status == "failed":
            _finish(state, ar_id, None)
            raise ApiError({"detail": f"The agent could not run function {function_id}: "
                                      f"{exc_info}"}, 502)
        now = time.monotonic()
        if status == "queued" and now >= pickup and _withdraw(state, ar_id, ("queued",)):
            raise ApiError({"detail": (
                f"No agent is serving function {function_id}: none took the request within "
                f"{settings.agent_pickup_seconds:g} s. Start one with "
                f"`cvat-cli function run-agent {function_id}`.")}, 503)
        if now >= deadline and _withdraw(state, ar_id, ("queued", "assigned")):
            raise ApiError({"detail": f"The agent of function {function_id} did not answer "
                                      f"within {settings.online_timeout_seconds:g} s."}, 504)
        time.sleep(delay)
        delay = min(delay * 2, POLL_SECONDS)  # answers often come within milliseconds


def _withdraw(state: Any, ar_id: str, statuses: tuple[str, ...]) -> bool:
    """Delete the AR if it is still in one of ``statuses`` (an agent's late answer is then
    a 404); False when it moved on meanwhile (the caller looks again)."""
    with state.db.unit_of_work() as session:
        ar = session.get(AgentRequest, ar_id, with_for_update=True)  # vs. a racing complete
        if ar is None or ar.status not in statuses:
            return False
        session.delete(ar)
    return True


def _finish(state: Any, ar_id: str, on_answer: Callable[[Session], None] | None) -> None:
    with state.db.unit_of_work() as session:
        ar = session.get(AgentRequest, ar_id)
        if ar is not None:
            session.delete(ar)
        if on_answer is not None:
            on_answer(session)
