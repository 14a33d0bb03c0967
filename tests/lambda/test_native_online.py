"""Online calls (``POST /api/lambda/functions/{id}``) of native functions, answered by the
real ``cvat-cli function run-agent`` (2.80, unchanged) against a live ``cvatcore serve`` on
SQLite, called through cvat-sdk: a detector (with and without ``roi``), a tracker (start,
go on, tampered and foreign states) and an interactor, each served by its own agent. Then
the deadlines: no agent at all is a quick 503 that withdraws the request; an agent that
takes a request and never answers is a 504, and its late answer a 404; an answer that comes
in while the call waits commits and is returned (the call holds no write transaction);
these last on PostgreSQL too.
"""

from __future__ import annotations

import base64
import contextlib
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from cvat_sdk import models
from sqlalchemy import text

from cvatcore.core.secrets import Secrets
from cvatcore.hooks.testing.databases import postgres_database
from cvatcore.hooks.testing.live import LiveServer, serve_with_admin
from cvatcore.hooks.testing.pytest_plugin import DATABASES

from . import native

USER, PASSWORD = "online-owner", "online-owner-pass"
AUTH = (USER, PASSWORD)
PICKUP, TIMEOUT = 2, 4
SIZE = 64

DETECTOR = '''
import pathlib
import cvat_sdk.auto_annotation as cvataa

spec = cvataa.DetectionFunctionSpec(labels=[cvataa.label_spec("car", 0, type="rectangle")])


def detect(context, image):
    number = int(pathlib.Path(context.frame_name).stem[1:])
    # Where the box lands tells the frame and the size of the image the function saw.
    return [cvataa.rectangle(0, [number, 1, image.width - 1, image.height - 1])]
'''

TRACKER = '''
import cvat_sdk.auto_annotation as cvataa

spec = cvataa.TrackingFunctionSpec(supported_shape_types=["rectangle"])


def preprocess_image(context, image):
    return image


def init_tracking_state(context, pp_image, shape):
    return list(shape.points)


def track(context, pp_image, state):
    state[:] = [p + 1 for p in state]  # follows something moving 1 px right and down a frame
    return cvataa.TrackableShape(type="rectangle", points=state)
'''

INTERACTOR = '''
import cvat_sdk.auto_annotation as cvataa

spec = cvataa.InteractionFunctionSpec(min_pos_points=1, min_neg_points=0, min_bounding_boxes=0)


def detect(context, image, prompts):
    xs = [p[0] for p in prompts.pos_points]
    ys = [p[1] for p in prompts.pos_points]
    box = [min(xs), min(ys), max(xs), max(ys)]
    return [cvataa.InteractionResultShape(type="rectangle", points=box)]
'''


@contextlib.contextmanager
def _serving(root: Path, database_url: str | None = None
             ) -> Iterator[tuple[str, int, LiveServer]]:
    with serve_with_admin(root, f"[inference]\nagent_pickup_seconds = {PICKUP}\n"
                          f"online_timeout_seconds = {TIMEOUT}\n", database_url=database_url,
                          users={USER: PASSWORD}) as live:
        yield live.host, live.port, live


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[tuple[str, int, LiveServer]]:
    with _serving(tmp_path_factory.mktemp("native-online")) as live:
        yield live


@pytest.fixture(params=DATABASES)
def any_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[tuple[str, int, LiveServer]]:
    """The module's SQLite server, or one on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield request.getfixturevalue("server")
        return
    with postgres_database() as url, _serving(tmp_path_factory.mktemp("pg-online"),
                                              url) as live:
        yield live


def _live(server: tuple[str, int, LiveServer]) -> tuple[str, int]:
    return server[0], server[1]


def _make_task(server: tuple[str, int], folder: Path) -> int:
    with _client(server) as client:
        return native.make_task(client, folder, "online", 3, SIZE).id


@pytest.fixture(scope="module")
def task_id(server: tuple[str, int, LiveServer], tmp_path_factory: pytest.TempPathFactory) -> int:
    return _make_task(_live(server), tmp_path_factory.mktemp("online-frames"))


@pytest.fixture(scope="module")
def agents(server: tuple[str, int, LiveServer], tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[dict[str, int]]:
    """One function of each kind, each served by its own agent (started together)."""
    home = tmp_path_factory.mktemp("online-agents")
    live = _live(server)
    functions, running = {}, []
    for kind, source in (("detector", DETECTOR), ("tracker", TRACKER),
                         ("interactor", INTERACTOR)):
        path = home / f"{kind}.py"
        path.write_text(source)
        functions[kind] = native.create_function(live, AUTH, home, kind, path)
        running.append(native.start_agent(live, AUTH, home, functions[kind], path))
    try:
        for agent in running:
            agent.wait_connected()
        yield functions
    finally:
        for agent in running:
            agent.stop()


def _client(server: tuple[str, int]) -> Any:
    return native.client(server, AUTH)


def _call(server: tuple[str, int, LiveServer], function_id: int | str, body: dict[str, Any]
          ) -> tuple[int, Any]:
    """The call as cvat-sdk makes it (``lambda_api.create_functions``): status and JSON."""
    from cvat_sdk.api_client.exceptions import ApiException

    with _client(_live(server)) as client:
        try:
            _, response = client.api_client.lambda_api.create_functions(
                str(function_id), online_function_call_request=models.OnlineFunctionCallRequest(
                    **body), _parse_response=False)
        except ApiException as exc:
            return exc.status, json.loads(exc.body or "null")
        return response.status, json.loads(response.data)


def _call_events(server: tuple[str, int, LiveServer]) -> list[dict[str, Any]]:
    with server[2].state() as state, state.db.unit_of_work(write=False) as session:
        rows = session.execute(text("SELECT record FROM analytics_outbox")).scalars()
        records = [json.loads(r) for r in rows]
    return [r for r in records if r.get("scope") == "call:function"]


def test_a_detector_answers_online_through_its_agent(server, agents, task_id):
    before = len(_call_events(server))
    started = time.monotonic()
    status, found = _call(server, agents["detector"], {"task": task_id, "frame": 2})
    elapsed = time.monotonic() - started
    assert status == 200, found
    assert [(f["label"], f["type"], f["points"]) for f in found] == [
        ("car", "rectangle", [2, 1, SIZE - 1, SIZE - 1])]
    assert elapsed < PICKUP, elapsed  # heard on the watch stream, not a poll
    # The function sees the region only; its box comes back in frame coordinates.
    status, found = _call(server, agents["detector"],
                          {"task": task_id, "frame": 1, "roi": [10, 20, 40, 60]})
    assert status == 200, found
    assert found[0]["points"] == [1 + 10, 1 + 20, 29 + 10, 39 + 20]
    status, answer = _call(server, agents["detector"],
                           {"task": task_id, "frame": 1, "roi": [10, 20, SIZE + 1, 30]})
    assert status == 400 and "outside the frame" in json.dumps(answer), answer
    assert len(_call_events(server)) == before + 2  # answered calls only


def test_a_tracker_follows_shapes_with_signed_states(server, agents, task_id):
    fid = agents["tracker"]
    status, started = _call(server, fid, {"task": task_id, "frame": 0, "shapes": [
        {"type": "rectangle", "points": [10, 10, 20, 20]}]})
    assert status == 200, started
    (state,) = started["states"]
    assert isinstance(state, str) and state.count(".") == 2
    status, moved = _call(server, fid, {"task": task_id, "frame": 1, "states": [state]})
    assert status == 200, moved
    assert moved["shapes"] == [{"type": "rectangle", "points": [11, 11, 21, 21]}]
    status, again = _call(server, fid, {"task": task_id, "frame": 2,
                                        "states": moved["states"]})
    assert again["shapes"][0]["points"] == [12, 12, 22, 22]
    body, stamp, mac = state.split(".")
    inner = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))["state"]
    forged = json.dumps({"task": task_id, "state": "someone-elses-state-id"}).encode()
    # Signed with the server's own key: for another task, or nine hours ago.
    secrets = Secrets.from_settings(server[2].settings())
    purpose = f"cvat-tracker-state:{fid}"
    other_task = secrets.sign(purpose, {"task": task_id + 1, "state": inner})
    with mock.patch("time.time", return_value=time.time() - 9 * 3600):
        expired = secrets.sign(purpose, {"task": task_id, "state": inner})
    assert secrets.unsign(purpose, moved["states"][0], 60)["state"] == inner
    for bad in (f"{base64.urlsafe_b64encode(forged).decode().rstrip('=')}.{stamp}.{mac}",
                f"{body}.{int(stamp) + 1}.{mac}", other_task, expired, "not-a-state"):
        status, answer = _call(server, fid, {"task": task_id, "frame": 1, "states": [bad]})
        assert status == 400 and answer["detail"] == "Invalid or expired tracker state"
    status, answer = _call(server, fid, {"task": task_id, "frame": 0, "shapes": [
        {"type": "polygon", "points": [1, 1, 5, 1, 5, 5]}]})
    assert status == 400 and "polygon" in json.dumps(answer)


def test_an_interactor_answers_prompts(server, agents, task_id):
    fid = agents["interactor"]
    status, answer = _call(server, fid, {"task": task_id, "frame": 0,
                                         "pos_points": [[5, 6], [30, 40]],
                                         "neg_points": [[50, 50]]})
    assert status == 200, answer
    assert answer == {"shapes": [{"type": "rectangle", "points": [5, 6, 30, 40],
                                  "attributes": []}]}
    status, answer = _call(server, fid, {"task": task_id, "frame": 0, "pos_points": []})
    assert status == 400 and "pos_points" in answer, answer


def test_deadlines_and_an_answer_while_the_call_waits(any_server, tmp_path):
    server = any_server
    task_id = _make_task(_live(server), tmp_path)
    events = len(_call_events(server))
    body = {"provider": "native", "name": "unserved", "kind": "detector",
            "labels_v2": [{"name": "car", "type": "rectangle", "attributes": []}]}
    with _client(_live(server)) as client:
        fid = native.answer(client, "/api/functions", "POST", body)[1]["id"]
        queue = f"/api/functions/queues/function:{fid}/requests"
        agent = {"agent_id": "d" * 32, "request_category": "interactive"}
        started = time.monotonic()
        status, answer = _call(server, fid, {"task": task_id, "frame": 0})
        assert status == 503 and "No agent is serving" in answer["detail"], answer
        assert PICKUP <= time.monotonic() - started < TIMEOUT
        assert native.answer(client, f"{queue}/acquire", "POST", agent)[1] == {
            "ar_assignment": None}

        def acquire() -> dict[str, Any]:
            deadline = time.monotonic() + PICKUP
            while (taken := native.answer(client, f"{queue}/acquire", "POST", agent)[1][
                    "ar_assignment"]) is None:
                assert time.monotonic() < deadline
                time.sleep(0.02)
            return taken

        results: list[tuple[int, Any]] = []
        caller = threading.Thread(target=lambda: results.append(
            _call(server, fid, {"task": task_id, "frame": 1})))
        caller.start()
        deadline = time.monotonic() + PICKUP
        while b"interactive" not in (stream := client.api_client.call_api(
                f"/api/functions/queues/function:{fid}/watch", "GET",
                query_params=[("seconds", "0")], _parse_response=False)[1].data):
            assert time.monotonic() < deadline, stream  # announced as interactive work
            time.sleep(0.02)
        assert b'event: newrequest\ndata: {"request_category": "interactive"}' in stream
        ar = acquire()
        assert ar["ar_params"]["type"] == "annotate_frame" and ar["ar_params"]["frame"] == 1
        label_id = client.api_client.labels_api.list(task_id=task_id)[0].results[0].id
        shape = {"type": "rectangle", "frame": 1, "label_id": label_id, "points": [1, 2, 3, 4],
                 "attributes": []}
        done = native.answer(client, f"{queue}/{ar['ar_id']}/complete", "POST",
                       {"agent_id": agent["agent_id"],
                        "annotations": {"tags": [], "shapes": [shape]}})
        assert done[0] == 200, done
        caller.join(TIMEOUT + 5)
        assert results == [(200, [{"label": "car", "type": "rectangle",
                                   "points": [1, 2, 3, 4], "attributes": []}])]
        assert len(_call_events(server)) == events + 1  # the answered call only

        caller = threading.Thread(target=lambda: results.append(
            _call(server, fid, {"task": task_id, "frame": 2})))
        caller.start()
        ar = acquire()  # taken, never answered
        caller.join(TIMEOUT + 5)
        status, answer = results[-1]
        assert status == 504 and "did not answer" in answer["detail"], answer
        late = native.answer(client, f"{queue}/{ar['ar_id']}/complete", "POST",
                       {"agent_id": agent["agent_id"], "annotations": {"tags": [],
                                                                       "shapes": []}})
        assert late[0] == 404
        assert native.answer(client, f"/api/functions/{fid}", "DELETE")[0] == 204


def test_a_batch_run_with_a_region_through_the_agent(server, agents, task_id):
    """``roi`` on ``/api/lambda/requests``: the agent crops each frame (its function sees
    30x40 images) and the server moves the shapes back."""
    with _client(_live(server)) as client:
        api = client.api_client.lambda_api
        call, _ = api.create_requests(models.FunctionCallRequest(
            function=str(agents["detector"]), task=task_id, cleanup=True,
            roi=[10, 20, 40, 60]))
        deadline = time.monotonic() + 60
        while (call := api.retrieve_requests(call.id)[0]).status not in ("finished", "failed"):
            assert time.monotonic() < deadline, call
            time.sleep(0.1)
        assert call.status == "finished", call.exc_info
        found = client.tasks.retrieve(task_id).get_annotations().shapes
        assert sorted((s.frame, s.points) for s in found) == [
            (n, [n + 10, 1 + 20, 29 + 10, 39 + 20]) for n in range(3)]
