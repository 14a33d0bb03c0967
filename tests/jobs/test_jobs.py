"""Background jobs: queued in a request's transaction, run by workers, seen in /api/requests."""

from __future__ import annotations

import threading
import time
import types
from datetime import timedelta

import pytest
from sqlalchemy import update

from cvatcore.core.api.context import endpoint
from cvatcore.core.api.responses import JSON
from cvatcore.core.errors import ValidationFailed
from cvatcore.core.jobs.queue import enqueue, request_id
from cvatcore.core.jobs.runner import JobRunner
from cvatcore.core.models import BackgroundJob
from cvatcore.core.models.base import utcnow
from cvatcore.core.services.caller import Caller
from cvatcore.hooks import JobFailed, hookimpl
from cvatcore.hooks.testing.harness import ApiClient

RUNS: dict[str, int] = {}


def _work(job):
    RUNS[job.id] = RUNS.get(job.id, 0) + 1
    mode = job.args.get("mode")
    if mode == "fail":
        raise JobFailed("The input is not an image.")
    if mode == "flaky" and job.attempt == 1:
        raise RuntimeError("secret-token-in-url https://key:s3cr3t@example.com")
    if mode == "slow":
        time.sleep(0.05)
    job.progress(0.5, "half way")
    return {"result_id": job.args.get("n", 7)}


def _queue(ctx):
    data = ctx.data
    job = enqueue(ctx.caller.session, job_id=request_id("create", "thing", data["n"]),
                  kind="test:work",
                  args=data, operation={"type": "create:thing", "target": "thing"},
                  owner_id=ctx.user.id)
    if data.get("then_fail"):
        raise ValidationFailed({"detail": "refused"})
    return JSON({"rq_id": job.id}, status_code=202)


PLUGIN = types.SimpleNamespace(
    register_job_kinds=hookimpl(lambda register: register("test:work", _work)),
    register_routes=hookimpl(
        lambda register: register("/api/test/things", endpoint(_queue), methods=["POST"])),
)


@pytest.fixture
def app(register_plugin, cvatcore_settings):
    RUNS.clear()
    with register_plugin(PLUGIN, "jobs-test", settings=cvatcore_settings) as app:
        from cvatcore.core.services.accounts import create_user

        with app.state.cvatcore.db.unit_of_work() as session:
            caller = Caller.system(app.state.cvatcore, session)
            create_user(caller, "ann", "ann-pass", email="ann@example.com")
            create_user(caller, "bob", "bob-pass", email="bob@example.com")
        yield app


@pytest.fixture
def client(app):
    with ApiClient(app) as client:  # the lifespan starts an in-process worker
        client.login("ann", "ann-pass")
        yield client


def _wait(client, rq_id, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(f"/api/requests/{rq_id}").json()
        if body["status"] in ("finished", "failed"):
            return body
        time.sleep(0.05)
    raise AssertionError(f"request {rq_id} did not finish: {body}")


def test_hook_register_job_kinds_queued_work_runs_and_is_reported_as_cvat_does(client):
    rq_id = client.post("/api/test/things", json={"n": 11}).json()["rq_id"]
    assert rq_id == "action=create&target=thing&id=11"
    body = _wait(client, rq_id)
    assert body["status"] == "finished" and body["result_id"] == 11
    assert body["progress"] == 1.0 and body["owner"]["username"] == "ann"
    assert body["operation"]["type"] == "create:thing"
    assert body["finished_date"] and body["expiry_date"] and body["started_date"]
    listed = client.get("/api/requests", params={"status": "finished"}).json()
    assert [r["id"] for r in listed["results"]] == [rq_id]


def test_a_failed_request_queues_nothing(client):
    response = client.post("/api/test/things", json={"n": 12, "then_fail": True})
    assert response.status_code == 400
    assert client.get(f"/api/requests/{request_id('create', 'thing', 12)}").status_code == 404


def test_user_facing_failure_is_reported_without_retry(client):
    rq_id = client.post("/api/test/things", json={"n": 13, "mode": "fail"}).json()["rq_id"]
    body = _wait(client, rq_id)
    assert (body["status"], body["message"]) == ("failed", "The input is not an image.")
    assert RUNS[rq_id] == 1


def test_unexpected_errors_are_retried_and_never_leak_their_text(app, caplog):
    with app.state.cvatcore.db.unit_of_work() as session:
        enqueue(session, job_id="flaky-1", kind="test:work", args={"mode": "flaky", "n": 3})
    runner = JobRunner(app.state.cvatcore)
    assert runner.run_one()
    with app.state.cvatcore.db.unit_of_work() as session:
        row = session.get(BackgroundJob, "flaky-1")
        assert row.status == "queued" and "s3cr3t" not in row.message
        row.next_run_at = utcnow()  # skip the back-off
    assert runner.run_one()
    with app.state.cvatcore.db.unit_of_work() as session:
        row = session.get(BackgroundJob, "flaky-1")
        assert (row.status, row.attempts, row.result_id) == ("finished", 2, 3)


def test_a_job_whose_worker_died_is_taken_again_after_its_lease(app):
    state = app.state.cvatcore
    with state.db.unit_of_work() as session:
        enqueue(session, job_id="orphan", kind="test:work", args={"n": 5})
    dead = JobRunner(state, name="dead-worker")
    assert dead.claim() is not None  # claimed, then the worker "dies"
    other = JobRunner(state)
    assert other.claim() is None  # leased: nobody else takes it
    with state.db.unit_of_work() as session:
        session.execute(update(BackgroundJob).values(lease_until=utcnow() - timedelta(seconds=1)))
    assert other.run_one()
    with state.db.unit_of_work() as session:
        row = session.get(BackgroundJob, "orphan")
        assert (row.status, row.lease_owner, row.attempts) == ("finished", other.name, 2)


def test_concurrent_workers_run_each_job_exactly_once(app):
    state = app.state.cvatcore
    ids = [f"many-{i}" for i in range(24)]
    with state.db.unit_of_work() as session:
        for job_id in ids:
            enqueue(session, job_id=job_id, kind="test:work", args={"mode": "slow"})
    runners = [JobRunner(state) for _ in range(4)]
    threads = [threading.Thread(target=r.run_until_idle) for r in runners]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [RUNS.get(i) for i in ids] == [1] * len(ids)


def test_requests_are_private_and_only_queued_ones_can_be_cancelled(app):
    with ApiClient(app) as ann, ApiClient(app) as bob:
        ann.login("ann", "ann-pass")
        bob.login("bob", "bob-pass")
        # Queue directly (no worker picks it before we look): the kind is unknown to it.
        with app.state.cvatcore.db.unit_of_work() as session:
            ann_id = ann.get("/api/users/self").json()["id"]
            enqueue(session, job_id="waiting", kind="test:unknown-kind", owner_id=ann_id)
        assert bob.get("/api/requests/waiting").status_code == 404
        assert bob.get("/api/requests").json()["count"] == 0
        assert ann.post("/api/requests/waiting/cancel").status_code == 200
        assert ann.get("/api/requests/waiting").status_code == 404
        rq_id = ann.post("/api/test/things", json={"n": 21}).json()["rq_id"]
        _wait(ann, rq_id)
        refused = ann.post(f"/api/requests/{rq_id}/cancel")
        assert refused.status_code == 400 and "finished" in refused.json()["detail"]


def test_the_same_work_twice_while_queued_is_a_conflict(app):
    with ApiClient(app) as ann:
        ann.login("ann", "ann-pass")
        with app.state.cvatcore.db.unit_of_work() as session:
            enqueue(session, job_id=request_id("create", "thing", 30), kind="test:unknown-kind")
        again = ann.post("/api/test/things", json={"n": 30})
        assert again.status_code == 409


def test_a_worker_that_lost_its_job_stops_and_writes_nothing(register_plugin, tmp_path,
                                                            cvatcore_database_url):
    """The heartbeat finds the job in other hands (this worker stalled past its lease and was
    taken over): the handler is stopped at its next check and its final writes are refused."""
    from cvatcore.core.jobs.runner import JobLost
    from cvatcore.hooks.testing.harness import test_settings

    seen: dict[str, object] = {}
    taken = threading.Event()

    def hold(job):
        taken.set()
        try:
            while True:
                job.check()
                time.sleep(0.01)
        except JobLost:
            seen["stopped"] = True
        with job.state.db.unit_of_work() as session:
            job.guard(session)  # raises: nothing below is written
            seen["wrote"] = True

    plugin = types.SimpleNamespace(
        register_job_kinds=hookimpl(lambda register: register("test:hold", hold)))
    settings = test_settings(tmp_path, cvatcore_database_url,
                             jobs={"in_process_workers": 0, "lease_seconds": 0.6})
    with register_plugin(plugin, "hold-test", settings=settings) as app:
        state = app.state.cvatcore
        with state.db.unit_of_work() as session:
            enqueue(session, job_id="held", kind="test:hold")
        runner = JobRunner(state)
        thread = threading.Thread(target=runner.run_one)
        thread.start()
        assert taken.wait(10)
        with state.db.unit_of_work() as session:  # another worker took the job over
            session.execute(update(BackgroundJob).values(
                lease_owner="other-worker", lease_until=utcnow() + timedelta(minutes=5)))
        thread.join(10)
        assert not thread.is_alive() and seen == {"stopped": True}
        with state.db.unit_of_work(write=False) as session:
            row = session.get(BackgroundJob, "held")
            assert (row.status, row.lease_owner) == ("started", "other-worker")


def test_a_job_whose_worker_keeps_dying_is_failed_not_run_again(app):
    state = app.state.cvatcore
    with state.db.unit_of_work() as session:
        enqueue(session, job_id="poison", kind="test:work", args={"n": 6}, max_attempts=1)
    assert JobRunner(state, name="dead-worker").claim() is not None
    with state.db.unit_of_work() as session:
        session.execute(update(BackgroundJob).values(lease_until=utcnow() - timedelta(seconds=1)))
    assert not JobRunner(state).run_one()
    assert "poison" not in RUNS
    with state.db.unit_of_work(write=False) as session:
        row = session.get(BackgroundJob, "poison")
        assert row.status == "failed"
        assert "its worker stopped during each attempt (1)" in row.message
