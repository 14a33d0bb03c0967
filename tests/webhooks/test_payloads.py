"""What CVAT's ``test_webhooks_sender.py`` checks: one delivery per change, ``before_update``
with the old values of what changed, the object as the API shows it, overlapping webhooks
firing once each with their own ``webhook_id``."""

from __future__ import annotations

import json

from sqlalchemy import select

from cvatcore.core.models import Task, TaskData
from cvatcore.core.services.caller import Caller
from cvatcore.core.services.segments import create_segments


def _bodies(receiver):
    return [json.loads(r.body) for r in receiver.requests]


def _add_jobs(app, task_id, size=4, segment_size=2):
    state = app.state.cvatcore
    with state.db.unit_of_work() as session:
        task = session.get(Task, task_id)
        data = TaskData(size=size, stop_frame=size - 1, chunk_size=36, image_quality=70)
        session.add(data)
        session.flush()
        task.data_id, task.mode, task.segment_size = data.id, "annotation", segment_size
        return [j.id for j in create_segments(Caller.system(state, session), task, data)]


def test_organization_webhook_hears_the_organization(people, receiver, deliver, org,
                                                     cvatcore_app):
    owner_user, owner = people.user()
    member_user, _ = people.user()
    slug = org(owner, {"worker": member_user})
    hdr = {"X-Organization": slug}
    every = [e["key"] for e in owner.get("/api/webhooks/events?type=organization").json()[
        "events"]]
    org_hook = owner.post("/api/webhooks", headers=hdr, json={
        "target_url": receiver.url, "type": "organization", "events": every}).json()
    project = owner.post("/api/projects", json={"name": "p"}, headers=hdr).json()
    project_hook = owner.post("/api/webhooks", headers=hdr, json={
        "target_url": receiver.url, "type": "project", "project_id": project["id"],
        "events": ["create:task"]}).json()
    task = owner.post("/api/tasks", json={"name": "t", "project_id": project["id"]},
                      headers=hdr).json()
    deliver(until=lambda: len(receiver.requests) >= 3)
    created = [b for b in _bodies(receiver) if b["event"] == "create:task"]
    assert sorted(b["webhook_id"] for b in created) == sorted([org_hook["id"],
                                                               project_hook["id"]])
    assert created[0]["task"]["jobs"]["completed"] is None  # no data yet, as CVAT
    receiver.requests.clear()

    org_id = org_hook["organization"]
    owner.patch(f"/api/organizations/{org_id}", json={"name": "Renamed"}, headers=hdr)
    membership = next(m for m in owner.get("/api/memberships", headers=hdr).json()["results"]
                      if m["user"]["id"] == member_user.id)
    owner.patch(f"/api/memberships/{membership['id']}", json={"role": "supervisor"},
                headers=hdr)
    job_id = _add_jobs(cvatcore_app, task["id"])[0]
    receiver_count = 1 + 1 + 2  # organization, membership, two create:job
    deliver(until=lambda: len(receiver.requests) >= receiver_count)
    receiver.requests.clear()
    patched = owner.patch(f"/api/jobs/{job_id}", json={"assignee": member_user.id},
                          headers=hdr)
    assert patched.status_code == 200, patched.text
    owner.patch(f"/api/jobs/{job_id}", json={"stage": "validation"}, headers=hdr)
    issue = owner.post("/api/issues", json={"frame": 0, "position": [1, 2, 3, 4],
                                            "job": job_id, "message": "hm"}, headers=hdr).json()
    owner.patch(f"/api/issues/{issue['id']}", json={"resolved": True}, headers=hdr)
    deliver(until=lambda: len(receiver.requests) >= 5)
    bodies = _bodies(receiver)
    by_event = {}
    for body in bodies:
        by_event.setdefault(body["event"], []).append(body)
    assignee, stage = by_event["update:job"]
    assert assignee["before_update"]["assignee"] is None
    assert assignee["job"]["assignee"]["id"] == member_user.id
    assert stage["before_update"]["stage"] == "annotation" and stage["job"]["stage"] == \
        "validation"
    assert by_event["create:issue"][0]["issue"]["id"] == issue["id"]
    assert by_event["update:issue"][0]["before_update"]["resolved"] is False
    assert "create:comment" in by_event  # the issue's first message
    assert all(b["webhook_id"] == org_hook["id"] for b in bodies)


def test_update_and_delete_payloads(people, receiver, deliver, org, cvatcore_app):
    owner_user, owner = people.user()
    member_user, _ = people.user()
    slug = org(owner, {"worker": member_user})
    hdr = {"X-Organization": slug}
    hook = owner.post("/api/webhooks", headers=hdr, json={
        "target_url": receiver.url, "type": "organization",
        "events": ["update:organization", "update:membership", "create:project",
                   "delete:project"]}).json()
    org_id = hook["organization"]
    before = owner.get(f"/api/organizations/{org_id}", headers=hdr).json()
    owner.patch(f"/api/organizations/{org_id}", json={"name": "Renamed"}, headers=hdr)
    membership = next(m for m in owner.get("/api/memberships", headers=hdr).json()["results"]
                      if m["user"]["id"] == member_user.id)
    owner.patch(f"/api/memberships/{membership['id']}", json={"role": "supervisor"},
                headers=hdr)
    project = owner.post("/api/projects", json={"name": "short-lived"}, headers=hdr).json()
    shown = owner.get(f"/api/projects/{project['id']}", headers=hdr).json()
    owner.delete(f"/api/projects/{project['id']}", headers=hdr)
    deliver(until=lambda: len(receiver.requests) >= 4)
    renamed, role, created, deleted = _bodies(receiver)
    assert renamed["event"] == "update:organization"
    assert renamed["before_update"]["name"] == before["name"]
    assert renamed["organization"]["name"] == "Renamed"
    assert role["before_update"] == {"role": "worker"}
    assert role["membership"]["role"] == "supervisor"
    assert created["event"] == "create:project" and deleted["event"] == "delete:project"
    assert deleted["project"] == shown  # the object as it was before deletion
    with cvatcore_app.state.cvatcore.db.unit_of_work() as session:
        assert session.scalar(select(Task.id).where(Task.project_id == project["id"])) is None
