"""``/api/jobs/{id}/annotations/``: what is written is what is read, in CVAT's JSON, on SQLite
and PostgreSQL."""

from __future__ import annotations

import copy

from cvatcore.core.models import Label
from cvatcore.core.services import labels

from .support import (
    car_attributes,
    every_shape,
    full_body,
    sdk_check,
    shape,
    strip_ids,
    tag,
    track,
)


def url(job_id: int) -> str:
    return f"/api/jobs/{job_id}/annotations/"


def test_everything_round_trips(client, task, events):
    job = task.job_ids[0]
    empty = client.get(url(job))
    assert empty.status_code == 200
    assert empty.json() == {"version": 0, "tags": [], "shapes": [], "tracks": []}

    body = full_body(task)
    put = client.put(url(job), json=body)
    assert put.status_code == 200, put.text
    answer = put.json()
    sdk_check("labeled_data.LabeledData", answer)
    assert answer["version"] == 1
    assert strip_ids(answer) == strip_ids(body)
    ids = [s["id"] for s in answer["shapes"]]
    assert len(set(ids)) == 8 and all(isinstance(i, int) for i in ids)

    read = client.get(url(job)).json()
    sdk_check("labeled_data.LabeledData", read)
    assert read == answer  # every attribute was given, so the read adds no default values
    assert [s["type"] for s in read["shapes"]] == [
        "rectangle", "polygon", "polyline", "points", "ellipse", "cuboid", "mask", "skeleton"]
    skeleton = read["shapes"][-1]
    assert [e["label_id"] for e in skeleton["elements"]] == [task.labels["head"],
                                                             task.labels["foot"]]
    assert skeleton["points"] == [] and skeleton["elements"][1]["outside"] is True
    car_track, body_track = read["tracks"]
    assert [s["frame"] for s in car_track["shapes"]] == [2, 4, 6]
    assert [len(e["shapes"]) for e in body_track["elements"]] == [1, 1]
    assert [(e.scope, e.obj_id, e.org_id) for e in events] == [("update:annotations", job, None)]
    assert events[0].request_id and events[0].actor_id is not None
    assert events[0].before["version"] == 0 and events[0].after["version"] == 1


def test_reads_fill_in_default_attribute_values(client, task):
    """As CVAT: missing attributes read as their defaults; a track's shapes carry mutable
    values forward from the previous shape."""
    job = task.job_ids[0]
    speed = task.specs[("car", "speed")]
    bare_track = track(task, 0, [0, 3])
    bare_track["attributes"] = []
    bare_track["shapes"][0]["attributes"] = [{"spec_id": speed, "value": "7"}]
    bare_track["shapes"][1]["attributes"] = []
    body = {"shapes": [shape(task, "rectangle", 0, [0, 0, 1, 1], attributes=[])],
            "tracks": [bare_track]}
    assert client.put(url(job), json=body).status_code == 200
    read = client.get(url(job)).json()
    values = {a["spec_id"]: a["value"] for a in read["shapes"][0]["attributes"]}
    assert values == {task.specs[("car", n)]: v for n, v in (
        ("color", "red"), ("parked", "false"), ("speed", "0"), ("plate", ""), ("kind", "sedan"))}
    got = read["tracks"][0]
    assert {a["spec_id"] for a in got["attributes"]} == {
        task.specs[("car", n)] for n in ("color", "plate", "kind")}
    second = {a["spec_id"]: a["value"] for a in got["shapes"][1]["attributes"]}
    assert second[speed] == "7"  # carried from the first shape, not the default "0"


def test_patch_create_update_delete_and_versions(client, task, events):
    job = task.job_ids[0]
    first = client.put(url(job), json={"shapes": every_shape(task, 1)}).json()
    assert first["version"] == 1

    created = client.patch(url(job) + "?action=create", json={
        "shapes": [shape(task, "rectangle", 2, [5, 5, 6, 6])], "tags": [tag(task, 2)],
        "tracks": [track(task, 3, [3, 4])]})
    assert created.status_code == 200, created.text
    created = created.json()
    sdk_check("labeled_data.LabeledData", created)
    assert created["version"] == 2
    assert len(client.get(url(job)).json()["shapes"]) == 9

    skeleton = copy.deepcopy(first["shapes"][-1])
    skeleton["elements"][0]["points"] = [7.0, 7.0]
    moved = copy.deepcopy(created["shapes"][0])
    moved.update(points=[1.0, 1.0, 2.0, 2.0], frame=4,
                 attributes=car_attributes(task, color="red"))
    changed_track = copy.deepcopy(created["tracks"][0])
    changed_track["shapes"][1]["points"] = [9.0, 9.0, 10.0, 10.0]
    updated = client.patch(url(job) + "?action=update",
                           json={"shapes": [moved, skeleton], "tracks": [changed_track]})
    assert updated.status_code == 200, updated.text
    assert updated.json()["version"] == 3
    read = client.get(url(job)).json()
    by_id = {s["id"]: s for s in read["shapes"]}
    assert by_id[moved["id"]]["frame"] == 4 and by_id[moved["id"]]["points"] == moved["points"]
    assert by_id[skeleton["id"]]["elements"] == skeleton["elements"]  # ids kept too
    assert read["tracks"][0] == changed_track

    deleted = client.patch(url(job) + "?action=delete", json={
        "shapes": [{"id": moved["id"]}], "tags": [{"id": created["tags"][0]["id"]}],
        "tracks": [{"id": changed_track["id"]}]})
    assert deleted.status_code == 200, deleted.text
    gone = deleted.json()
    assert [s["id"] for s in gone["shapes"]] == [moved["id"]] and gone["version"] == 4
    read = client.get(url(job)).json()
    assert moved["id"] not in {s["id"] for s in read["shapes"]}
    assert read["tags"] == [] and read["tracks"] == [] and read["version"] == 4
    assert [e.scope for e in events] == ["update:annotations", "create:annotations",
                                         "update:annotations", "delete:annotations"]

    assert client.delete(url(job)).status_code == 204
    assert client.get(url(job)).json() == {"version": 5, "tags": [], "shapes": [],
                                           "tracks": []}
    assert events[-1].scope == "delete:annotations" and len(events) == 5


def test_patch_needs_an_action_and_known_ids(client, task):
    job = task.job_ids[0]
    client.put(url(job), json={"shapes": [shape(task, "rectangle", 1, [0, 0, 1, 1])]})
    for query in ("", "?action=replace"):
        r = client.patch(url(job) + query, json={"shapes": []})
        assert r.status_code == 400 and "action" in r.json()
    unknown = shape(task, "rectangle", 1, [0, 0, 1, 1], id=999_999)
    r = client.patch(url(job) + "?action=update", json={"shapes": [unknown]})
    assert r.status_code == 400 and "999999" in r.json()["shapes"][0]
    assert client.get(url(job)).json()["version"] == 1  # the version taken first rolls back
    r = client.patch(url(job) + "?action=update",
                     json={"shapes": [shape(task, "rectangle", 1, [0, 0, 1, 1])]})
    assert r.status_code == 400  # an update names what it updates
    # deleting an id that is not there changes nothing, as CVAT
    r = client.patch(url(job) + "?action=delete", json={"shapes": [{"id": 999_999}]})
    assert r.status_code == 200 and r.json()["shapes"] == []
    r = client.patch(url(job) + "?action=create", json={"shapes": []})
    assert r.status_code == 200 and r.json()["version"] == 1
    read = client.get(url(job)).json()
    assert len(read["shapes"]) == 1 and read["version"] == 1  # no change, no new version


def test_another_jobs_annotations_cannot_be_touched(client, new_task):
    made = new_task(size=10, segment_size=5)
    first, second = made.job_ids
    put = client.put(url(first), json={"shapes": [shape(made, "rectangle", 1, [0, 0, 1, 1])]})
    theirs = put.json()["shapes"][0]
    moved = {**theirs, "frame": 6}
    r = client.patch(url(second) + "?action=update", json={"shapes": [moved]})
    assert r.status_code == 400
    client.patch(url(second) + "?action=delete", json={"shapes": [{"id": theirs["id"]}]})
    assert client.get(url(first)).json()["shapes"] == [theirs]


def test_paths_and_missing_jobs(client, task):
    job = task.job_ids[0]
    assert client.get(f"/api/jobs/{job}/annotations").status_code == 200  # redirected
    assert client.get(url(999_999)).status_code == 404
    r = client.get(url(job) + "?format=CVAT for images 1.1")
    assert r.status_code == 400 and "format" in r.json()


def test_a_label_removed_meanwhile_is_a_conflict(client, task, monkeypatch):
    """Labels are read, the body checked, then rows written: a label deleted in between (by
    another request) breaks a foreign key, which answers 409 and writes nothing."""
    job = task.job_ids[0]
    client.put(url(job), json={"tags": [tag(task, 0)]})
    real = labels.label_index

    def with_a_ghost(session, made_task):
        index = real(session, made_task)
        index[999_999] = (Label(id=999_999, name="ghost", type="any"), {})
        return index

    monkeypatch.setattr(labels, "label_index", with_a_ghost)
    ghost = {"frame": 1, "label_id": 999_999, "group": 0, "source": "manual", "attributes": []}
    r = client.put(url(job), json={"tags": [ghost]})
    assert r.status_code == 409, r.text
    monkeypatch.undo()
    read = client.get(url(job)).json()
    assert read["version"] == 1 and [t["frame"] for t in read["tags"]] == [0]
