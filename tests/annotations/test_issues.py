"""``/api/issues`` and ``/api/comments``: review issues on a job's frame and their comments."""

from __future__ import annotations

from .conftest import add_user
from .support import sdk_check


def listed(client, path, **params):
    r = client.get(path, params={"page_size": "all", **params})
    assert r.status_code == 200, r.text
    return sorted(item["id"] for item in r.json()["results"])


def test_issue_lifecycle(cvatcore_app, client, new_task, events):
    made = new_task(size=10, segment_size=5)
    first, second = made.job_ids
    helper = add_user(cvatcore_app, "helper")
    events.clear()
    r = client.post("/api/issues", json={"job": first, "frame": 2, "position": [1, 2, 3, 4],
                                         "message": "The box is off", "assignee": helper.id})
    assert r.status_code == 201, r.text
    issue = r.json()
    sdk_check("issue_read.IssueRead", issue)
    assert (issue["job"], issue["frame"], issue["position"], issue["resolved"]) == (
        first, 2, [1.0, 2.0, 3.0, 4.0], False)
    assert issue["owner"]["username"] == "owner" and issue["assignee"]["id"] == helper.id
    assert issue["comments"]["count"] == 1
    assert issue["comments"]["url"].endswith(f"/api/comments?issue_id={issue['id']}")
    assert [e.scope for e in events] == ["create:issue", "create:comment"]
    other = client.post("/api/issues", json={"job": second, "frame": 7, "position": [0, 0],
                                             "message": "Missing car"}).json()

    assert listed(client, "/api/issues", job_id=first) == [issue["id"]]
    assert listed(client, "/api/issues", frame_id=7) == [other["id"]]
    assert listed(client, "/api/issues", assignee="helper") == [issue["id"]]
    assert listed(client, "/api/issues", owner="owner") == sorted([issue["id"], other["id"]])
    assert listed(client, "/api/issues", task_id=made.task_id) == sorted(
        [issue["id"], other["id"]])

    events.clear()
    r = client.patch(f"/api/issues/{issue['id']}",
                     json={"resolved": True, "assignee": None, "position": [5, 5, 6, 6]})
    assert r.status_code == 200, r.text
    changed = r.json()
    assert (changed["resolved"], changed["assignee"], changed["position"]) == (
        True, None, [5.0, 5.0, 6.0, 6.0])
    assert [e.scope for e in events] == ["update:issue"]
    assert events[0].before["resolved"] is False and events[0].after["resolved"] is True
    assert listed(client, "/api/issues", resolved="true") == [issue["id"]]
    assert client.get(f"/api/issues/{issue['id']}").json() == changed

    for body, field in (({"frame": 3}, "frame"), ({"message": "x"}, "message"),
                        ({"resolved": "yes"}, "resolved"), ({"position": []}, "position"),
                        ({"assignee": 999_999}, "assignee"), ({"color": 1}, "color")):
        r = client.patch(f"/api/issues/{issue['id']}", json=body)
        assert r.status_code == 400 and field in r.json(), (body, r.text)

    events.clear()
    assert client.delete(f"/api/issues/{issue['id']}").status_code == 204
    assert [e.scope for e in events] == ["delete:issue"]
    assert client.get(f"/api/issues/{issue['id']}").status_code == 404
    assert listed(client, "/api/comments", issue_id=issue["id"]) == []


def test_bad_issues(client, new_task):
    made = new_task(size=10, segment_size=5)
    job = made.job_ids[0]
    good = {"job": job, "frame": 1, "position": [0, 0, 1, 1], "message": "m"}
    for change, field in (
        ({"frame": 7}, "frame"),  # a frame of the other job
        ({"frame": -1}, "frame"),
        ({"job": 999_999}, "job"),
        ({"job": "1"}, "job"),
        ({"position": []}, "position"),
        ({"position": [0, "a"]}, "position"),
        ({"message": ""}, "message"),
        ({"assignee": 999_999}, "assignee"),
        ({"owner": 1}, "owner"),
    ):
        r = client.post("/api/issues", json={**good, **change})
        assert r.status_code == 400 and field in r.json(), (change, r.text)
    r = client.post("/api/issues", json={"job": job})
    assert r.status_code == 400 and {"frame", "position", "message"} <= set(r.json())
    assert listed(client, "/api/issues", job_id=job) == []
    assert listed(client, "/api/comments", job_id=job) == []


def test_comments(client, new_task, events):
    made = new_task()
    issue = client.post("/api/issues", json={"job": made.job_ids[0], "frame": 1,
                                             "position": [0, 0], "message": "first"}).json()
    first_comment = listed(client, "/api/comments", issue_id=issue["id"])
    assert len(first_comment) == 1
    events.clear()
    r = client.post("/api/comments", json={"issue": issue["id"], "message": "second"})
    assert r.status_code == 201, r.text
    comment = r.json()
    sdk_check("comment_read.CommentRead", comment)
    assert (comment["issue"], comment["message"], comment["owner"]["username"]) == (
        issue["id"], "second", "owner")
    assert [e.scope for e in events] == ["create:comment"]
    assert client.get(f"/api/issues/{issue['id']}").json()["comments"]["count"] == 2
    assert listed(client, "/api/comments", issue_id=issue["id"]) == sorted(
        first_comment + [comment["id"]])
    assert listed(client, "/api/comments", frame_id=1, job_id=made.job_ids[0]) == sorted(
        first_comment + [comment["id"]])

    r = client.patch(f"/api/comments/{comment['id']}", json={"message": "edited"})
    assert r.status_code == 200 and r.json()["message"] == "edited"
    assert client.get(f"/api/comments/{comment['id']}").json()["message"] == "edited"
    for body, field in (({"message": ""}, "message"), ({"issue": 1}, "issue")):
        r = client.patch(f"/api/comments/{comment['id']}", json=body)
        assert r.status_code == 400 and field in r.json(), r.text
    for body, field in (({"issue": 999_999, "message": "m"}, "issue"), ({"message": "m"}, "issue"),
                        ({"issue": issue["id"], "message": 5}, "message")):
        r = client.post("/api/comments", json=body)
        assert r.status_code == 400 and field in r.json(), r.text

    events.clear()
    assert client.delete(f"/api/comments/{comment['id']}").status_code == 204
    assert [e.scope for e in events] == ["delete:comment"]
    assert client.get(f"/api/comments/{comment['id']}").status_code == 404
    assert client.get(f"/api/issues/{issue['id']}").json()["comments"]["count"] == 1
