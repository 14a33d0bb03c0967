"""Exporting the event log as CSV: CVAT's two flows, its filters and who sees what."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cvatcore.hooks import EVENT_FIELDS
from cvatcore.hooks.testing import ApiClient

from .support import Analytics, unique


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _legacy_export(analytics: Analytics, client: ApiClient, **params: Any) -> str:
    r = client.get("/api/events", params=params)
    assert r.status_code == 202, r.text
    query_id = r.json()["query_id"]
    analytics.drain()
    r = client.get("/api/events", params={"query_id": query_id})
    assert r.status_code == 201
    r = client.get("/api/events", params={"query_id": query_id, "action": "download"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    gone = client.get("/api/events", params={"query_id": query_id})
    assert gone.status_code == 404  # downloaded once, then forgotten
    return r.text


def _rq_export(analytics: Analytics, client: ApiClient, **params: Any) -> str:
    r = client.post("/api/events/export", params=params)
    assert r.status_code == 202, r.text
    rq_id = r.json()["rq_id"]
    analytics.drain()
    request = client.get(f"/api/requests/{rq_id}").json()
    assert request["status"] == "finished", request
    r = client.get(request["result_url"])
    assert r.status_code == 200
    return r.text


def test_both_flows_give_cvat_csv_with_filters(analytics: Analytics) -> None:
    user_id, client = analytics.user()
    pids = [client.post("/api/projects", json={"name": unique("p")}).json()["id"]
            for _ in range(2)]
    analytics.drain()
    text = _legacy_export(analytics, client, project_id=pids[0])
    assert text.splitlines()[0] == ",".join(EVENT_FIELDS)
    rows = _rows(text)
    assert [(r["scope"], r["project_id"]) for r in rows] == [("create:project", str(pids[0]))]
    assert rows[0]["user_id"] == str(user_id)
    rows = _rows(_rq_export(analytics, client))
    assert {str(p) for p in pids} <= {r["project_id"] for r in rows}
    assert [r["timestamp"] for r in rows] == sorted(r["timestamp"] for r in rows)
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert _rows(_rq_export(analytics, client, **{"from": later})) == []


def test_users_see_their_own_events_and_maintainers_their_orgs(analytics: Analytics) -> None:
    alice_id, alice = analytics.user()
    bob_id, bob = analytics.user()
    slug = unique("o")
    org_id = alice.post("/api/organizations", json={"slug": slug}).json()["id"]
    alice.post("/api/invitations", json={"role": "worker", "email": f"{_name(analytics, bob_id)}"
                                         "@example.com"}, headers={"X-Organization": slug})
    key = next(i["key"] for i in bob.get("/api/invitations").json()["results"])
    assert bob.post(f"/api/invitations/{key}/accept").status_code == 200
    org = {"X-Organization": slug}
    bob.post("/api/projects", json={"name": unique("bp")}, headers=org)
    alice.post("/api/projects", json={"name": unique("ap")}, headers=org)
    bob.post("/api/projects", json={"name": unique("sandbox")})
    analytics.drain()
    mine = _rows(_rq_export(analytics, bob))  # sandbox: only his own
    assert {r["user_id"] for r in mine} == {str(bob_id)}
    bob.headers.update(org)  # a worker in the organization: his own there
    in_org = _rows(_rq_export(analytics, bob))
    assert {(r["user_id"], r["org_id"]) for r in in_org} == {(str(bob_id), str(org_id))}
    assert _rows(_rq_export(analytics, bob, user_id=alice_id)) == []
    alice.headers.update(org)  # the owner: everyone's in the organization
    everyone = _rows(_rq_export(analytics, alice))
    assert {str(alice_id), str(bob_id)} <= {r["user_id"] for r in everyone}
    assert {r["org_id"] for r in everyone} == {str(org_id)}


def _name(analytics: Analytics, user_id: int) -> str:
    from cvatcore.core.models import User

    with analytics.db.unit_of_work(write=False) as session:
        user = session.get(User, user_id)
        assert user is not None
        return user.username


def test_bad_export_parameters_are_400s(analytics: Analytics) -> None:
    _, client = analytics.user()
    now = datetime.now(UTC)
    bad = [{"from": now.isoformat(), "to": (now - timedelta(days=1)).isoformat()},
           {"from": "not a date"}, {"action": "upload"}, {"task_id": "x"}]
    for params in bad:
        assert client.get("/api/events", params=params).status_code == 400, params
    assert client.post("/api/events/export", params={"location": "cloud_storage"}
                       ).status_code == 400
    assert client.get("/api/events", params={"query_id": "nope"}).status_code == 404


def test_an_export_nobody_downloads_is_removed_after_its_keep_time(
        analytics: Analytics) -> None:
    from sqlalchemy import select, update

    from cvatcore.core.models import BackgroundJob
    from cvatcore.core.models.base import as_utc, utcnow
    from cvatcore.core.services import events_export

    _, client = analytics.user(("admin",))
    client.post("/api/projects", json={"name": unique("p")})
    r = client.post("/api/events/export")
    rq_id = r.json()["rq_id"]
    analytics.drain()
    request = client.get(f"/api/requests/{rq_id}").json()
    assert request["status"] == "finished"
    key = events_export.file_key(rq_id)
    assert analytics.state.media.stat(key).size > 0
    cleanup = BackgroundJob.kind == events_export.CLEANUP_KIND
    with analytics.db.unit_of_work() as session:
        due = [as_utc(j.next_run_at) for j in session.scalars(select(BackgroundJob).where(
            cleanup, BackgroundJob.args["export"].as_string() == rq_id))]
    keep = timedelta(hours=analytics.state.settings.analytics.export_keep_hours)
    assert len(due) == 1 and abs(due[0] - (utcnow() + keep)) < timedelta(minutes=1)
    analytics.drain()  # not due yet: the file stays
    assert analytics.state.media.stat(key).size > 0
    assert client.get(f"/api/requests/{rq_id}").json()["status"] == "finished"
    listed = [r["operation"]["type"] for r in client.get("/api/requests").json()["results"]]
    assert events_export.CLEANUP_KIND not in listed  # housekeeping, not an admin's request
    with analytics.db.unit_of_work() as session:  # the keep time has passed
        session.execute(update(BackgroundJob).where(cleanup).values(next_run_at=utcnow()))
    analytics.drain()
    with pytest.raises(FileNotFoundError):
        analytics.state.media.stat(key)
    assert client.get(f"/api/requests/{rq_id}").status_code == 404
    assert client.get(request["result_url"]).status_code == 404
