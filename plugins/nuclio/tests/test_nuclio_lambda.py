"""``/api/lambda`` of a cvatcore app with ``[inference] backends = ["nuclio"]``: Nuclio
functions listed, a batch run landing CVAT-shaped shapes, a dashboard that goes away -> 503."""

from __future__ import annotations

import cvatcore_nuclio
from cvatcore_nuclio.testing import nuclio_dashboard

from cvatcore.hooks.testing import test_settings
from cvatcore.hooks.testing.client import ApiClient
from cvatcore.hooks.testing.harness import build_test_app
from cvatcore.hooks.testing.images import blank_png

CAR = [{"name": "car", "type": "rectangle"}]


def test_a_batch_run_with_a_nuclio_function(client, dashboard):
    functions = client.get("/api/lambda/functions").json()
    assert [f["id"] for f in functions] == ["openvino-car-detector"]
    task_id = client.task_with_frames([blank_png(80)] * 3, CAR, "cars")
    call = client.post("/api/lambda/requests", json={
        "function": "openvino-car-detector", "task": task_id, "threshold": 0.5}).json()
    done = client.get_until(f"/api/lambda/requests/{call['id']}",
                  lambda b: b["status"] in ("finished", "failed"))
    assert done["status"] == "finished", done
    shapes = client.get(f"/api/tasks/{task_id}/annotations").json()["shapes"]
    assert sorted(s["frame"] for s in shapes) == [0, 1, 2]  # the doubtful boxes are below 0.5
    assert all(s["points"] == [20, 20, 60, 60] and s["source"] == "auto" for s in shapes)


def test_an_unreachable_dashboard_is_a_503(tmp_path):
    settings = test_settings(tmp_path, inference={
        "backends": ["nuclio"],
        "options": {"nuclio": {"dashboard_url": "http://127.0.0.1:9", "connect_timeout": 2}}})
    app = build_test_app(settings, plugins=[(cvatcore_nuclio, "nuclio")])
    try:
        from cvatcore.core.services.accounts import create_user
        from cvatcore.core.services.caller import Caller

        state = app.state.cvatcore
        with state.db.unit_of_work() as session:
            create_user(Caller.system(state, session), "ann", "ann-pass",
                        email="a@example.com", groups=["user"])
        with ApiClient(app) as client:
            client.login("ann", "ann-pass")
            response = client.get("/api/lambda/functions")
    finally:
        app.state.cvatcore.db.dispose()
    assert response.status_code == 503 and "cannot be reached" in response.json()["detail"]


def test_a_function_that_dies_half_way_fails_the_run_with_the_reason(client, dashboard):
    calls = []

    def dies_on_the_second_frame(body):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("CUDA out of memory")
        return [{"label": "car", "type": "rectangle", "points": [1, 1, 4, 4],
                 "confidence": 0.9}]

    dashboard.add("fragile", dies_on_the_second_frame, [{"name": "car", "type": "rectangle"}])
    try:
        task_id = client.task_with_frames([blank_png(40)] * 3, CAR, "cars")
        call = client.post("/api/lambda/requests", json={
            "function": "fragile", "task": task_id, "cleanup": True}).json()
        done = client.get_until(f"/api/lambda/requests/{call['id']}",
                      lambda b: b["status"] in ("finished", "failed"))
    finally:
        dashboard.functions.pop("fragile")
    assert done["status"] == "failed"
    assert "Frame 1" in done["exc_info"] and "CUDA out of memory" in done["exc_info"]
    assert client.get(f"/api/tasks/{task_id}/annotations").json()["shapes"] == []


def test_a_200_frame_batch_run_with_a_nuclio_function(client, dashboard):
    """The stand-in's car detector over a 200-frame task: one confident box per frame."""
    task_id = client.task_with_frames([blank_png(80)] * 200, CAR, "cars")
    call = client.post("/api/lambda/requests", json={
        "function": "openvino-car-detector", "task": task_id, "threshold": 0.5}).json()
    done = client.get_until(f"/api/lambda/requests/{call['id']}",
                  lambda b: b["status"] in ("finished", "failed"), timeout=120)
    assert done["status"] == "finished" and done["progress"] == 100, done
    shapes = client.get(f"/api/tasks/{task_id}/annotations").json()["shapes"]
    assert sorted(s["frame"] for s in shapes) == list(range(200))
    assert all(s["points"] == [20, 20, 60, 60] and s["source"] == "auto" for s in shapes)


def test_interactors_and_trackers_online(tmp_path):
    """CVAT's bodies for Nuclio interactors and trackers: prompts passed through, tracker
    states signed by the server on the way out and checked on the way in (the function
    gets its own state back), an older tracker's bare point lists converted both ways."""
    from cvatcore_nuclio.testing import box_interactor, point_tracker, shift_tracker

    from cvatcore.core.services.accounts import create_user
    from cvatcore.core.services.caller import Caller

    with nuclio_dashboard() as dashboard:
        dashboard.add("hrnet", box_interactor, [], kind="interactor", min_pos_points="1",
                      startswith_box_optional="true")
        dashboard.add("siam", shift_tracker, [], kind="tracker",
                      supported_shape_types="rectangle,polygon")
        dashboard.add("old-siam", point_tracker, [], kind="tracker")
        settings = test_settings(tmp_path, inference={
            "backends": ["nuclio"], "options": {"nuclio": {"dashboard_url": dashboard.url}}})
        app = build_test_app(settings, plugins=[(cvatcore_nuclio, "nuclio")])
        state = app.state.cvatcore
        with state.db.unit_of_work() as session:
            create_user(Caller.system(state, session), "ann", "ann-pass",
                        email="a@example.com", groups=["user"])
        try:
            with ApiClient(app) as client:
                client.login("ann", "ann-pass")
                _online_kinds(client, dashboard)
        finally:
            state.db.dispose()


def _online_kinds(client, dashboard):
    functions = {f["id"]: f for f in client.get("/api/lambda/functions").json()}
    assert functions["hrnet"]["startswith_box_optional"] is True
    assert functions["siam"]["supported_shape_types"] == ["rectangle", "polygon"]
    assert functions["old-siam"]["supported_shape_types"] == ["rectangle"]
    task_id = client.task_with_frames([blank_png(40)] * 2, CAR, "t")
    call = client.post("/api/lambda/functions/hrnet", json={
        "task": task_id, "frame": 0, "pos_points": [[3, 4], [9, 12]], "neg_points": []})
    assert call.status_code == 200, call.text
    assert call.json() == {"points": [[3, 4], [9, 4], [9, 12], [3, 12]]}
    sent = dashboard.requests[-1][3]
    assert set(sent) == {"image", "pos_points", "neg_points", "obj_bbox"}
    assert sent["obj_bbox"] is None
    for name in ("siam", "old-siam"):
        start = client.post(f"/api/lambda/functions/{name}", json={
            "task": task_id, "frame": 0, "shapes": [{"type": "rectangle",
                                                     "points": [1, 2, 11, 12]}]})
        assert start.status_code == 200, start.text
        (signed,) = start.json()["states"]
        assert isinstance(signed, str) and "box" not in signed  # not the bare state
        moved = client.post(f"/api/lambda/functions/{name}", json={
            "task": task_id, "frame": 1, "states": [signed]})
        assert moved.status_code == 200, moved.text
        assert moved.json()["shapes"] == [{"type": "rectangle", "points": [2, 3, 12, 13]}]
        assert dashboard.requests[-1][3]["states"] == [{"box": [1, 2, 11, 12], "frames": 0}]
        tampered = client.post(f"/api/lambda/functions/{name}", json={
            "task": task_id, "frame": 1, "states": [signed[:-2] + "xx"]})
        assert tampered.status_code == 400
        assert tampered.json()["detail"] == "Invalid or expired tracker state"
    polygon = client.post("/api/lambda/functions/old-siam", json={
        "task": task_id, "frame": 0, "shapes": [{"type": "polygon", "points": [1, 1, 5, 1, 5, 5]}]})
    assert polygon.status_code == 400 and "polygon" in polygon.text
