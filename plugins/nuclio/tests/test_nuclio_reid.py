"""ReID batch runs (``POST /api/lambda/requests``) with a Nuclio ``reid`` function: the
task's rectangles become tracks with CVAT's keyframes, the ``outside`` one where an object
leaves; a function that dies half-way fails the run and leaves the annotations as they were."""

from __future__ import annotations

import time

from cvatcore_nuclio.testing import nearest_reid

from cvatcore.hooks.testing.images import blank_png


def _task_with_two_movers(client, segment_size=0):
    """Five frames: a car moving right on frames 0-4, a person moving down on frames 0-2
    (it leaves after frame 2), and a polygon on frame 1 that is not a rectangle."""
    task_id = client.task_with_frames(
        [blank_png(200)] * 5, [{"name": "car", "type": "rectangle"},
                               {"name": "person", "type": "any"}],
        "reid", segment_size=segment_size)
    car, person = (label["id"] for label in sorted(
        client.get("/api/labels", params={"task_id": task_id}).json()["results"],
        key=lambda label: label["name"]))
    boxes = [{"type": "rectangle", "frame": f, "label_id": car,
              "points": [10 + 10 * f, 10, 40 + 10 * f, 40]} for f in range(5)]
    boxes += [{"type": "rectangle", "frame": f, "label_id": person,
               "points": [100, 100 + 10 * f, 130, 130 + 10 * f]} for f in range(3)]
    polygon = {"type": "polygon", "frame": 1, "label_id": person,
               "points": [1, 1, 5, 1, 5, 5]}
    response = client.put(f"/api/tasks/{task_id}/annotations", json={
        "version": 0, "tags": [], "shapes": [*boxes[::-1], polygon], "tracks": []})
    assert response.status_code == 200, response.text
    return task_id, car, person


def test_a_reid_run_chains_rectangles_into_tracks(client, dashboard):
    dashboard.add("person-reid", nearest_reid, [], kind="reid")
    try:
        task_id, car, person = _task_with_two_movers(client)
        before = len(dashboard.requests)
        call = client.post("/api/lambda/requests", json={
            "function": "person-reid", "task": task_id, "threshold": 0.5,
            "max_distance": 30})
        assert call.status_code == 200, call.text
        done = client.get_until(f"/api/lambda/requests/{call.json()['id']}",
                      lambda b: b["status"] in ("finished", "failed"))
        listed = client.get("/api/requests", params={"action": "autoannotate"}).json()
    finally:
        dashboard.functions.pop("person-reid")
    assert done["status"] == "finished" and done["progress"] == 100, done
    assert done["function"] == {"id": "person-reid", "threshold": 0.5, "task": task_id}
    assert [r["operation"]["function_id"] for r in listed["results"]] == ["person-reid"]
    sent = [body for _, _, _, body in dashboard.requests[before:] if body]
    assert len(sent) == 4  # one call per pair of consecutive frames
    assert set(sent[0]) == {"image0", "image1", "boxes0", "boxes1", "threshold",
                            "max_distance"} and sent[0]["max_distance"] == 30
    data = client.get(f"/api/tasks/{task_id}/annotations").json()
    assert [s["type"] for s in data["shapes"]] == ["polygon"]  # the rectangles are gone
    tracks = {t["label_id"]: t for t in data["tracks"]}
    assert set(tracks) == {car, person} and len(data["tracks"]) == 2
    assert all(t["source"] == "auto" and t["frame"] == 0 for t in data["tracks"])
    assert [(s["frame"], s["points"], s["outside"]) for s in tracks[car]["shapes"]] == [
        (f, [10 + 10 * f, 10, 40 + 10 * f, 40], False) for f in range(5)]
    assert [(s["frame"], s["points"], s["outside"]) for s in tracks[person]["shapes"]] == [
        *((f, [100, 100 + 10 * f, 130, 130 + 10 * f], False) for f in range(3)),
        (3, [100, 120, 130, 150], True)]  # the person left: outside on the next frame


def test_a_reid_function_that_dies_half_way_changes_nothing(client, dashboard):
    calls = []

    def dies_on_the_third_pair(body):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("worker process died")
        return nearest_reid(body)

    dashboard.add("fragile-reid", dies_on_the_third_pair, [], kind="reid")
    try:
        task_id, _, _ = _task_with_two_movers(client)
        before = client.get(f"/api/tasks/{task_id}/annotations").json()
        call = client.post("/api/lambda/requests", json={
            "function": "fragile-reid", "task": task_id}).json()
        done = client.get_until(f"/api/lambda/requests/{call['id']}",
                      lambda b: b["status"] in ("finished", "failed"))
    finally:
        dashboard.functions.pop("fragile-reid")
    assert done["status"] == "failed", done
    assert "Frames 2 and 3" in done["exc_info"] and "worker process died" in done["exc_info"]
    assert client.get(f"/api/tasks/{task_id}/annotations").json() == before


def test_bad_reid_requests_are_400s(client, dashboard):
    dashboard.add("person-reid", nearest_reid, [], kind="reid")
    try:
        task_id, _, _ = _task_with_two_movers(client)
        for extra, field in (({"max_distance": "far"}, "max_distance"),
                             ({"roi": [0, 0, 10, 10]}, "roi")):
            response = client.post("/api/lambda/requests", json={
                "function": "person-reid", "task": task_id, **extra})
            assert response.status_code == 400 and field in response.text, response.text
    finally:
        dashboard.functions.pop("person-reid")


def test_a_job_run_skips_deleted_frames_and_keeps_the_rest(client, dashboard):
    """A run on the first job (frames 0-2) with frame 1 deleted compares frames 0 and 2
    only; the rectangles outside the run (the deleted frame, the second job) stay."""
    dashboard.add("person-reid", nearest_reid, [], kind="reid")
    try:
        task_id, car, person = _task_with_two_movers(client, segment_size=3)
        first_job = min(j["id"] for j in client.get(
            "/api/jobs", params={"task_id": task_id}).json()["results"])
        meta = client.patch(f"/api/tasks/{task_id}/data/meta", json={"deleted_frames": [1]})
        assert meta.status_code == 200, meta.text
        before = len(dashboard.requests)
        call = client.post("/api/lambda/requests", json={
            "function": "person-reid", "task": task_id, "job": first_job})
        assert call.status_code == 200, call.text
        done = client.get_until(f"/api/lambda/requests/{call.json()['id']}",
                      lambda b: b["status"] in ("finished", "failed"))
    finally:
        dashboard.functions.pop("person-reid")
    assert done["status"] == "finished", done
    sent = [body for _, _, _, body in dashboard.requests[before:] if body]
    assert [[b["frame"] for b in body["boxes0"] + body["boxes1"]] for body in sent] == [
        [0, 0, 2, 2]]
    data = client.get(f"/api/tasks/{task_id}/annotations").json()
    assert sorted((s["type"], s["frame"]) for s in data["shapes"]) == [
        ("polygon", 1), ("rectangle", 1), ("rectangle", 1), ("rectangle", 3),
        ("rectangle", 4)]
    assert sorted((t["label_id"], [(s["frame"], s["outside"]) for s in t["shapes"]])
                  for t in data["tracks"]) == sorted([
        (car, [(0, False), (2, False)]), (person, [(0, False), (2, False)])])


def _slow_run(client, dashboard, name):
    """A run of a ReID function that takes 0.4 s per pair, once it has answered once."""
    task_id, _, _ = _task_with_two_movers(client)
    dashboard.delay = 0.4
    call = client.post("/api/lambda/requests", json={"function": name, "task": task_id})
    assert call.status_code == 200, call.text
    url = f"/api/lambda/requests/{call.json()['id']}"
    client.get_until(url, lambda b: b["progress"] > 0 or b["status"] != "started")
    return task_id, url


def test_an_edit_during_a_run_is_kept_and_the_run_fails(client, dashboard):
    dashboard.add("person-reid", nearest_reid, [], kind="reid")
    try:
        task_id, url = _slow_run(client, dashboard, "person-reid")
        person = client.get(f"/api/tasks/{task_id}/annotations").json()["shapes"][0]
        edit = client.patch(f"/api/tasks/{task_id}/annotations", params={"action": "create"},
                            json={"shapes": [{**person, "id": None, "frame": 4}]})
        assert edit.status_code == 200, edit.text
        done = client.get_until(url, lambda b: b["status"] in ("finished", "failed"))
    finally:
        dashboard.delay = 0
        dashboard.functions.pop("person-reid")
    assert done["status"] == "failed" and "changed while" in done["exc_info"], done
    data = client.get(f"/api/tasks/{task_id}/annotations").json()
    assert data["tracks"] == [] and len(data["shapes"]) == 10  # 8 boxes, polygon, the edit


def test_cancelling_a_reid_run_writes_nothing(client, dashboard):
    dashboard.add("person-reid", nearest_reid, [], kind="reid")
    try:
        task_id, url = _slow_run(client, dashboard, "person-reid")
        before = client.get(f"/api/tasks/{task_id}/annotations").json()
        assert client.delete(url).status_code == 204
        time.sleep(1.5)  # past the pair being matched and the next
    finally:
        dashboard.delay = 0
        dashboard.functions.pop("person-reid")
    assert client.get(url).status_code == 404
    assert client.get(f"/api/tasks/{task_id}/annotations").json() == before
