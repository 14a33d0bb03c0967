"""Domain events: one per object created, changed or deleted, none for a failed request."""

from __future__ import annotations

from typing import Any

import pytest

from cvatcore.core.errors import ValidationFailed
from cvatcore.core.models import Project

from .support import Domain, EventLog, unique


@pytest.fixture
def log(events: EventLog) -> EventLog:
    events.clear()
    return events


def test_create_change_and_delete_publish_once_each(domain: Domain, log: EventLog) -> None:
    user_id, client = domain.user()
    log.clear()
    r = client.post("/api/projects", json={"name": unique(), "labels": [
        {"name": "a"}, {"name": "s", "type": "skeleton", "sublabels": [{"name": "p"}]}]})
    pid = r.json()["id"]
    scopes = [scope for scope, _ in log.scopes()]
    assert scopes.count("create:project") == 1 and scopes.count("create:label") == 3
    event = next(e for e in log.committed if e.scope == "create:project")
    assert event.obj_id == pid and event.actor_id == user_id and event.before is None
    assert event.after is not None and event.after["name"] == r.json()["name"]
    assert event.request_id == r.headers["x-request-id"]

    log.clear()
    client.patch(f"/api/projects/{pid}", json={"name": "renamed"})
    assert log.scopes() == [("update:project", pid)]
    assert log.committed[0].before["name"] != "renamed"
    assert log.committed[0].after["name"] == "renamed"

    tid = client.post("/api/tasks", json={"name": unique(), "project_id": pid}).json()["id"]
    jobs = domain.add_data(tid, 4)
    log.clear()
    client.patch(f"/api/jobs/{jobs[0]}", json={"state": "in progress"})
    assert log.scopes() == [("update:job", jobs[0])]

    log.clear()
    assert client.delete(f"/api/projects/{pid}").status_code == 204
    assert log.scopes() == [("delete:project", pid)]  # its task, jobs and labels go with it
    assert log.committed[0].before["id"] == pid and log.committed[0].after is None


def test_events_carry_the_organization(domain: Domain, log: EventLog) -> None:
    _, client = domain.user()
    slug = unique("evo")
    org_id = client.post("/api/organizations", json={"slug": slug}).json()["id"]
    log.clear()
    client.post("/api/tasks", json={"name": unique(), "labels": [{"name": "x"}]},
                headers={"X-Organization": slug})
    assert {e.scope for e in log.committed} == {"create:task", "create:label"}
    assert {e.org_id for e in log.committed} == {org_id}


def test_a_failed_request_publishes_nothing(domain: Domain, log: EventLog) -> None:
    _, client = domain.user()
    pid = client.post("/api/projects", json={"name": unique()}).json()["id"]

    def refuse(connection: Any, event: Any) -> None:
        if event.scope == "update:project" and event.after["name"] == "boom":
            raise ValidationFailed.field("name", "refused by a subscriber")

    domain.app.state.cvatcore.bus.subscribe(refuse)
    log.clear()
    r = client.patch(f"/api/projects/{pid}", json={"name": "boom"})
    assert r.status_code == 400
    assert [e.scope for e in log.published] == ["update:project"]  # it was announced...
    assert log.committed == []  # ...but rolled back with the change
    with domain.db.unit_of_work() as session:
        project = session.get(Project, pid)
        assert project is not None and project.name != "boom"
    log.clear()
    assert client.post("/api/projects", json={"name": ""}).status_code == 400
    assert log.published == [] and log.committed == []
