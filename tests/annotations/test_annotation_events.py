"""Annotation changes in the event log as CVAT records them: ``<action>:tags``,
``<action>:shapes`` and ``<action>:tracks``, one record per shape type with its count and
the ids of what changed, not one record per job."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from cvatcore.core.models import OutboxEvent
from cvatcore.hooks.testing.pytest_plugin import module_app_fixtures

from .support import shape, tag, track

# This module's app records analytics events (the package's apps have no sinks); no job
# threads, so the outbox keeps what the requests wrote.
cvatcore_database_url, cvatcore_settings, cvatcore_app = module_app_fixtures(
    "annotation-events", jobs={"in_process_workers": 0}, analytics={"sinks": ["sql"]})


def records(app: Any, job_id: int) -> list[dict[str, Any]]:
    with app.state.cvatcore.db.unit_of_work(write=False) as session:
        rows = [json.loads(r) for r in session.scalars(
            select(OutboxEvent.record).order_by(OutboxEvent.seq))]
    return [r for r in rows if r["job_id"] == job_id and r["scope"].endswith(
        (":tags", ":shapes", ":tracks", ":annotations"))]


def summary(found: list[dict[str, Any]]) -> list[tuple[str, str | None, int]]:
    return [(r["scope"], r["obj_name"], r["count"]) for r in found]


def test_each_kind_and_shape_type_is_one_record_with_its_count(cvatcore_app, client, task):
    job = task.job_ids[0]
    body = {"tags": [tag(task, 0), tag(task, 1)],
            "shapes": [shape(task, "rectangle", 1, [0, 0, 5, 5]),
                       shape(task, "rectangle", 2, [0, 0, 6, 6]),
                       shape(task, "points", 3, [1, 1])],
            "tracks": [track(task, 2, [2, 4])]}
    r = client.patch(f"/api/jobs/{job}/annotations/?action=create", json=body)
    assert r.status_code == 200, r.text
    made = r.json()
    created = records(cvatcore_app, job)
    assert summary(created) == [("create:tags", None, 2), ("create:shapes", "rectangle", 2),
                                ("create:shapes", "points", 1),
                                ("create:tracks", "rectangle", 1)]
    assert all(c["task_id"] == task.task_id and c["source"] == "server" for c in created)
    rectangles = json.loads(created[1]["payload"])
    assert [s["id"] for s in rectangles["shapes"]] == [s["id"] for s in made["shapes"][:2]]
    assert set(rectangles["shapes"][0]) == {"id", "frame", "attributes", "label_id"}
    assert rectangles["request"]["id"] == r.headers["x-request-id"]
    tracks = json.loads(created[3]["payload"])["tracks"]
    assert [s["frame"] for s in tracks[0]["shapes"]] == [2, 4]

    gone = {"tags": [], "shapes": [made["shapes"][2]["id"]], "tracks": []}
    r = client.patch(f"/api/jobs/{job}/annotations/?action=delete", json={
        "tags": [], "shapes": [made["shapes"][2]], "tracks": []})
    assert r.status_code == 200, r.text
    deleted = records(cvatcore_app, job)[len(created):]
    assert summary(deleted) == [("delete:shapes", "points", 1)]
    assert [s["id"] for s in json.loads(deleted[0]["payload"])["shapes"]] == gone["shapes"]


def test_a_put_records_the_old_annotations_deleted_and_the_new_created(
        cvatcore_app, client, task):
    job = task.job_ids[0]
    client.put(f"/api/jobs/{job}/annotations/", json={"tags": [tag(task, 0)]})
    before = len(records(cvatcore_app, job))
    r = client.put(f"/api/jobs/{job}/annotations/", json={
        "shapes": [shape(task, "polygon", 1, [0, 0, 5, 5, 0, 5])]})
    assert r.status_code == 200, r.text
    assert summary(records(cvatcore_app, job)[before:]) == [
        ("delete:tags", None, 1), ("create:shapes", "polygon", 1)]
    r = client.delete(f"/api/jobs/{job}/annotations/")
    assert r.status_code == 204, r.text
    assert summary(records(cvatcore_app, job)[before + 2:]) == [
        ("delete:shapes", "polygon", 1)]


def test_a_task_patch_records_per_job(cvatcore_app, client, new_task):
    made = new_task(size=10, segment_size=5)
    first, second = made.job_ids
    r = client.patch(f"/api/tasks/{made.task_id}/annotations?action=create", json={
        "tags": [tag(made, 1), tag(made, 7), tag(made, 8)]})
    assert r.status_code == 200, r.text
    assert summary(records(cvatcore_app, first)) == [("create:tags", None, 1)]
    assert summary(records(cvatcore_app, second)) == [("create:tags", None, 2)]
    late = [t for t in r.json()["tags"] if t["frame"] > 5]
    r = client.patch(f"/api/tasks/{made.task_id}/annotations?action=delete", json={
        "tags": late[:1], "shapes": [], "tracks": []})
    assert r.status_code == 200, r.text
    assert summary(records(cvatcore_app, second)[1:]) == [("delete:tags", None, 1)]
    assert len(records(cvatcore_app, first)) == 1
