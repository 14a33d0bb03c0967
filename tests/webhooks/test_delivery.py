"""Deliveries to real receivers: CVAT's payloads and signatures, the Standard Webhooks
headers, order per webhook, retries with back-off and ``Retry-After``, turning a failing
webhook off."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

SECRET = "mykey-for-tests"


def _project_hook(client, receiver, project_id, events, secret=SECRET):
    response = client.post("/api/webhooks", json={
        "target_url": receiver.url + "/hook", "type": "project", "project_id": project_id,
        "events": events, "secret": secret})
    assert response.status_code == 201, response.text
    return response.json()


def _project(client, name="p"):
    response = client.post("/api/projects", json={"name": name})
    assert response.status_code == 201, response.text
    return response.json()


def test_payloads_signatures_and_order(people, receiver, deliver):
    _, ann = people.user()
    project = _project(ann)
    hook = _project_hook(ann, receiver, project["id"],
                         ["create:task", "update:task", "delete:task", "update:project"])
    assert "secret" not in hook
    task = ann.post("/api/tasks", json={"name": "t1", "project_id": project["id"]}).json()
    assert ann.patch(f"/api/tasks/{task['id']}", json={"name": "t2"}).status_code == 200
    shown = ann.get(f"/api/tasks/{task['id']}").json()
    assert ann.delete(f"/api/tasks/{task['id']}").status_code == 204

    deliver(until=lambda: len(receiver.requests) >= 3)
    bodies = [json.loads(r.body) for r in receiver.requests]
    assert [b["event"] for b in bodies] == ["create:task", "update:task", "delete:task"]
    created, updated, deleted = bodies
    assert created["task"]["name"] == "t1" and created["task"]["id"] == task["id"]
    assert created["webhook_id"] == hook["id"]
    assert created["sender"]["username"] == ann.get("/api/users/self").json()["username"]
    assert updated["task"] == shown  # the object as the API shows it
    assert updated["before_update"]["name"] == "t1"
    assert set(updated["before_update"]) <= {"name", "updated_date"}
    assert deleted["task"]["name"] == "t2"

    for request in receiver.requests:
        body = request.body
        expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert request.headers["X-Signature-256"] == f"sha256={expected}"
        assert body == json.dumps(json.loads(body)).encode()  # CVAT's separators
        msg_id, ts = request.headers["webhook-id"], request.headers["webhook-timestamp"]
        signed = hmac.new(SECRET.encode(), f"{msg_id}.{ts}.".encode() + body,
                          hashlib.sha256).digest()
        assert request.headers["webhook-signature"] == "v1," + base64.b64encode(signed).decode()

    deliveries = ann.get(f"/api/webhooks/{hook['id']}/deliveries").json()
    assert deliveries["count"] == 3
    assert {d["status_code"] for d in deliveries["results"]} == {200}
    again = ann.get(f"/api/webhooks/{hook['id']}").json()
    assert again["last_status"] == 200 and again["last_delivery_date"]


def test_retries_honour_retry_after_and_keep_order(people, receiver, deliver):
    _, ann = people.user()
    project = _project(ann)
    hook = _project_hook(ann, receiver, project["id"], ["create:task"])
    receiver.script = [(503, {"Retry-After": "1"}), (500, {}), (429, {"Retry-After": "0"})]
    ids = [ann.post("/api/tasks", json={"name": f"t{i}", "project_id": project["id"]})
           .json()["id"] for i in range(2)]
    deliver(until=lambda: len(receiver.requests) >= 5)
    got = [json.loads(r.body)["task"]["id"] for r in receiver.requests]
    assert got == [ids[0]] * 4 + [ids[1]]  # the second waits behind the first's retries
    assert receiver.requests[1].at - receiver.requests[0].at >= 0.95  # Retry-After: 1
    deliveries = ann.get(f"/api/webhooks/{hook['id']}/deliveries").json()["results"]
    first = next(d for d in deliveries if d["request"]["task"]["id"] == ids[0])
    assert first["attempt"] == 4 and first["status_code"] == 200
    assert first["state"] == "delivered"


def test_failing_webhook_is_turned_off(people, receiver, deliver, cvatcore_app):
    _, ann = people.user()
    project = _project(ann)
    hook = _project_hook(ann, receiver, project["id"], ["create:task"])
    receiver.status = 500
    settings = cvatcore_app.state.cvatcore.settings.webhooks
    window = settings.retry_window_seconds
    settings.retry_window_seconds = 0.3
    try:
        ann.post("/api/tasks", json={"name": "t", "project_id": project["id"]})
        deliver(until=lambda: not ann.get(f"/api/webhooks/{hook['id']}").json()["is_active"])
    finally:
        settings.retry_window_seconds = window
    shown = ann.get(f"/api/webhooks/{hook['id']}").json()
    assert "status 500" in shown["disabled_reason"] and shown["last_status"] == 500
    delivery = ann.get(f"/api/webhooks/{hook['id']}/deliveries").json()["results"][0]
    assert delivery["state"] == "failed" and delivery["attempt"] >= 2
    # Turned back on, it hears events again.
    receiver.status = 200
    assert ann.patch(f"/api/webhooks/{hook['id']}", json={"is_active": True}).json()[
        "disabled_reason"] == ""
