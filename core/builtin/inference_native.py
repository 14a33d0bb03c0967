"""Built-in plugin: the ``native`` inference backend, functions served by agents.

A native function (``/api/functions``, registered with ``cvat-cli function create-native``)
runs on its owner's machine under ``cvat-cli function run-agent``; the server never reaches
the model, the agent comes to the server's queue (``services/agent_queue.py``). So this
backend lists the native functions the caller may see, and instead of invoking a function
frame by frame it runs a whole batch request: it queues one ``annotate_task`` request for
the function's agents and waits for the result, mirroring the agent's progress, while the
``autoannotate:task`` job that called it keeps its own lease and watches for cancellation.
"""

from __future__ import annotations

import time
from typing import Any

from cvatcore.core.models import AgentRequest
from cvatcore.core.services import agent_queue, lambda_mapping, lambda_roi, native_functions
from cvatcore.hooks import EmptyConfig, JobFailed, Register, hookimpl
from cvatcore.hooks.inference_types import InferenceRejectedError

#: How often the waiting job looks at its request (a primary-key read).
POLL_SECONDS = 0.2


class NativeBackend:
    """The ``native`` backend (see the module text)."""

    #: Online calls go to the function's agents as interactive requests
    #: (``services/lambda_calls.py``), never through ``invoke``.
    runs_on_agents = True

    def __init__(self, config: EmptyConfig | None = None) -> None:
        pass

    def list_functions(self) -> list[dict[str, Any]]:
        return []  # which native functions exist depends on who asks: list_functions_for

    def list_functions_for(self, caller: Any) -> list[dict[str, Any]]:
        return native_functions.visible_descriptors(caller)

    def health(self) -> dict[str, Any]:
        return {"ok": True, "detail": ""}

    def invoke(self, function_id: str, payload: dict[str, Any]) -> Any:
        raise InferenceRejectedError(
            f"Function {function_id} is run by agents over a task's frames; calling it on "
            "one uploaded image is not supported.", 400)

    def annotate_task(self, job: Any, request: dict[str, Any]) -> dict[str, list[Any]]:
        """Run ``request`` (``function``, ``task``, ``frames``, ``mapping``, ``threshold``,
        ``conv_mask_to_poly``, ``roi``) on the function's agents; the annotations they found on the
        request's frames, as an annotations body."""
        params = {"type": "annotate_task", "task": request["task"],
                  "mapping": lambda_mapping.agent_mapping(request["mapping"]),
                  "threshold": request["threshold"],
                  "conv_mask_to_poly": request["conv_mask_to_poly"]}
        if request.get("roi"):  # the agent crops each frame; shapes come back cropped
            params["roi"] = list(request["roi"])
        with job.state.db.unit_of_work() as session:
            ar_id = agent_queue.submit(
                session, function_id=int(request["function"]), task_id=request["task"],
                category="batch", params=params, job_id=job.id).id
        job.state.wakeups.wake(agent_queue.wakeup_key(int(request["function"])))
        result = _wait(job, ar_id)
        first, stop = request["frames"]
        keep = set(range(first, stop)) - set(request.get("deleted", ()))
        annotations = result.get("annotations") or {}
        roi = tuple(request["roi"]) if request.get("roi") else None
        return {"tags": _on(annotations.get("tags"), keep),
                "shapes": lambda_roi.offset_shapes(_on(annotations.get("shapes"), keep), roi),
                "tracks": []}


def _wait(job: Any, ar_id: str) -> dict[str, Any]:
    """The AR's result once an agent completes it; its failure fails the job. Progress is
    copied to the job, whose ``progress`` and ``check`` stop here on cancellation."""
    reported = -1.0
    while True:
        with job.state.db.unit_of_work() as session:
            ar = session.get(AgentRequest, ar_id)
            if ar is None:
                raise JobFailed("The request was withdrawn: its function was deleted.")
            status, progress, result, exc_info = ar.status, ar.progress, ar.result, ar.exc_info
            waiting = status == "queued" or status == "assigned" and ar.assignments == 0
        if status == "completed":
            return result or {}
        if status == "failed":
            raise JobFailed(f"The agent could not run the function: {exc_info}")
        if progress != reported:
            reported = progress
            job.progress(round(0.99 * progress, 4),
                         "Waiting for an agent" if waiting else "Running on an agent")
        else:
            job.check()
        time.sleep(POLL_SECONDS)


def _on(items: Any, frames: set[int]) -> list[dict[str, Any]]:
    """The agent annotates the whole task; a job's request keeps its own frames."""
    out = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and item.get("frame") in frames:
            out.append({**item, "source": "auto"})
    return out


@hookimpl
def register_inference_backends(register: Register) -> None:
    register("native", NativeBackend,
             description="Native functions (cvat-cli function create-native), run by agents "
                         "(cvat-cli function run-agent)")
