"""Native functions served by the real ``cvat-cli function run-agent`` (cvat-cli 2.80,
unchanged) against a live ``cvatcore serve``: the CLI registers the function, cvat-sdk asks
``/api/lambda/requests`` for a batch run over a 200-frame task, the agent hears of it on the
``watch`` stream, reads the task's chunks as the function's owner and hands the shapes back;
cvat-sdk reads them back. An agent killed half-way (SIGKILL) gives its request back once its
lease (2 s here) runs out, and a second agent finishes it, with nothing written in between.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cvat_sdk import models

from cvatcore.hooks.testing.live import serve_with_admin

from . import native

USER, PASSWORD = "agent-owner", "agent-owner-pass"
AUTH = (USER, PASSWORD)
OTHER, OTHER_PASSWORD = "agent-other", "agent-other-pass"
FRAMES = 200
LEASE_SECONDS = 2

# A trivial detector: one box per frame whose x says which frame it came from, so a frame
# annotated twice (or not at all) shows. With AGENT_STALL_AT set it writes a marker on that
# frame and hangs there, so the test can kill its agent half-way.
FUNCTION = '''
import os
import pathlib
import time

import cvat_sdk.auto_annotation as cvataa

spec = cvataa.DetectionFunctionSpec(labels=[cvataa.label_spec("car", 0, type="rectangle")])


def detect(context, image):
    number = int(pathlib.Path(context.frame_name).stem[1:])
    stall_at = os.environ.get("AGENT_STALL_AT")
    if stall_at and number == int(stall_at):
        pathlib.Path(os.environ["AGENT_MARKER"]).write_text(str(number))
        time.sleep(600)
    return [cvataa.rectangle(0, [number, 1, number + 10, 11])]
'''


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    with serve_with_admin(tmp_path_factory.mktemp("native-agents"),
                          f"[inference]\nagent_lease_seconds = {LEASE_SECONDS}\n",
                          users={USER: PASSWORD, OTHER: OTHER_PASSWORD}) as live:
        yield live.host, live.port


@pytest.fixture(scope="module")
def function_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("function") / "boxes.py"
    path.write_text(FUNCTION)
    return path


@pytest.fixture(scope="module")
def task_id(server: tuple[str, int], tmp_path_factory: pytest.TempPathFactory) -> int:
    with _client(server) as client:
        return native.make_task(client, tmp_path_factory.mktemp("frames"), "agents", FRAMES,
                                32).id


def _client(server: tuple[str, int], user: str = USER, password: str = PASSWORD) -> Any:
    return native.client(server, (user, password))


def _wait_for(call_id: str, client: Any, until: tuple[str, ...] = ("finished", "failed"),
              timeout: float = 120) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        call, _ = client.api_client.lambda_api.retrieve_requests(call_id)
        if call.status in until:
            return call
        assert time.monotonic() < deadline, call
        time.sleep(0.2)


def _boxes(client: Any, task_id: int) -> list[tuple[int, list[float], str]]:
    shapes = client.tasks.retrieve(task_id).get_annotations().shapes
    return sorted((s.frame, s.points, s.source) for s in shapes)


EXPECTED = [(n, [n, 1, n + 10, 11], "auto") for n in range(FRAMES)]


def test_batch_run_served_by_a_real_agent(server: tuple[str, int], function_file: Path,
                                          task_id: int, tmp_path: Path) -> None:
    function_id = native.create_function(server, AUTH, tmp_path, "boxes", function_file)
    agent = native.start_agent(server, AUTH, tmp_path, function_id, function_file)
    try:
        with _client(server) as client:
            api = client.api_client.lambda_api
            listed = json.loads(api.list_functions(_parse_response=False)[1].data)
            mine = [f for f in listed if f["id"] == str(function_id)]
            assert mine and mine[0]["kind"] == "detector"
            assert [label["name"] for label in mine[0]["labels_v2"]] == ["car"]
            agent.wait_connected()  # it hears of the request on its watch stream
            started = time.monotonic()
            call, _ = api.create_requests(models.FunctionCallRequest(
                function=str(function_id), task=task_id, cleanup=True))
            call = _wait_for(call.id, client)
            elapsed = time.monotonic() - started
            assert call.status == "finished", call.exc_info
            assert call.progress == 100
            # Notified on the stream, not found by the agent's once-a-minute poll.
            assert elapsed < 30, elapsed
            assert _boxes(client, task_id) == EXPECTED
            request = client.api_client.requests_api.retrieve(call.id)[0]
            assert request.operation.type == "autoannotate:task"
            assert request.operation.function_id == str(function_id)
    finally:
        agent.stop(signal.SIGTERM)
    result = native.run_cli(server, AUTH, tmp_path, "function", "delete", str(function_id))
    assert result.returncode == 0, result.stderr
    with _client(server) as client:
        listed = json.loads(client.api_client.lambda_api.list_functions(
            _parse_response=False)[1].data)
        assert str(function_id) not in [f["id"] for f in listed]


def test_a_killed_agent_gives_its_request_back(server: tuple[str, int], function_file: Path,
                                               task_id: int, tmp_path: Path) -> None:
    function_id = native.create_function(server, AUTH, tmp_path, "boxes", function_file)
    marker = tmp_path / "stalled"
    with _client(server) as client:
        client.tasks.retrieve(task_id).remove_annotations()
        api = client.api_client.lambda_api
        call, _ = api.create_requests(models.FunctionCallRequest(
            function=str(function_id), task=task_id, cleanup=True))
        first = native.start_agent(
            server, AUTH, tmp_path, function_id, function_file, "--burst",
            env={"AGENT_STALL_AT": str(FRAMES // 2), "AGENT_MARKER": str(marker)})
        try:
            deadline = time.monotonic() + 90
            while not marker.exists():
                assert first.process.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
        finally:
            first.stop()  # SIGKILL, half-way through the task
        call = _wait_for(call.id, client, until=("started",))
        assert _boxes(client, task_id) == []  # nothing half-written

        time.sleep(LEASE_SECONDS + 0.5)  # the dead agent's lease runs out
        second = native.start_agent(server, AUTH, tmp_path, function_id, function_file,
                                    "--burst")
        assert second.process.wait(timeout=120) == 0
        call = _wait_for(call.id, client)
        assert call.status == "finished", call.exc_info
        assert _boxes(client, task_id) == EXPECTED  # every frame once, none twice


def test_functions_api_rules(server: tuple[str, int], task_id: int) -> None:
    """Visibility, the owner-only queue, and a bad body's 400 with what is wrong."""
    body = {"provider": "native", "name": "private one", "kind": "detector",
            "labels_v2": [{"name": "car", "attributes": []}]}
    with _client(server) as owner, _client(server, OTHER, OTHER_PASSWORD) as other:
        created = json.loads(owner.api_client.call_api(
            "/api/functions", "POST", body=body, _parse_response=False)[1].data)
        fid = created["id"]
        assert created["visibility"] == "private" and created["labels_v2"] == [
            {"name": "car", "type": "any", "attributes": []}]
        status = _status(other, f"/api/functions/{fid}", "GET")
        assert status == 404  # someone else's private function does not exist for them
        public = json.loads(owner.api_client.call_api(
            "/api/functions", "POST", body={**body, "visibility": "public"},
            _parse_response=False)[1].data)
        assert _status(other, f"/api/functions/{public['id']}", "GET") == 200
        # Seeing a public function is not serving it: the queue is its owner's.
        assert _status(other, f"/api/functions/queues/function:{public['id']}/requests/"
                       "acquire", "POST", {"agent_id": "a" * 32,
                                           "request_category": "batch"}) == 403
        assert _status(other, f"/api/functions/{public['id']}", "DELETE") == 403
        assert json.loads(owner.api_client.call_api(
            f"/api/functions/queues/function:{fid}/requests/acquire", "POST",
            body={"agent_id": "a" * 32, "request_category": "batch"},
            _parse_response=False)[1].data) == {"ar_assignment": None}
        for bad, field in (({**body, "provider": "nuclio"}, "provider"),
                           ({**body, "kind": "oracle"}, "kind"),
                           ({**body, "labels_v2": [{"name": "x", "type": "blob"}]},
                            "labels_v2")):
            status, answer = native.answer(owner, "/api/functions", "POST", bad)
            assert status == 400 and field in answer, answer
        for function in (fid, public["id"]):
            assert _status(owner, f"/api/functions/{function}", "DELETE") == 204


def _status(client: Any, path: str, method: str, body: Any = None) -> int:
    return native.answer(client, path, method, body)[0]


def test_the_agent_reads_another_users_task_as_the_functions_owner(
    server: tuple[str, int], function_file: Path, tmp_path: Path
) -> None:
    """A public function run by someone else on their own task: the owner's agent may read
    that task while the request is unfinished, and not after."""
    function_id = native.create_function(server, AUTH, tmp_path, "public boxes", function_file,
                                         "--visibility", "public")
    with _client(server, OTHER, OTHER_PASSWORD) as other, _client(server) as owner:
        task = native.make_task(other, tmp_path, "theirs", 3, 32)
        assert _status(owner, f"/api/tasks/{task.id}", "GET") == 403
        call, _ = other.api_client.lambda_api.create_requests(models.FunctionCallRequest(
            function=str(function_id), task=task.id))
        deadline = time.monotonic() + 30
        while _status(owner, f"/api/tasks/{task.id}", "GET") != 200:  # its AR is queued
            assert time.monotonic() < deadline
            time.sleep(0.1)
        agent = native.start_agent(server, AUTH, tmp_path, function_id, function_file,
                                   "--burst")
        assert agent.process.wait(timeout=120) == 0
        call = _wait_for(call.id, other)
        assert call.status == "finished", call.exc_info
        assert _boxes(other, task.id) == EXPECTED[:3]
        assert _status(owner, f"/api/tasks/{task.id}", "GET") == 403


def test_an_agents_failure_and_a_cancelled_run(server: tuple[str, int], task_id: int) -> None:
    """The queue protocol as cvat-cli speaks it: an agent that gives up fails the run with
    its reason; a run deleted while queued withdraws its request, and an agent's late
    answer to it is a 404 (both write nothing)."""
    body = {"provider": "native", "name": "protocol", "kind": "detector",
            "labels_v2": [{"name": "car", "type": "rectangle", "attributes": []}]}
    agent = {"agent_id": "b" * 32}
    with _client(server) as client:
        client.tasks.retrieve(task_id).remove_annotations()
        fid = native.answer(client, "/api/functions", "POST", body)[1]["id"]
        queue = f"/api/functions/queues/function:{fid}/requests"
        api = client.api_client.lambda_api

        def assignment() -> dict[str, Any]:
            deadline = time.monotonic() + 30
            while True:  # the run's job queues the request once a worker takes it
                status, answer = native.answer(client, f"{queue}/acquire", "POST",
                                         {**agent, "request_category": "batch"})
                assert status == 200, answer
                if answer["ar_assignment"] is not None:
                    return answer["ar_assignment"]
                assert time.monotonic() < deadline
                time.sleep(0.1)

        call, _ = api.create_requests(models.FunctionCallRequest(
            function=str(fid), task=task_id, threshold=0.5))
        ar = assignment()
        assert ar["ar_params"] == {"type": "annotate_task", "task": task_id, "threshold": 0.5,
                                   "conv_mask_to_poly": False,
                                   "mapping": {"car": {"name": "car", "attributes": {}}}}
        assert _status(client, f"{queue}/{ar['ar_id']}/fail", "POST",
                       {"agent_id": "c" * 32, "exc_info": "not mine"}) == 409
        assert _status(client, f"{queue}/{ar['ar_id']}/fail", "POST",
                       {**agent, "exc_info": "Worker process crashed"}) == 200
        call = _wait_for(call.id, client)
        assert call.status == "failed" and "Worker process crashed" in call.exc_info

        call, _ = api.create_requests(models.FunctionCallRequest(
            function=str(fid), task=task_id))
        ar = assignment()
        api.delete_requests(call.id)
        status, answer = native.answer(client, f"{queue}/{ar['ar_id']}/complete", "POST",
                                 {**agent, "annotations": {"tags": [], "shapes": []}})
        assert status == 404, answer
        assert native.answer(client, f"{queue}/acquire", "POST", {
            **agent, "request_category": "batch"})[1] == {"ar_assignment": None}
        assert _boxes(client, task_id) == []
        assert _status(client, f"/api/functions/{fid}", "DELETE") == 204
