"""``/api/lambda`` over HTTP: functions of every backend, online calls, batch runs with label
mapping, one run per task, failures and cancellation that leave annotations as they were."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from cvatcore.hooks import InferenceUnavailableError, hookimpl
from cvatcore.hooks.inference_types import FunctionNotFoundError, describe_function
from cvatcore.hooks.testing import test_settings
from cvatcore.hooks.testing.client import ApiClient
from cvatcore.hooks.testing.databases import postgres_database
from cvatcore.hooks.testing.images import blank_png, face_png, moving_box_png
from cvatcore.hooks.testing.pytest_plugin import DATABASES

FACE = "opencv-face-detection"
LABELS = [
    {"name": "face", "type": "rectangle"},
    {"name": "vehicle", "attributes": [
        {"name": "colour", "input_type": "select", "mutable": False, "values": ["red", "blue"]},
        {"name": "doors", "input_type": "number", "mutable": False, "values": ["0", "8", "1"]},
    ]},
    {"name": "blob", "type": "polygon"},
]


class Scripted:
    """A test backend: ``scripted`` answers fixed shapes, ``broken`` fails on its third call,
    ``slow`` takes a while per frame."""

    def __init__(self, config: Any = None) -> None:
        self.calls = 0
        self.lock = threading.Lock()
        self.sizes: list[tuple[int, int]] = []  # of the images it was given

    def list_functions(self) -> list[dict[str, Any]]:
        labels = [{"name": "car", "type": "rectangle", "attributes": [
            {"name": "color", "input_type": "select", "values": ["red", "blue", "green"]},
            {"name": "doors", "input_type": "number", "values": []}]},
            {"name": "thing", "type": "mask"}, {"name": "nobody-maps-me"}]
        return [*(describe_function(name, labels=labels)
                  for name in ("scripted", "broken", "slow")),
                describe_function("matcher", kind="reid")]

    def invoke(self, function_id: str, payload: dict[str, Any]) -> Any:
        if function_id == "matcher":  # each box of boxes0 matches the same one of boxes1
            self.sizes += [image_size(payload["image0"]), image_size(payload["image1"])]
            return [i if i < len(payload["boxes1"]) else -1
                    for i in range(len(payload["boxes0"]))]
        if function_id not in ("scripted", "broken", "slow"):
            raise FunctionNotFoundError(function_id)
        with self.lock:
            self.calls += 1
            calls = self.calls
            self.sizes.append(image_size(payload["image"]))
        if function_id == "broken" and calls % 3 == 0:
            raise InferenceUnavailableError("The model server went away.")
        if function_id == "slow":
            time.sleep(0.25)
        return [
            {"label": "car", "type": "rectangle", "points": [1, 2, 30, 40], "confidence": 0.9,
             "attributes": [{"name": "color", "value": "red"}, {"name": "doors", "value": "x"}]},
            {"label": "car", "type": "rectangle", "points": [5, 5, 9, 9],
             "attributes": [{"name": "color", "value": "green"}]},
            {"label": "thing", "type": "mask", "points": [0, 0, 10, 0, 10, 10],
             "mask": [1, 2, 3, 0, 0, 2, 2]},
            {"label": "nobody-maps-me", "type": "rectangle", "points": [0, 0, 1, 1]},
        ]

    def health(self) -> dict[str, Any]:
        return {"ok": True, "detail": ""}


def image_size(b64: str) -> tuple[int, int]:
    import base64
    import io

    from PIL import Image

    with Image.open(io.BytesIO(base64.b64decode(b64))) as image:
        return image.size


class Plugin:
    def __init__(self) -> None:
        self.events: list[Any] = []

    @hookimpl
    def register_inference_backends(self, register: Any) -> None:
        register("tests-scripted", Scripted)

    @hookimpl
    def register_domain_subscribers(self, register: Any) -> None:
        register("tests-calls", lambda event: self.events.append(event),
                 scopes={"call:function"}, committed=True)


@pytest.fixture(scope="module", params=DATABASES)
def database_url(request: pytest.FixtureRequest) -> Any:
    if request.param == "sqlite":
        yield None
    else:
        with postgres_database() as url:
            yield url


@pytest.fixture(scope="module")
def lambda_app(tmp_path_factory: pytest.TempPathFactory, database_url: Any) -> Any:
    from cvatcore.core.services.accounts import create_user
    from cvatcore.core.services.caller import Caller
    from cvatcore.hooks.testing.harness import build_test_app

    plugin = Plugin()
    settings = test_settings(tmp_path_factory.mktemp("lambda"), database_url,
                             inference={"backends": ["opencv", "tests-scripted"]})
    app = build_test_app(settings, plugins=[(plugin, "tests-lambda")])
    state = app.state.cvatcore
    with state.db.unit_of_work() as session:
        create_user(Caller.system(state, session), "ann", "ann-pass", email="ann@example.com",
                    groups=["user"])
    app.state.tests_plugin = plugin
    yield app
    state.db.dispose()


@pytest.fixture(scope="module")
def client(lambda_app: Any) -> Any:
    with ApiClient(lambda_app) as client:
        client.login("ann", "ann-pass")
        yield client


def wait(client: Any, rq_id: str, timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body = client.get(f"/api/lambda/requests/{rq_id}").json()
        if body["status"] in ("finished", "failed"):
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.05)


def make_task(client: ApiClient, frames: int = 4) -> int:
    """A task whose even frames show a face and odd frames are blank."""
    return client.task_with_frames(
        [face_png(120) if i % 2 == 0 else blank_png(120) for i in range(frames)], LABELS,
        "auto", image_quality=95, segment_size=2)


def shapes(client: Any, task_id: int) -> list[dict[str, Any]]:
    return client.get(f"/api/tasks/{task_id}/annotations").json()["shapes"]


def label_ids(client: Any, task_id: int) -> dict[str, int]:
    labels = client.get("/api/labels", params={"task_id": task_id}).json()["results"]
    return {label["name"]: label["id"] for label in labels}


def test_functions_of_every_backend(client):
    functions = {f["id"]: f for f in client.get("/api/lambda/functions").json()}
    assert {FACE, "opencv-hog-people", "scripted", "broken", "slow"} <= set(functions)
    face = client.get(f"/api/lambda/functions/{FACE}").json()
    assert face == functions[FACE]
    assert face["kind"] == "detector" and face["labels_v2"][0]["name"] == "face"
    missing = client.get("/api/lambda/functions/no-such-function")
    assert missing.status_code == 404 and "no-such-function" in missing.json()["detail"]


def test_online_call_answers_in_the_tasks_label_names(client):
    task_id = make_task(client, frames=4)  # two jobs of two frames
    url = f"/api/lambda/functions/{FACE}"
    (face,) = client.post(url, json={"task": task_id, "frame": 0}).json()
    assert face["label"] == "face" and face["type"] == "rectangle" and len(face["points"]) == 4
    assert client.post(url, json={"task": task_id, "frame": 1}).json() == []
    outside = client.post(url, json={"task": task_id, "frame": 7})
    assert outside.status_code == 400 and "outside" in outside.json()["detail"]
    assert client.post(url, json={"frame": 0}).status_code == 400
    jobs = client.get("/api/jobs", params={"task_id": task_id}).json()["results"]
    job_id = jobs[0]["id"]
    in_job = client.post(url, json={"job": job_id, "frame": jobs[0]["start_frame"]})
    assert in_job.status_code == 200, in_job.text
    beyond = client.post(url, json={"job": job_id, "frame": jobs[0]["stop_frame"] + 1})
    assert beyond.status_code == 400 and "outside the job range" in beyond.json()["detail"]
    mapped = client.post("/api/lambda/functions/scripted", json={
        "task": task_id, "frame": 0,
        "mapping": {"car": {"name": "vehicle", "attributes": {"color": "colour"}}}}).json()
    assert [(m["label"], m["attributes"]) for m in mapped] == [
        ("vehicle", [{"name": "colour", "value": "red"}]), ("vehicle", [])]


def test_batch_run_writes_auto_shapes_once_per_task(client, lambda_app):
    task_id = make_task(client)
    body = {"function": FACE, "task": task_id, "cleanup": True, "threshold": 0.1}
    created = client.post("/api/lambda/requests", json=body)
    assert created.status_code == 200, created.text
    call = created.json()
    assert call["function"] == {"id": FACE, "threshold": 0.1, "task": task_id}
    assert call["status"] in ("queued", "started")
    done = wait(client, call["id"])
    assert done["status"] == "finished" and done["progress"] == 100 and done["exc_info"] is None
    found = shapes(client, task_id)
    assert sorted(s["frame"] for s in found) == [0, 2]
    assert {(s["source"], s["type"], s["label_id"]) for s in found} == {
        ("auto", "rectangle", label_ids(client, task_id)["face"])}
    request = client.get(f"/api/requests/{call['id']}").json()
    assert request["operation"]["type"] == "autoannotate:task"
    assert request["operation"]["function_id"] == FACE
    assert request["operation"]["task_id"] == task_id and request["status"] == "finished"
    assert call["id"] in [r["id"] for r in client.get("/api/lambda/requests").json()]
    calls = [e.after for e in lambda_app.state.tests_plugin.events]
    assert {"function": FACE, "task": task_id, "job": None, "mode": "batch"} in calls


def test_mapping_attributes_masks_and_a_job(client):
    task_id = make_task(client)
    ids = label_ids(client, task_id)
    jobs = client.get("/api/jobs", params={"task_id": task_id}).json()["results"]
    job_id = min(jobs, key=lambda job: job["start_frame"])["id"]
    call = client.post("/api/lambda/requests", json={
        "function": "scripted", "task": task_id, "job": job_id, "conv_mask_to_poly": True,
        "mapping": {"car": {"name": "vehicle", "attributes": {"color": "colour",
                                                              "doors": "doors"}},
                    "thing": {"name": "blob"}}}).json()
    assert wait(client, call["id"])["status"] == "finished"
    found = shapes(client, task_id)
    assert sorted({s["frame"] for s in found}) == [0, 1]  # the first job's frames only
    first = [s for s in found if s["frame"] == 0]
    assert sorted((s["label_id"], s["type"]) for s in first) == sorted(
        [(ids["vehicle"], "rectangle"), (ids["vehicle"], "rectangle"), (ids["blob"], "polygon")])
    red = next(s for s in first if s["points"] == [1, 2, 30, 40])
    # "x" is no number: dropped, so the task's default value stands
    assert sorted(a["value"] for a in red["attributes"]) == ["0", "red"]


@pytest.mark.parametrize(("mapping", "words"), [
    ({"lorry": {"name": "vehicle"}}, "no label 'lorry'"),
    ({"car": {"name": "boat"}}, "no label 'boat'"),
    ({"car": {"name": "vehicle", "attributes": {"wheels": "colour"}}}, "no attribute 'wheels'"),
    ({"car": {"name": "vehicle", "attributes": {"color": "paint"}}}, "no attribute 'paint'"),
    ({"thing": {"name": "face"}}, "cannot go to"),
])
def test_a_bad_mapping_is_a_400_and_queues_nothing(client, mapping, words):
    task_id = make_task(client, frames=1)
    response = client.post("/api/lambda/requests", json={
        "function": "scripted", "task": task_id, "mapping": mapping})
    assert response.status_code == 400 and words in response.text, response.text
    assert client.get("/api/requests", params={"task_id": task_id,
                                               "action": "autoannotate"}).json()["count"] == 0


def test_bad_requests(client):
    task_id = make_task(client, frames=1)
    post = client.post
    assert post("/api/lambda/requests", json={"task": task_id}).status_code == 400
    assert post("/api/lambda/requests", json={"function": FACE}).status_code == 400
    assert post("/api/lambda/requests", json={"function": "nope", "task": task_id}
                ).status_code == 404
    assert post("/api/lambda/requests", json={"function": FACE, "task": task_id,
                                              "cleanup": "yes"}).status_code == 400
    assert post("/api/lambda/requests", json={"function": FACE, "task": 999999}
                ).status_code == 404
    for roi, words in (([0, 0, 121, 5], "outside the frame (120x120)"),
                       ([5, 5, 5, 9], "is not a region"), ([0, 0, 5], "Four integers"),
                       ([0, 0, 5, "9"], "Four integers")):
        answer = post("/api/lambda/requests", json={"function": FACE, "task": task_id,
                                                    "roi": roi})
        assert answer.status_code == 400 and words in answer.text, answer.text
    assert client.get("/api/lambda/requests/nope").status_code == 404
    grabcut = post("/api/lambda/requests", json={"function": "opencv-grabcut",
                                                 "task": task_id})
    assert grabcut.status_code == 400
    assert "Only detectors and ReID functions" in grabcut.json()["detail"]


def test_a_function_that_dies_half_way_fails_the_run_and_writes_nothing(client):
    task_id = make_task(client, frames=6)
    client.patch(f"/api/tasks/{task_id}/annotations", params={"action": "create"}, json={
        "shapes": [{"type": "rectangle", "frame": 1, "points": [1, 1, 5, 5],
                    "label_id": label_ids(client, task_id)["face"]}]})
    before = shapes(client, task_id)
    call = client.post("/api/lambda/requests", json={
        "function": "broken", "task": task_id, "cleanup": True,
        "mapping": {"car": {"name": "vehicle"}}}).json()
    done = wait(client, call["id"])
    assert done["status"] == "failed" and "went away" in done["exc_info"]
    assert shapes(client, task_id) == before  # cleanup did not run either
    assert client.get(f"/api/requests/{call['id']}").json()["status"] == "failed"
    assert call["id"] not in [r["id"] for r in client.get("/api/lambda/requests").json()]


def test_cancelling_a_running_request_stops_it_and_writes_nothing(client):
    task_id = make_task(client, frames=8)
    call = client.post("/api/lambda/requests", json={
        "function": "slow", "task": task_id, "mapping": {"car": {"name": "vehicle"}}}).json()
    deadline = time.monotonic() + 10
    while client.get(f"/api/lambda/requests/{call['id']}").json()["status"] != "started":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    second = client.post("/api/lambda/requests", json={"function": FACE, "task": task_id})
    assert second.status_code == 409
    assert second.json()["detail"] == \
        f"Only one running request is allowed for the same task #{task_id}"
    assert client.delete(f"/api/lambda/requests/{call['id']}").status_code == 204
    assert client.get(f"/api/lambda/requests/{call['id']}").status_code == 404
    time.sleep(0.6)  # the worker notices at its next frame
    assert shapes(client, task_id) == []
    again = client.post("/api/lambda/requests", json={"function": FACE, "task": task_id})
    assert again.status_code == 200  # the task is free for the next run
    assert wait(client, again.json()["id"])["status"] == "finished"


def test_a_region_of_interest_is_what_the_function_sees(client, lambda_app):
    """Batch and online: the function gets the crop, and its shapes (a mask's box too) come
    back in the frame's coordinates."""
    task_id = make_task(client, frames=2)
    backend = dict(lambda_app.state.cvatcore.inference_backends())["tests-scripted"]
    backend.sizes.clear()
    roi = [10, 20, 100, 110]
    call = client.post("/api/lambda/requests", json={
        "function": "scripted", "task": task_id, "roi": roi,
        "mapping": {"car": {"name": "vehicle"}, "thing": {"name": "blob"}}})
    assert call.status_code == 200, call.text
    assert wait(client, call.json()["id"])["status"] == "finished"
    assert backend.sizes == [(90, 90), (90, 90)]
    found = sorted((s["frame"], s["type"], s["points"]) for s in shapes(client, task_id))
    assert found == sorted(
        [(f, "rectangle", [11, 22, 40, 60]) for f in (0, 1)]
        + [(f, "rectangle", [15, 25, 19, 29]) for f in (0, 1)]
        + [(f, "mask", [1, 2, 3, 10, 20, 12, 22]) for f in (0, 1)])
    online = client.post("/api/lambda/functions/scripted", json={
        "task": task_id, "frame": 1, "roi": roi, "mapping": {"car": {"name": "vehicle"}}})
    assert online.status_code == 200, online.text
    assert [o["points"] for o in online.json()] == [[11, 22, 40, 60], [15, 25, 19, 29]]
    assert backend.sizes[-1] == (90, 90)
    outside = client.post("/api/lambda/functions/scripted", json={
        "task": task_id, "frame": 1, "roi": [0, 0, 10, 121]})
    assert outside.status_code == 400 and "outside the frame" in outside.text


def test_the_built_in_tracker_and_interactor_online(client, lambda_app):
    """The defaults offer a tracker and an interactor; the tracker's states reach the
    client signed (a changed one is a 400) and the function gets its own state back."""
    task_id = client.task_with_frames(
        [moving_box_png(40 + 6 * i, 50 + 4 * i) for i in range(3)], LABELS, "moving",
        image_quality=95)
    url = "/api/lambda/functions/opencv-template-tracker"
    assert client.get(url).json()["supported_shape_types"] == ["rectangle"]
    events = len(lambda_app.state.tests_plugin.events)
    start = client.post(url, json={"task": task_id, "frame": 0, "shapes": [
        {"type": "rectangle", "points": [40, 50, 70, 70]}]})
    assert start.status_code == 200, start.text
    states = start.json()["states"]
    assert isinstance(states[0], str) and "template" not in states[0]
    for frame in (1, 2):
        step = client.post(url, json={"task": task_id, "frame": frame, "states": states})
        assert step.status_code == 200, step.text
        assert step.json()["shapes"] == [{"type": "rectangle", "points": [
            40 + 6 * frame, 50 + 4 * frame, 70 + 6 * frame, 70 + 4 * frame]}]
        states = step.json()["states"]
    bad = client.post(url, json={"task": task_id, "frame": 1, "states": [states[0][::-1]]})
    assert bad.status_code == 400 and bad.json()["detail"] == "Invalid or expired tracker state"
    cut = client.post("/api/lambda/functions/opencv-grabcut", json={
        "task": task_id, "frame": 0, "pos_points": [[55, 60]], "neg_points": []})
    assert cut.status_code == 200, cut.text
    xs, ys = zip(*cut.json()["points"], strict=True)
    assert (min(xs), min(ys), max(xs), max(ys)) == (40, 50, 70, 70)
    calls = [e.after for e in lambda_app.state.tests_plugin.events[events:]]
    assert calls.count({"function": "opencv-template-tracker", "task": task_id, "job": None,
                        "mode": "online"}) == 3  # the refused call is not one


def test_a_reid_call_compares_two_frames(client, lambda_app):
    task_id = make_task(client, frames=2)
    backend = dict(lambda_app.state.cvatcore.inference_backends())["tests-scripted"]
    box = {"points": [1, 1, 5, 5]}
    answer = client.post("/api/lambda/functions/matcher", json={
        "task": task_id, "frame0": 0, "frame1": 1, "boxes0": [box, box], "boxes1": [box],
        "max_distance": 50})
    assert answer.status_code == 200, answer.text
    assert answer.json() == [0, -1] and backend.sizes[-2:] == [(120, 120), (120, 120)]
    beyond = client.post("/api/lambda/functions/matcher", json={
        "task": task_id, "frame0": 0, "frame1": 5, "boxes0": [], "boxes1": []})
    assert beyond.status_code == 400 and "end frame 5 is outside" in beyond.text


def test_a_reid_batch_run_makes_tracks_with_the_rectangles_attributes(client, lambda_app):
    """The scripted ``matcher`` (box i matches box i) over a vehicle on frames 0-3 and a face
    on frames 0-1: two tracks, the face's with an outside keyframe on frame 2, the
    vehicle's immutable attributes on its track; on SQLite and PostgreSQL."""
    task_id = make_task(client, frames=4)
    ids = label_ids(client, task_id)
    specs = {a["name"]: a["id"] for label in client.get(
        "/api/labels", params={"task_id": task_id}).json()["results"]
        for a in label["attributes"]}
    colour = [{"spec_id": specs["colour"], "value": "blue"}]
    rects = [{"type": "rectangle", "frame": f, "label_id": label, "points": [f, 1, 20, 20],
              "attributes": colour if name == "vehicle" else []}
             for f in range(4) for name, label in (("vehicle", ids["vehicle"]),
                                                   ("face", ids["face"])) if name == "vehicle"
             or f < 2]
    put = client.put(f"/api/tasks/{task_id}/annotations",
                     json={"version": 0, "tags": [], "shapes": rects, "tracks": []})
    assert put.status_code == 200, put.text
    events = len(lambda_app.state.tests_plugin.events)
    call = client.post("/api/lambda/requests", json={"function": "matcher", "task": task_id})
    assert call.status_code == 200, call.text
    done = wait(client, call.json()["id"])
    assert done["status"] == "finished" and done["progress"] == 100, done
    data = client.get(f"/api/tasks/{task_id}/annotations").json()
    assert data["shapes"] == []
    tracks = {t["label_id"]: t for t in data["tracks"]}
    assert [(s["frame"], s["outside"]) for s in tracks[ids["vehicle"]]["shapes"]] == [
        (f, False) for f in range(4)]
    assert [(s["frame"], s["outside"]) for s in tracks[ids["face"]]["shapes"]] == [
        (0, False), (1, False), (2, True)]
    assert {(a["spec_id"], a["value"]) for a in tracks[ids["vehicle"]]["attributes"]} >= {
        (specs["colour"], "blue")}
    calls = [e.after for e in lambda_app.state.tests_plugin.events[events:]]
    assert {"function": "matcher", "task": task_id, "job": None, "mode": "batch"} in calls
