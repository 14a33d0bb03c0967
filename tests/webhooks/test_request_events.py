"""Request-completion events (``completed:request[<type>]``) delivered to real receivers when
task data creation and dataset exports end, in order after the changes those requests made;
the sweeper that re-queues a webhook's drain that failed for good; a lingering drain that
sends the next event without a new job."""

from __future__ import annotations

import io
import json
import threading
from datetime import timedelta
from typing import Any

from PIL import Image
from sqlalchemy import select

from cvatcore.core.jobs.runner import JobRunner
from cvatcore.core.models import BackgroundJob, Webhook
from cvatcore.core.models.base import utcnow

TASK_DONE = "completed:request[create:task]"
EXPORT_DONE = "completed:request[export:annotations]"


def _png(i: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (32, 24), (i * 40, 100, 150)).save(buf, "PNG")
    return buf.getvalue()


def _setup(client: Any, receiver: Any, events: list[str]) -> tuple[dict, dict, dict]:
    project = client.post("/api/projects", json={"name": "p", "labels": [{"name": "car"}]})
    assert project.status_code == 201, project.text
    hook = client.post("/api/webhooks", json={
        "target_url": receiver.url + "/hook", "type": "project", "secret": "s3cret",
        "project_id": project.json()["id"], "events": events})
    assert hook.status_code == 201, hook.text
    task = client.post("/api/tasks", json={"name": "t", "project_id": project.json()["id"]})
    assert task.status_code == 201, task.text
    return project.json(), hook.json(), task.json()


def _events(receiver: Any) -> list[dict[str, Any]]:
    return [json.loads(r.body) for r in receiver.requests]


def _upload(client: Any, task_id: int) -> str:
    files = [(f"client_files[{i}]", (f"img_{i}.png", _png(i), "image/png")) for i in range(2)]
    response = client.post(f"/api/tasks/{task_id}/data", files=files,
                           data={"image_quality": "70"})
    assert response.status_code == 202, response.text
    return response.json()["rq_id"]


def _without_host(record: dict[str, Any]) -> dict[str, Any]:
    url = record.get("result_url")
    return {**record, "result_url": url and url[url.index("/api/"):]}


def test_task_data_and_export_completions_follow_their_changes(people, receiver, deliver):
    _, ann = people.user()
    events = ["update:task", TASK_DONE, EXPORT_DONE]
    _, hook, task = _setup(ann, receiver, events)
    rq_id = _upload(ann, task["id"])
    deliver(until=lambda: TASK_DONE in {b["event"] for b in _events(receiver)})
    export = ann.post(f"/api/tasks/{task['id']}/dataset/export",
                      params={"format": "CVAT for images 1.1", "save_images": "False"})
    assert export.status_code == 202, export.text
    export_id = export.json()["rq_id"]
    deliver(until=lambda: EXPORT_DONE in {b["event"] for b in _events(receiver)})

    bodies = _events(receiver)
    # The task's data change is announced before the request that made it ends.
    assert [b["event"] for b in bodies] == ["update:task", TASK_DONE, EXPORT_DONE]
    done, exported = bodies[1], bodies[2]
    assert done["webhook_id"] == hook["id"] and done["rq_id"] == rq_id
    assert (done["status"], done["target"], done["target_id"]) == ("finished", "task",
                                                                   task["id"])
    # ``request`` is the request as GET /api/requests/{id} shows it.
    shown = ann.get(f"/api/requests/{rq_id}").json()
    assert _without_host(done["request"]) == _without_host(shown)
    assert done["request"]["operation"]["type"] == "create:task"
    assert done["request"]["result_id"] == task["id"]

    assert exported["request"]["status"] == "finished" and exported["rq_id"] == export_id
    assert exported["format"] == "CVAT for images 1.1" and exported["target"] == "task"
    assert exported["request"]["result_url"].endswith(
        _without_host(ann.get(f"/api/requests/{export_id}").json())["result_url"])
    assert all(r.headers["X-Signature-256"].startswith("sha256=") for r in receiver.requests)


def test_backup_export_completion_is_announced(people, receiver, deliver):
    """Task backups (issue 14) announce their end through the same runner hook, with no
    webhook code of their own."""
    _, ann = people.user()
    backup_done = "completed:request[export:backup]"
    _, hook, task = _setup(ann, receiver, [TASK_DONE, backup_done])
    _upload(ann, task["id"])
    deliver(until=lambda: TASK_DONE in {b["event"] for b in _events(receiver)})
    backup = ann.post(f"/api/tasks/{task['id']}/backup/export")
    assert backup.status_code == 202, backup.text
    deliver(until=lambda: backup_done in {b["event"] for b in _events(receiver)})
    done = _events(receiver)[-1]
    assert done["event"] == backup_done and done["webhook_id"] == hook["id"]
    assert done["rq_id"] == backup.json()["rq_id"] and done["request"]["status"] == "finished"
    assert (done["target"], done["target_id"]) == ("task", task["id"])


def test_a_request_whose_workers_died_is_announced_as_failed(people, receiver, deliver,
                                                           cvatcore_app):
    _, ann = people.user()
    _, hook, task = _setup(ann, receiver, [EXPORT_DONE])
    export = ann.post(f"/api/tasks/{task['id']}/dataset/export",
                      params={"format": "CVAT for images 1.1", "save_images": "False"})
    rq_id = export.json()["rq_id"]
    with cvatcore_app.state.cvatcore.db.unit_of_work() as session:
        job = session.get(BackgroundJob, rq_id)  # its worker died during every attempt
        job.status, job.attempts, job.lease_owner = "started", job.max_attempts, "gone:1:x"
        job.lease_until = utcnow() - timedelta(seconds=1)
    deliver(until=lambda: len(receiver.requests) >= 1)
    body = _events(receiver)[0]
    assert body["event"] == EXPORT_DONE and body["status"] == "failed"
    assert body["request"]["status"] == "failed" and "worker stopped" in body["message"]
    assert ann.get(f"/api/requests/{rq_id}").json()["status"] == "failed"


def test_sweeper_requeues_the_drain_of_a_webhook_whose_drain_failed(people, receiver, deliver,
                                                                    cvatcore_app):
    _, ann = people.user()
    project, hook, _ = _setup(ann, receiver, ["create:task"])
    state = cvatcore_app.state.cvatcore
    ann.post("/api/tasks", json={"name": "waiting", "project_id": project["id"]})
    with state.db.unit_of_work() as session:
        drain_id = session.get(Webhook, hook["id"]).drain_job_id
        drain = session.get(BackgroundJob, drain_id)  # it killed its worker on every attempt
        drain.status, drain.attempts, drain.lease_owner = "started", drain.max_attempts, "x"
        drain.lease_until = utcnow() - timedelta(seconds=1)
    # No new event: the sweeper alone brings the waiting deliveries out, in order.
    deliver(until=lambda: len(receiver.requests) >= 2)
    assert [b["task"]["name"] for b in _events(receiver)] == ["t", "waiting"]
    with state.db.unit_of_work() as session:
        assert session.get(BackgroundJob, drain_id).status == "failed"
        assert session.get(Webhook, hook["id"]).drain_job_id != drain_id


def test_lingering_drain_sends_the_next_event_without_a_new_job(people, receiver,
                                                                cvatcore_app):
    _, ann = people.user()
    project, hook, _ = _setup(ann, receiver, ["update:project"])
    state = cvatcore_app.state.cvatcore
    settings = state.settings.webhooks
    settings.linger_seconds = 5.0
    try:
        ann.patch(f"/api/projects/{project['id']}", json={"name": "first"})
        runner = JobRunner(state)
        worker = threading.Thread(target=runner.run_one)
        worker.start()
        receiver.wait_for(1)
        with state.db.unit_of_work() as session:
            drain_id = session.get(Webhook, hook["id"]).drain_job_id
        ann.patch(f"/api/projects/{project['id']}", json={"name": "second"})
        received = receiver.wait_for(2, timeout=3)
        settings.linger_seconds = 0.0  # let the drain end
        worker.join(timeout=10)
        assert not worker.is_alive()
    finally:
        settings.linger_seconds = 0.0
    assert [json.loads(r.body)["project"]["name"] for r in received] == ["first", "second"]
    with state.db.unit_of_work() as session:
        drains = session.scalars(select(BackgroundJob.id).where(
            BackgroundJob.kind == "deliver:webhook",
            BackgroundJob.args["webhook_id"].as_integer() == hook["id"])).all()
    assert drains == [drain_id]  # the second event went out through the same drain


def test_a_drain_takes_over_the_next_webhook_in_order(people, receiver, cvatcore_app):
    _, ann = people.user()
    first, hook_a, _ = _setup(ann, receiver, ["update:project"])
    second, hook_b, _ = _setup(ann, receiver, ["update:project"])
    for name in ("a1", "a2"):
        ann.patch(f"/api/projects/{first['id']}", json={"name": name})
    for name in ("b1", "b2"):
        ann.patch(f"/api/projects/{second['id']}", json={"name": name})
    state = cvatcore_app.state.cvatcore
    with state.db.unit_of_work() as session:
        queued_b = session.get(Webhook, hook_b["id"]).drain_job_id
    assert JobRunner(state).run_one()  # one job: webhook A's drain, then B's
    assert [json.loads(r.body)["project"]["name"] for r in receiver.requests] == [
        "a1", "a2", "b1", "b2"]
    with state.db.unit_of_work() as session:
        job_b = session.get(BackgroundJob, queued_b)
        assert job_b.status == "finished" and "taken over" in job_b.message
        assert session.get(Webhook, hook_a["id"]).drain_job_id is None
        assert session.get(Webhook, hook_b["id"]).drain_job_id is None
