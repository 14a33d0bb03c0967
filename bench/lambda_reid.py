"""ReID batch runs (``POST /api/lambda/requests`` for a ``reid`` function) against calling
the same function directly on the same frame pairs.

Builds an in-process cvatcore app (SQLite, a temporary directory) with the Nuclio plugin
pointed at its dashboard stand-in serving ``nearest_reid``, creates a ``--frames``-frame
task with ``--boxes`` rectangles per frame (each moving 1 px a frame), then ``--rounds``
times, alternating:

* direct: for each pair of consecutive frames, the frames (base64, as the server sends them)
  and their boxes posted to the stand-in's ``/api/function_invocations`` with httpx, the
  images read beforehand (so the baseline is the function alone);
* server: ``POST /api/lambda/requests`` over the task, from the POST until the request is
  finished (reading frames and annotations, the calls, building the tracks, the one PUT);
  the rectangles are put back between rounds.

Prints seconds of each (best round), the ratio direct / server (1.0 = the server adds
nothing) and the load average.

Usage: ``.venv/bin/python bench/lambda_reid.py [--frames 200] [--boxes 3] [--rounds 3]``
"""

from __future__ import annotations

import argparse
import base64
import os
import tempfile
import time
from pathlib import Path

from _venv import reexec_in_venv


def _until(client, url: str, done) -> dict:
    while True:
        body = client.get(url).json()
        if done(body):
            return body
        time.sleep(0.01)


def _app(tmp: Path, dashboard_url: str):
    import cvatcore_nuclio

    from cvatcore.core.services.accounts import create_user
    from cvatcore.core.services.caller import Caller
    from cvatcore.hooks.testing import test_settings
    from cvatcore.hooks.testing.harness import build_test_app

    settings = test_settings(tmp, inference={
        "backends": ["nuclio"], "options": {"nuclio": {"dashboard_url": dashboard_url}}})
    app = build_test_app(settings, plugins=[(cvatcore_nuclio, "nuclio")])
    state = app.state.cvatcore
    with state.db.unit_of_work() as session:
        create_user(Caller.system(state, session), "bench", "bench-pass",
                    email="b@example.com", groups=["user"])
    return app


def _task(client, frames: int, boxes: int) -> tuple[int, list[dict]]:
    from cvatcore.hooks.testing.images import blank_png

    task_id = client.post("/api/tasks", json={"name": "reid", "labels": [
        {"name": "car", "type": "rectangle"}]}).json()["id"]
    files = [(f"client_files[{i}]", (f"{i:04d}.png", blank_png(320))) for i in range(frames)]
    rq = client.post(f"/api/tasks/{task_id}/data", files=files,
                     data={"image_quality": "90"}).json()["rq_id"]
    _until(client, f"/api/requests/{rq}", lambda b: b["status"] == "finished")
    label = client.get("/api/labels", params={"task_id": task_id}).json()["results"][0]["id"]
    rects = [{"type": "rectangle", "frame": f, "label_id": label,
              "points": [f, 80 * b, f + 40, 80 * b + 40]}
             for f in range(frames) for b in range(boxes)]
    return task_id, rects


def main() -> None:
    reexec_in_venv("cvatcore_nuclio")
    import httpx
    from cvatcore_nuclio.testing import nearest_reid, nuclio_dashboard

    from cvatcore.hooks.testing.client import ApiClient

    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--boxes", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, nuclio_dashboard() as dashboard:
        dashboard.add("reid", nearest_reid, [], kind="reid")
        app = _app(Path(tmp), dashboard.url)
        with ApiClient(app) as client, httpx.Client(base_url=dashboard.url) as direct:
            client.login("bench", "bench-pass")
            task_id, rects = _task(client, args.frames, args.boxes)
            images = [base64.b64encode(client.get(
                f"/api/tasks/{task_id}/data", params={"type": "frame", "number": f,
                                                      "quality": "original"}).content).decode()
                for f in range(args.frames)]
            by_frame = [[r for r in rects if r["frame"] == f] for f in range(args.frames)]
            headers = {"x-nuclio-function-name": "reid", "x-nuclio-path": "/"}
            best_direct = best_server = float("inf")
            for _ in range(args.rounds):
                put = client.put(f"/api/tasks/{task_id}/annotations", json={
                    "tags": [], "shapes": rects, "tracks": []})
                assert put.status_code == 200, put.text
                started = time.perf_counter()
                for f in range(args.frames - 1):
                    direct.post("/api/function_invocations", headers=headers, json={
                        "image0": images[f], "image1": images[f + 1],
                        "boxes0": by_frame[f], "boxes1": by_frame[f + 1]}).raise_for_status()
                best_direct = min(best_direct, time.perf_counter() - started)
                started = time.perf_counter()
                call = client.post("/api/lambda/requests",
                                   json={"function": "reid", "task": task_id}).json()
                done = _until(client, f"/api/lambda/requests/{call['id']}",
                              lambda b: b["status"] in ("finished", "failed"))
                best_server = min(best_server, time.perf_counter() - started)
                assert done["status"] == "finished", done
                tracks = client.get(f"/api/tasks/{task_id}/annotations").json()["tracks"]
                assert len(tracks) == args.boxes, len(tracks)
        app.state.cvatcore.db.dispose()
    print(f"ReID over {args.frames} frames x {args.boxes} boxes ({args.frames - 1} calls), "
          f"best of {args.rounds}: direct {best_direct:.2f} s, server {best_server:.2f} s, "
          f"ratio direct/server {best_direct / best_server:.2f}; "
          f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
