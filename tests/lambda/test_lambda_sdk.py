"""cvat-sdk 2.80, unchanged, drives ``/api/lambda`` of a real ``cvatcore serve`` on the
defaults (the built-in ``opencv`` backend): it lists the functions, runs the face detector
over a task and reads the shapes back. The SDK checks every typed answer against its models."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cvat_sdk import make_client, models

from cvatcore.hooks.testing.images import blank_png, face_png
from cvatcore.hooks.testing.live import serve_with_admin

FACE = "opencv-face-detection"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    with serve_with_admin(tmp_path_factory.mktemp("lambda-sdk"),  # no [inference]
                          users={"sdk-user": "sdk-user-pass"}) as live:
        yield live.host, live.port


def test_auto_annotation_through_the_sdk(server: tuple[str, int], tmp_path: Path) -> None:
    host, port = server
    frames = []
    for i in range(6):
        path = tmp_path / f"frame{i}.png"
        path.write_bytes(face_png(160) if i % 3 == 0 else blank_png(160))
        frames.append(path)
    with make_client(host, port=port, credentials=("sdk-user", "sdk-user-pass")) as client:
        task = client.tasks.create_from_data(
            spec=models.TaskWriteRequest(name="faces", labels=[
                models.PatchedLabelRequest(name="face", type="rectangle")]),
            resources=frames, data_params={"image_quality": 95})
        api = client.api_client.lambda_api
        _, response = api.list_functions(_parse_response=False)
        functions = {f["id"]: f for f in json.loads(response.data)}
        assert FACE in functions and functions[FACE]["kind"] == "detector"

        call, _ = api.create_requests(models.FunctionCallRequest(
            function=FACE, task=task.id, cleanup=True, threshold=0.2))
        assert call.function.id == FACE and call.function.task == task.id
        deadline = time.monotonic() + 60
        while call.status not in ("finished", "failed"):
            assert time.monotonic() < deadline, call
            time.sleep(0.1)
            call, _ = api.retrieve_requests(call.id)
        assert call.status == "finished" and call.progress == 100
        listed, _ = api.list_requests()
        assert call.id in [c.id for c in listed]

        shapes = task.get_annotations().shapes
        assert sorted(s.frame for s in shapes) == [0, 3]
        assert {(s.source, s.type.value) for s in shapes} == {("auto", "rectangle")}
        request = client.api_client.requests_api.retrieve(call.id)[0]
        assert request.operation.type == "autoannotate:task"
        assert request.operation.function_id == FACE

        api.delete_requests(call.id)
        assert call.id not in [c.id for c in api.list_requests()[0]]


FUNCTION = '''
import cvat_sdk.auto_annotation as cvataa

spec = cvataa.DetectionFunctionSpec(labels=[cvataa.label_spec("face", 0)])


def detect(context, image):
    return [cvataa.rectangle(0, [1, 2, 3, 4])]
'''


def test_cvat_cli_task_auto_annotate_with_a_local_function(
    server: tuple[str, int], tmp_path: Path
) -> None:
    """``cvat-cli task auto-annotate`` runs a function on the user's machine and uploads the
    shapes through the annotations API (no /api/lambda involved)."""
    host, port = server
    frame = tmp_path / "frame.png"
    frame.write_bytes(blank_png(64))
    with make_client(host, port=port, credentials=("sdk-user", "sdk-user-pass")) as client:
        task = client.tasks.create_from_data(
            spec=models.TaskWriteRequest(name="cli", labels=[
                models.PatchedLabelRequest(name="face", type="rectangle")]),
            resources=[frame])
    module = tmp_path / "function.py"
    module.write_text(FUNCTION)
    env = {**os.environ, "HOME": str(tmp_path)}
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cvat-cli"), "--server-host", host,
         "--server-port", str(port), "--auth", "sdk-user:sdk-user-pass",
         "task", "auto-annotate", str(task.id), "--function-file", str(module),
         "--clear-existing"],
        env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    with make_client(host, port=port, credentials=("sdk-user", "sdk-user-pass")) as client:
        shapes = client.tasks.retrieve(task.id).get_annotations().shapes
    assert [(s.frame, s.points, s.type.value) for s in shapes] == [(0, [1, 2, 3, 4],
                                                                    "rectangle")]


def test_a_200_frame_batch_run_with_the_opencv_backend(
    server: tuple[str, int], tmp_path: Path
) -> None:
    """The built-in detector over a 200-frame task: a face on every tenth frame, found
    there and nowhere else, read back through cvat-sdk."""
    host, port = server
    face, blank = face_png(160), blank_png(160)
    frames = []
    for number in range(200):
        frames.append(tmp_path / f"f{number:03d}.png")
        frames[-1].write_bytes(face if number % 10 == 0 else blank)
    with make_client(host, port=port, credentials=("sdk-user", "sdk-user-pass")) as client:
        task = client.tasks.create_from_data(
            spec=models.TaskWriteRequest(name="200 frames", labels=[
                models.PatchedLabelRequest(name="face", type="rectangle")]),
            resources=frames, data_params={"image_quality": 95})
        api = client.api_client.lambda_api
        call, _ = api.create_requests(models.FunctionCallRequest(
            function=FACE, task=task.id, cleanup=True, threshold=0.2))
        deadline = time.monotonic() + 120
        while call.status not in ("finished", "failed"):
            assert time.monotonic() < deadline, call
            time.sleep(0.2)
            call, _ = api.retrieve_requests(call.id)
        assert call.status == "finished" and call.progress == 100, call.exc_info
        shapes = task.get_annotations().shapes
        assert sorted(s.frame for s in shapes) == list(range(0, 200, 10))
        assert {(s.source, s.type.value) for s in shapes} == {("auto", "rectangle")}
