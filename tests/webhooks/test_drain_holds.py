"""One drain holds several webhooks: with more busy webhooks than workers, a worker's drain
keeps every webhook it was given and sends each event as soon as it is committed, in order
per webhook, instead of handing webhooks over (one job per hand-over, each event waiting
for its webhook's turn: the p99 of bench/webhooks.py)."""

from __future__ import annotations

import json
import threading
import time

from sqlalchemy import select

from cvatcore.core.jobs.runner import InProcessWorkers, JobRunner
from cvatcore.core.models import BackgroundJob
from cvatcore.hooks.testing.receiver import http_receiver


def _webhook(client, receiver, path: str) -> tuple[dict, dict]:
    project = client.post("/api/projects", json={"name": "p"}).json()
    hook = client.post("/api/webhooks", json={
        "target_url": f"{receiver.url}/{path}", "type": "project",
        "project_id": project["id"], "events": ["update:project"]})
    assert hook.status_code == 201, hook.text
    return project, hook.json()


def test_one_worker_keeps_two_busy_webhooks_in_one_drain(people, receiver, cvatcore_app):
    _, ann = people.user()
    first, hook_a = _webhook(ann, receiver, "a")
    second, hook_b = _webhook(ann, receiver, "b")
    state = cvatcore_app.state.cvatcore
    settings = state.settings.webhooks
    settings.linger_seconds = 5.0
    try:
        ann.patch(f"/api/projects/{first['id']}", json={"name": "a0"})
        worker = threading.Thread(target=JobRunner(state).run_one)  # one job, one worker
        worker.start()
        receiver.wait_for(1)
        for i in range(1, 4):
            ann.patch(f"/api/projects/{first['id']}", json={"name": f"a{i}"})
            ann.patch(f"/api/projects/{second['id']}", json={"name": f"b{i}"})
        received = receiver.wait_for(7, timeout=10)
        settings.linger_seconds = 0.0  # let the drain end
        worker.join(timeout=10)
        assert not worker.is_alive()
    finally:
        settings.linger_seconds = 0.0
    names = {path: [json.loads(r.body)["project"]["name"] for r in received if r.path == path]
             for path in ("/a", "/b")}
    assert names == {"/a": ["a0", "a1", "a2", "a3"], "/b": ["b1", "b2", "b3"]}
    with state.db.unit_of_work() as session:
        drains = session.scalars(select(BackgroundJob).where(
            BackgroundJob.kind == "deliver:webhook",
            BackgroundJob.args["webhook_id"].as_integer().in_([hook_a["id"], hook_b["id"]]))
        ).all()
    # A's drain, and B's queued one that it took over unrun: no job per hand-over.
    assert len(drains) == 2
    assert all(d.status == "finished" for d in drains)
    for hook in (hook_a, hook_b):
        deliveries = ann.get(f"/api/webhooks/{hook['id']}/deliveries").json()["results"]
        assert {d["status_code"] for d in deliveries} == {200}


def test_a_slow_receiver_does_not_hold_up_the_webhooks_held_with_it(people, receiver,
                                                                    cvatcore_app):
    """Once a receiver takes a second to answer, its drain hands the other webhooks it holds
    to other workers: their events arrive at once while the slow one's still trickle (here
    2 s an answer: without the hand-over they wait behind those answers)."""
    _, ann = people.user()
    state = cvatcore_app.state.cvatcore
    settings = state.settings.webhooks
    settings.linger_seconds = 5.0
    workers = InProcessWorkers(state, 1)
    with http_receiver() as slow:
        first, _ = _webhook(ann, slow, "a")
        second, _ = _webhook(ann, receiver, "b")
        try:
            ann.patch(f"/api/projects/{first['id']}", json={"name": "a0"})
            ann.patch(f"/api/projects/{second['id']}", json={"name": "b0"})
            holder = threading.Thread(target=JobRunner(state).run_one)
            holder.start()  # one drain, which takes both webhooks
            slow.wait_for(1)
            receiver.wait_for(1)
            slow.delay = 2.0
            workers.start()  # a worker for what the slow drain hands over
            for i in range(1, 4):
                ann.patch(f"/api/projects/{first['id']}", json={"name": f"a{i}"})
            slow.wait_for(2)
            time.sleep(slow.delay + 0.2)  # a1 answered: the receiver has been slow
            made = {}
            for i in range(1, 6):
                time.sleep(0.3)
                ann.patch(f"/api/projects/{second['id']}", json={"name": f"b{i}"})
                made[f"b{i}"] = time.time()
            arrived = {json.loads(r.body)["project"]["name"]: r.at
                       for r in receiver.wait_for(6, timeout=15)}
            slow.wait_for(4, timeout=20)
        finally:
            settings.linger_seconds = 0.0
            slow.delay = 0.0
            workers.stop()
            holder.join(timeout=15)
    late = {name: round(arrived[name] - made[name], 2) for name in made}
    assert max(late.values()) < 1.0, late
    assert [json.loads(r.body)["project"]["name"] for r in slow.requests] == [
        "a0", "a1", "a2", "a3"]
