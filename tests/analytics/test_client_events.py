"""``POST /api/events``: CVAT's client scopes only, stamped with the requester, working time
by CVAT's rules; bad input is a 4xx that stores nothing of the batch."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cvatcore.core.services.working_time import working_time_per_ids

from .support import Analytics, unique


def _at(seconds: float) -> str:
    return (datetime.now(UTC) - timedelta(minutes=10) + timedelta(seconds=seconds)).isoformat()


def _batch(*events: dict[str, Any], previous: Any = None) -> dict[str, Any]:
    return {"events": list(events), "previous_event": previous,
            "timestamp": datetime.now(UTC).isoformat()}


def test_client_events_are_stamped_and_stored(analytics: Analytics) -> None:
    user_id, client = analytics.user()
    slug = unique("org")
    org_id = client.post("/api/organizations", json={"slug": slug}).json()["id"]
    body = _batch({"scope": "load:job", "timestamp": _at(0), "job_id": 7, "task_id": 3,
                   "payload": json.dumps({"k": 1}), "user_id": 999},
                  {"scope": "click:element", "timestamp": _at(2), "job_id": 7, "task_id": 3})
    r = client.post("/api/events", json=body, headers={"X-Organization": slug})
    assert r.status_code == 201, r.text
    assert [e["scope"] for e in r.json()["events"]] == ["load:job", "click:element"]
    stored = analytics.outbox(source="client", user_id=user_id)
    assert {e["scope"] for e in stored} == {"load:job", "click:element", "send:working_time"}
    assert all(e["org_id"] == org_id and e["org_slug"] == slug for e in stored)
    (work,) = [e for e in stored if e["scope"] == "send:working_time"]
    assert work["duration"] == 2000 and json.loads(work["payload"]) == {"working_time": 2000}
    assert (work["job_id"], work["task_id"]) == (7, 3)


def test_clock_skew_is_corrected(analytics: Analytics) -> None:
    user_id, client = analytics.user()
    ahead = datetime.now(UTC) + timedelta(hours=3)  # the client's clock runs 3 h fast
    body = {"events": [{"scope": "load:cvat", "timestamp": ahead.isoformat()}],
            "timestamp": (ahead + timedelta(seconds=1)).isoformat()}
    assert client.post("/api/events", json=body).status_code == 201
    (event,) = analytics.outbox(scope="load:cvat", user_id=user_id)
    stamp = datetime.fromisoformat(event["timestamp"].replace("Z", "+00:00"))
    assert abs((datetime.now(UTC) - timedelta(seconds=1) - stamp).total_seconds()) < 5


@pytest.mark.parametrize("bad, status, names", [
    ({"scope": "create:task", "timestamp": "T"}, 400, "create:task"),
    ({"scope": "load:job", "timestamp": "yesterday"}, 400, "timestamp"),
    ({"scope": "load:job", "timestamp": "F", "job_id": "seven"}, 400, "job_id"),
    ({"scope": "load:job", "timestamp": "F", "duration": -1}, 400, "duration"),
    ({"scope": "load:job", "timestamp": "F", "payload": "{not json"}, 400, "payload"),
    ({"scope": "load:job", "timestamp": "future"}, 400, "future"),
    ({"scope": "load:job", "timestamp": "F", "payload": json.dumps({"x": "y" * (10 << 20)})},
     413, "limit"),
])
def test_bad_input_stores_nothing_of_the_batch(analytics: Analytics, bad: dict[str, Any],
                                               status: int, names: str) -> None:
    user_id, client = analytics.user()
    good = {"scope": "load:cvat", "timestamp": _at(0)}
    fill = {"T": _at(1), "F": _at(1), "future": (datetime.now(UTC) + timedelta(days=2))
            .isoformat()}
    bad = {**bad, "timestamp": fill.get(bad["timestamp"], bad["timestamp"])}
    r = client.post("/api/events", json=_batch(good, bad))
    assert r.status_code == status and names in r.text
    assert analytics.outbox(user_id=user_id, source="client") == []


def test_not_a_list_or_no_timestamp_is_a_400(analytics: Analytics) -> None:
    _, client = analytics.user()
    assert client.post("/api/events", json={"events": {}, "timestamp": _at(0)}).status_code == 400
    assert client.post("/api/events", json={"events": []}).status_code == 400
    assert client.post("/api/events", content=b"[1]",
                       headers={"content-type": "application/json"}).status_code == 400


def _ev(scope: str, seconds: float, **ids: Any) -> dict[str, Any]:
    base = datetime(2026, 1, 1, tzinfo=UTC)
    return {"scope": scope, "timestamp": base + timedelta(seconds=seconds), **ids}


def test_working_time_follows_cvat_rules() -> None:
    # gaps under 100 s count, longer ones do not; change:frame spans its duration
    events = [_ev("load:job", 0, job_id=1), _ev("click:element", 50, job_id=1),
              _ev("click:element", 200, job_id=1),
              _ev("change:frame", 210, job_id=2, duration=5000),
              _ev("click:element", 212, job_id=2)]
    result = working_time_per_ids(events, None)
    # 50 s, then the 150 s gap is dropped, then 10 s gap + 5 s frame span, all to the
    # previous event's job; the click inside that span adds nothing (overlaps count once)
    assert result[(1, None, None)]["value"] == timedelta(seconds=65)
    assert result[(2, None, None)]["value"] == timedelta(0)
    previous = _ev("change:frame", -10, job_id=9, duration=4000)
    result = working_time_per_ids([_ev("load:job", 0, job_id=1)], previous)
    assert result == {(9, None, None): {"value": timedelta(seconds=6),
                                        "timestamp": events[0]["timestamp"]}}


@pytest.mark.parametrize("payload", [
    '{"text": "Größe ✓", "n": [1, 2.5, null]}',
    '{"big": 123456789012345678901234567890}',  # past 64 bits: orjson refuses, json reads
    '{"ratio": NaN}',  # Python's json reads it, as CVAT's server does
])
def test_payloads_are_stored_as_the_same_json_values(analytics: Analytics, payload: str
                                                     ) -> None:
    user_id, client = analytics.user()
    r = client.post("/api/events", json=_batch({"scope": "load:job", "timestamp": _at(0),
                                                "payload": payload}))
    assert r.status_code == 201, r.text
    (stored,) = analytics.outbox(scope="load:job", user_id=user_id)
    expected = json.loads(payload)
    for text in (stored["payload"], r.json()["events"][0]["payload"]):
        value = json.loads(text)
        assert repr(value) == repr(expected)  # repr: NaN != NaN
