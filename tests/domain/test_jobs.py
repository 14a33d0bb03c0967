"""``/api/jobs``: read, list (fixed number of queries), change stage/state/assignee, delete."""

from __future__ import annotations

from typing import Any

from cvat_sdk.api_client import models
from sqlalchemy import event

from cvatcore.core.models import Job, Segment, User

from .support import Domain, results, sdk_model, unique


def _task_with_jobs(domain: Domain, client: Any, frames: int = 10, size: int = 5,
                    project: bool = False) -> tuple[int, list[int]]:
    body: dict[str, Any] = {"name": unique("jt")}
    if project:
        body["project_id"] = client.post("/api/projects", json={"name": unique()}).json()["id"]
    tid = client.post("/api/tasks", json=body).json()["id"]
    return tid, domain.add_data(tid, frames, segment_size=size)


def test_read_a_job(domain: Domain) -> None:
    _, client = domain.user()
    tid, jobs = _task_with_jobs(domain, client, project=True)
    body = client.get(f"/api/jobs/{jobs[1]}").json()
    job = sdk_model(body, models.JobRead)
    assert job.task_id == tid and job.start_frame == 5 and job.stop_frame == 9
    assert body["frame_count"] == 5 and body["stage"] == "annotation" and body["state"] == "new"
    assert body["status"] == "annotation" and body["type"] == "annotation"
    assert body["project_id"] is not None and body["issues"] == {
        "count": 0, "url": body["issues"]["url"]}
    assert body["labels"]["url"].endswith(f"/api/labels?job_id={jobs[1]}")
    assert client.get("/api/jobs/999999999").status_code == 404


def test_stage_and_state_drive_the_status(domain: Domain) -> None:
    _, client = domain.user()
    tid, jobs = _task_with_jobs(domain, client)
    job = f"/api/jobs/{jobs[0]}"
    r = client.patch(job, json={"state": "in progress"})
    assert (r.json()["state"], r.json()["status"]) == ("in progress", "annotation")
    r = client.patch(job, json={"stage": "validation"})
    assert (r.json()["stage"], r.json()["state"], r.json()["status"]) == (
        "validation", "new", "validation")
    r = client.patch(job, json={"stage": "acceptance", "state": "completed"})
    assert (r.json()["state"], r.json()["status"]) == ("completed", "completed")
    r = client.patch(job, json={"stage": "annotation"})
    assert (r.json()["state"], r.json()["status"]) == ("new", "annotation")
    for other in jobs:
        client.patch(f"/api/jobs/{other}", json={"stage": "acceptance", "state": "completed"})
    task = client.get(f"/api/tasks/{tid}").json()
    assert task["status"] == "completed" and task["jobs"]["completed"] == len(jobs)
    assert client.patch(job, json={"stage": "done"}).status_code == 400
    assert client.patch(job, json={"state": None}).status_code == 400


def test_assignee(domain: Domain) -> None:
    _, client = domain.user()
    worker_id, worker = domain.user(("worker",))
    _, jobs = _task_with_jobs(domain, client)
    assert worker.get(f"/api/jobs/{jobs[0]}").status_code == 403
    r = client.patch(f"/api/jobs/{jobs[0]}", json={"assignee": worker_id})
    assert r.status_code == 200 and r.json()["assignee"]["id"] == worker_id
    assert r.json()["assignee_updated_date"]
    assert [j["id"] for j in results(worker.get("/api/jobs"))] == [jobs[0]]
    assert worker.patch(f"/api/jobs/{jobs[0]}", json={"state": "completed"}).status_code == 200
    assert worker.patch(f"/api/jobs/{jobs[0]}", json={"stage": "validation"}).status_code == 403
    assert client.patch(f"/api/jobs/{jobs[0]}", json={"assignee": 999_999}).status_code == 400


def test_only_ground_truth_jobs_are_deleted(domain: Domain) -> None:
    _, client = domain.user()
    _, jobs = _task_with_jobs(domain, client)
    assert client.delete(f"/api/jobs/{jobs[0]}").status_code == 400
    with domain.db.unit_of_work() as session:
        job = session.get(Job, jobs[1])
        assert job is not None
        job.type = "ground_truth"
    assert client.delete(f"/api/jobs/{jobs[1]}").status_code == 204
    assert client.get(f"/api/jobs/{jobs[1]}").status_code == 404
    assert domain.count(Segment) == domain.count(Job)


def test_list_filters(domain: Domain) -> None:
    _, client = domain.user()
    worker_id, _ = domain.user(("worker",))
    tid, jobs = _task_with_jobs(domain, client, frames=15)
    client.patch(f"/api/jobs/{jobs[2]}", json={"stage": "validation", "assignee": worker_id})
    assert [j["id"] for j in results(client.get(f"/api/jobs?task_id={tid}&sort=-id"))] == (
        jobs[::-1])
    assert [j["id"] for j in results(client.get(f"/api/jobs?task_id={tid}&stage=validation"))] == [
        jobs[2]]
    name = domain.username(worker_id)
    assert [j["id"] for j in results(client.get(f"/api/jobs?assignee={name}"))] == [jobs[2]]
    assert len(results(client.get(f"/api/jobs?task_id={tid}&state=new&type=annotation"))) == 3
    flt = '{"and":[{"==":[{"var":"task_id"},' + str(tid) + ']},{">=":[{"var":"id"},' + str(
        jobs[1]) + "]}]}"
    assert [j["id"] for j in results(client.get("/api/jobs", params={"filter": flt,
                                                                     "sort": "id"}))] == jobs[1:]
    page = client.get(f"/api/jobs?task_id={tid}&page_size=2&page=2").json()
    assert page["count"] == 3 and len(page["results"]) == 1
    assert client.get("/api/jobs?stage=nonsense&task_id=" + str(tid)).json()["count"] == 0
    assert client.get("/api/jobs?task_id=x").status_code == 400


def test_a_page_of_jobs_costs_a_fixed_number_of_queries(domain: Domain) -> None:
    _, client = domain.user()
    counts = []
    for frames in (4, 60):
        tid, _ = _task_with_jobs(domain, client, frames=frames, size=2)
        statements: list[str] = []
        engine = domain.db.engine

        def count(*args: Any, seen: list[str] = statements) -> None:
            seen.append(str(args[2]))

        event.listen(engine, "before_cursor_execute", count)
        try:
            page = client.get(f"/api/jobs?task_id={tid}&page_size=100").json()
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert len(page["results"]) == frames // 2
        assert any("FROM jobs" in s for s in statements), statements  # the page was seen
        counts.append(len(statements))
    assert counts[0] == counts[1]


def test_a_listed_job_reads_as_the_job_itself(domain: Domain) -> None:
    """A page of jobs is written as text, not through a JSON encoder: the frame count of a
    ground-truth job (a segment of chosen frames) and an assignee whose names need escaping
    read the same in the list as from the job's own endpoint."""
    _, client = domain.user()
    worker_id, _ = domain.user(("worker",))
    tid, jobs = _task_with_jobs(domain, client, frames=15)
    with domain.db.unit_of_work() as session:
        job = session.get(Job, jobs[1])
        assert job is not None
        segment = session.get(Segment, job.segment_id)
        assert segment is not None
        segment.type, segment.frames, job.type = "specific_frames", [5, 7, 9], "ground_truth"
        assignee = session.get(User, worker_id)
        assert assignee is not None
        assignee.first_name, assignee.last_name = 'Zoë "Z" \\ \u2028', "\t<o'brien>"
    assert client.patch(f"/api/jobs/{jobs[1]}", json={"assignee": worker_id}).status_code == 200
    listed = {j["id"]: j for j in results(client.get(f"/api/jobs?task_id={tid}"))}
    for job_id in jobs:
        assert listed[job_id] == client.get(f"/api/jobs/{job_id}").json()
    assert listed[jobs[1]]["frame_count"] == 3 and listed[jobs[0]]["frame_count"] == 5
    assert listed[jobs[1]]["assignee"]["first_name"] == 'Zoë "Z" \\ \u2028'
