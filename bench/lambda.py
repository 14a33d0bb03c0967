"""Batch automatic annotation through a live server against calling the function directly.

Starts ``cvatcore serve`` (SQLite, a temporary data directory, ``[inference]
batch_concurrency = --concurrency``), creates an ``--frames``-frame image task through
cvat-sdk, and then, ``--rounds`` times, alternating:

* direct: the built-in OpenCV face detector (``OpenCVBackend.invoke``, in this process)
  called on the same frames (the task's original images, base64 as the server passes
  them), ``--concurrency`` calls at once from a thread pool;
* server: ``POST /api/lambda/requests`` for the same function over the task, timed from the
  POST to the request's ``ended`` time as ``GET /api/lambda/requests/{id}`` reports it once
  finished (so it includes queueing, reading the frames, mapping and writing every shape, but
  not the client's polling interval).

With ``--native`` it also measures the agent path: the same kind of detector as a
``cvat_sdk.auto_annotation`` module served by ``cvat-cli function run-agent`` (a real agent
process), against calling that module's ``detect`` directly on the task's frames.

Prints frames/s of each (the best round), the ratio server / direct (1.0 = the server adds
nothing; the target is at least 0.8) and the median of the rounds' ratios.

With ``--online N`` it also times N online calls (``POST /api/lambda/functions/{id}`` on one
frame, through cvat-sdk, one after another, as the UI makes them) against N direct calls of
the same function on the same frame, and prints the median latency of each, the server's
added milliseconds and the ratio direct / server; with ``--native`` the online calls go to
the agent (an interactive request it hears of on its watch stream).

Usage: ``.venv/bin/python bench/lambda.py [--frames 200] [--concurrency 1] [--rounds 5]
[--size 320] [--native] [--online N]``
"""

from __future__ import annotations

import argparse
import base64
import os
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from _venv import reexec_in_venv

USER, PASSWORD = "bench", "bench-pass"
FACE = "opencv-face-detection"
NATIVE_FUNCTION = '''
import io

import cv2
import numpy as np
import cvat_sdk.auto_annotation as cvataa

spec = cvataa.DetectionFunctionSpec(labels=[cvataa.label_spec("face", 0, type="rectangle")])
_cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")


def detect(context, image):
    gray = cv2.cvtColor(np.asarray(image.convert("RGB")), cv2.COLOR_RGB2GRAY)
    boxes = _cascade.detectMultiScale(cv2.equalizeHist(gray), 1.1, 5, minSize=(24, 24))
    return [cvataa.rectangle(0, [float(x), float(y), float(x + w), float(y + h)])
            for x, y, w, h in boxes]
'''


def start_server(root: Path, concurrency: int):
    from cvatcore.core.services.accounts import create_user
    from cvatcore.core.services.caller import Caller
    from cvatcore.core.state import AppState
    from cvatcore.hooks.testing import test_settings
    from cvatcore.hooks.testing.live import serve

    root.mkdir()
    config = root / "cvatcore.toml"
    config.write_text(f'[server]\nhost = "127.0.0.1"\ndata_dir = "{root}"\n'
                      f"[inference]\nbatch_concurrency = {concurrency}\n")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("CVATCORE_")},
           "CVATCORE_CONFIG": str(config)}
    server = serve(env, root / "server.log")
    url = server.__enter__()
    state = AppState.build(test_settings(root))
    try:
        with state.db.unit_of_work() as session:
            create_user(Caller.system(state, session), USER, PASSWORD,
                        email="bench@example.com", groups=["user"])
    finally:
        state.db.dispose()
    return server, int(url.rsplit(":", 1)[1])


def make_frames(folder: Path, count: int, size: int) -> list[Path]:
    from cvatcore.hooks.testing.images import blank_png, face_png

    face, blank = face_png(size), blank_png(size)
    paths = []
    for number in range(count):
        paths.append(folder / f"f{number:04d}.png")
        paths[-1].write_bytes(face if number % 2 == 0 else blank)
    return paths


def direct_opencv(frames: list[Path], concurrency: int) -> float:
    from cvatcore.core.builtin.inference_opencv import OpenCVBackend

    backend = OpenCVBackend()
    images = [base64.b64encode(p.read_bytes()).decode("ascii") for p in frames]

    def call(image: str) -> int:
        return len(backend.invoke(FACE, {"image": image, "threshold": 0.2}))

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(call, images[:concurrency]))  # each thread builds its detector once
        started = time.perf_counter()
        found = sum(pool.map(call, images))
        elapsed = time.perf_counter() - started
    assert found >= len(frames) // 2, found
    return len(frames) / elapsed


def through_server(client, task_id: int, function: str, frames: int) -> float:
    from cvat_sdk import models

    api = client.api_client.lambda_api
    posted = datetime.now(UTC)
    call, _ = api.create_requests(models.FunctionCallRequest(
        function=function, task=task_id, cleanup=True, threshold=0.2))
    while call.status not in ("finished", "failed"):
        # Four looks a second (each costs the server a request the direct calls do not pay);
        # the time is taken from the request's own end (same machine, same clock), so the
        # poll's quarter second does not count against the server.
        time.sleep(0.25)
        call, _ = api.retrieve_requests(call.id)
    elapsed = (call.ended - posted).total_seconds()
    assert call.status == "finished", call.exc_info
    if os.environ.get("BENCH_VERBOSE"):
        job = (call.ended - call.started).total_seconds()
        print(f"  round: {elapsed:.2f} s from POST to finished, {job:.2f} s in the job",
              flush=True)
    api.delete_requests(call.id)
    shapes = client.tasks.retrieve(task_id).get_annotations().shapes
    assert len(shapes) >= frames // 2, len(shapes)
    return frames / elapsed


def direct_native(module: Path, frames: list[Path]) -> float:
    import importlib.util

    import PIL.Image

    spec = importlib.util.spec_from_file_location("bench_native_function", module)
    function = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(function)
    images = [PIL.Image.open(p) for p in frames]
    for image in images:
        image.load()
    started = time.perf_counter()
    found = sum(len(function.detect(None, image)) for image in images)
    elapsed = time.perf_counter() - started
    assert found >= len(frames) // 2, found
    return len(frames) / elapsed


def cli(port: int, *args: str) -> list[str]:
    return [str(Path(sys.executable).parent / "cvat-cli"), "--server-host", "http://127.0.0.1",
            "--server-port", str(port), "--auth", f"{USER}:{PASSWORD}", *args]


def main() -> None:
    reexec_in_venv("cvatcore")
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--size", type=int, default=320, help="frame width and height")
    parser.add_argument("--native", action="store_true",
                        help="also measure a native function served by cvat-cli run-agent")
    parser.add_argument("--online", type=int, default=0, metavar="N",
                        help="also time N online calls on one frame against direct calls")
    args = parser.parse_args()

    from cvat_sdk import make_client, models

    with tempfile.TemporaryDirectory(prefix="bench-lambda-") as tmp:
        root = Path(tmp)
        frames = make_frames(root, args.frames, args.size)
        server, port = start_server(root / "server", args.concurrency)
        try:
            with make_client("http://127.0.0.1", port=port,
                             credentials=(USER, PASSWORD)) as client:
                task = client.tasks.create_from_data(
                    spec=models.TaskWriteRequest(name="bench", labels=[
                        models.PatchedLabelRequest(name="face", type="rectangle")]),
                    resources=frames, data_params={"image_quality": 95})
                direct, served = [], []
                for _ in range(args.rounds):
                    direct.append(direct_opencv(frames, args.concurrency))
                    served.append(through_server(client, task.id, FACE, args.frames))
                report(f"opencv ({FACE})", args, direct, served)
                if args.online:
                    direct_call = direct_opencv_call(frames[0])
                    online(f"opencv ({FACE})", args.online, client, task.id, FACE,
                           direct_call)
                if args.native:
                    native(args, root, port, client, task.id, frames)
        finally:
            server.__exit__(None, None, None)


def native(args, root: Path, port: int, client, task_id: int, frames: list[Path]) -> None:
    module = root / "native_faces.py"
    module.write_text(NATIVE_FUNCTION)
    env = {**os.environ, "HOME": str(root)}
    created = subprocess.run(cli(port, "function", "create-native", "faces",
                                 "--function-file", str(module)),
                             env=env, capture_output=True, text=True, check=True)
    function_id = created.stdout.strip()
    with (root / "agent.log").open("wb") as log:
        agent = subprocess.Popen(cli(port, "function", "run-agent", function_id,
                                     "--function-file", str(module)),
                                 env=env, stdout=log, stderr=subprocess.STDOUT,
                                 start_new_session=True)
    try:
        time.sleep(3)  # the agent loads the function and connects to its watch stream
        direct, served = [], []
        for _ in range(args.rounds):
            direct.append(direct_native(module, frames))
            served.append(through_server(client, task_id, function_id, args.frames))
        report("native function on a cvat-cli agent", args, direct, served)
        if args.online:
            online("native function on a cvat-cli agent", args.online, client, task_id,
                   function_id, direct_native_call(module, frames[0]))
    finally:
        os.killpg(agent.pid, signal.SIGTERM)
        agent.wait(timeout=30)


def direct_opencv_call(frame: Path):
    from cvatcore.core.builtin.inference_opencv import OpenCVBackend

    backend, image = OpenCVBackend(), base64.b64encode(frame.read_bytes()).decode("ascii")
    return lambda: backend.invoke(FACE, {"image": image, "threshold": 0.2})


def direct_native_call(module: Path, frame: Path):
    import importlib.util

    import PIL.Image

    spec = importlib.util.spec_from_file_location("bench_native_online", module)
    function = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(function)
    raw = frame.read_bytes()  # the agent decodes the frame it downloads: so does this

    def call():
        import io

        with PIL.Image.open(io.BytesIO(raw)) as image:
            return function.detect(None, image)
    return call


def online(name: str, count: int, client, task_id: int, function: str, direct_call) -> None:
    """Median latency of ``count`` online calls through the server against direct calls."""
    from cvat_sdk import models

    api = client.api_client.lambda_api
    body = models.OnlineFunctionCallRequest(task=task_id, frame=0, threshold=0.2)
    api.create_functions(function, online_function_call_request=body)  # warm up
    direct_call()
    direct, served = [], []
    for _ in range(count):  # interleaved: load from elsewhere weighs on both alike
        started = time.perf_counter()
        assert direct_call()
        direct.append(time.perf_counter() - started)
        started = time.perf_counter()
        _, response = api.create_functions(function, online_function_call_request=body,
                                           _parse_response=False)
        served.append(time.perf_counter() - started)
        assert response.status == 200 and b"face" in response.data, response.data
    d, s = sorted(direct)[count // 2] * 1000, sorted(served)[count // 2] * 1000
    print(f"{name}: {count} online calls on one frame: direct {d:.1f} ms, through the server "
          f"{s:.1f} ms (medians; the server adds {s - d:.1f} ms), ratio {d / s:.2f}",
          flush=True)


def report(name: str, args, direct: list[float], served: list[float]) -> None:
    """Best of each, and the median of the rounds' own ratios (a round's two runs are back
    to back, so load from elsewhere on the machine weighs on both alike)."""
    ratios = sorted(s / d for s, d in zip(served, direct, strict=True))
    print(f"{name}: {args.frames} frames of {args.size}x{args.size}, concurrency "
          f"{args.concurrency}, {args.rounds} rounds: direct {max(direct):.1f} frames/s, "
          f"through the server {max(served):.1f} frames/s (best of each), ratio "
          f"{max(served) / max(direct):.2f}; median ratio of the rounds "
          f"{ratios[len(ratios) // 2]:.2f}", flush=True)


if __name__ == "__main__":
    main()
