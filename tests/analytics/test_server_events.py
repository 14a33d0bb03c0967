"""Server events: CVAT records for every domain event, in the change's transaction, drained
to every configured sink exactly once."""

from __future__ import annotations

import json

from .support import Analytics, unique


def test_changes_become_cvat_records_with_the_request_id(analytics: Analytics) -> None:
    user_id, client = analytics.user()
    r = client.post("/api/projects", json={"name": unique("p"), "labels": [{"name": "car"}]})
    pid, request_id = r.json()["id"], r.headers["x-request-id"]
    (create,) = analytics.outbox(scope="create:project", obj_id=pid)
    assert create["obj_name"] == r.json()["name"] and create["project_id"] == pid
    assert create["source"] == "server" and create["user_id"] == user_id
    assert create["user_name"].startswith("user") and create["user_email"].endswith(".com")
    payload = json.loads(create["payload"])
    assert payload["request"]["id"] == request_id and "name" not in payload
    assert analytics.outbox(scope="create:label", project_id=pid)

    r = client.patch(f"/api/projects/{pid}", json={"name": "renamed"})
    (update,) = analytics.outbox(scope="update:project", project_id=pid)
    assert update["obj_name"] == "name" and update["obj_val"] == "renamed"
    assert json.loads(update["payload"])["old_value"] == create["obj_name"]
    assert json.loads(update["payload"])["request"]["id"] == r.headers["x-request-id"]
    ids = [e["id"] for e in analytics.outbox()]
    assert len(ids) == len(set(ids))


def test_a_failed_request_writes_no_event(analytics: Analytics) -> None:
    _, client = analytics.user()
    before = len(analytics.outbox())
    r = client.post("/api/projects", json={"name": "", "labels": [{"name": 5}]})
    assert r.status_code == 400
    assert len(analytics.outbox()) == before


def test_drain_delivers_each_event_once_to_each_sink(analytics: Analytics) -> None:
    _, client = analytics.user()
    pid = client.post("/api/projects", json={"name": unique("p")}).json()["id"]
    tid = client.post("/api/tasks", json={"name": unique("t"), "project_id": pid}).json()["id"]
    client.patch(f"/api/tasks/{tid}", json={"name": "t2"})
    analytics.drain()
    stored = analytics.stored(project_id=pid)
    assert [e["scope"] for e in stored].count("create:task") == 1
    assert {"create:project", "create:task", "update:task"} <= {e["scope"] for e in stored}
    outbox_ids = {e["id"] for e in analytics.outbox(project_id=pid)}
    assert {e["id"] for e in stored} == outbox_ids
    total = analytics.stored_count()
    analytics.drain()  # nothing new: nothing more
    assert analytics.stored_count() == total


def test_a_changed_relation_is_named_with_its_id(analytics: Analytics) -> None:
    user_id, client = analytics.user()
    tid = client.post("/api/tasks", json={"name": unique("t"), "labels": [{"name": "a"}]}
                      ).json()["id"]
    r = client.patch(f"/api/tasks/{tid}", json={"assignee_id": user_id})
    assert r.status_code == 200, r.text
    (change,) = analytics.outbox(scope="update:task", task_id=tid)
    assert (change["obj_name"], change["obj_id"], change["obj_val"]) == (
        "assignee", user_id, str(user_id))
    assert json.loads(change["payload"])["old_value"] is None
    client.delete(f"/api/tasks/{tid}")
    (gone,) = analytics.outbox(scope="delete:task", obj_id=tid)
    assert gone["obj_name"] == analytics.outbox(scope="create:task", obj_id=tid)[0]["obj_name"]
