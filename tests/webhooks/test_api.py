"""``/api/webhooks`` as CVAT has it: fields and defaults, validation, who may manage which
webhook (CVAT's ``webhooks.csv``), the event lists, and the secret never shown."""

from __future__ import annotations


def _body(receiver, **extra):
    return {"target_url": receiver.url, "type": "project", "events": ["create:task"], **extra}


def test_create_defaults_put_patch_delete(people, receiver):
    user, ann = people.user()
    project = ann.post("/api/projects", json={"name": "p"}).json()
    created = ann.post("/api/webhooks", json=_body(receiver, project_id=project["id"],
                                                   secret="s3cret-value"))
    assert created.status_code == 201, created.text
    hook = created.json()
    assert hook["content_type"] == "application/json" and hook["is_active"] is True
    assert hook["enable_ssl"] is True and hook["description"] == ""
    assert hook["owner"]["id"] == user.id and hook["project_id"] == project["id"]
    assert hook["events"] == ["create:task"] and "last_status" not in hook
    assert "secret" not in hook and "s3cret-value" not in created.text
    url = f"/api/webhooks/{hook['id']}"
    patched = ann.patch(url, json={"description": "d", "events": ["update:task", "create:task"]})
    assert patched.json()["events"] == ["create:task", "update:task"]
    put = ann.put(url, json=_body(receiver, type="project", events=["delete:task"],
                                  description="put"))
    assert put.status_code == 200 and put.json()["events"] == ["delete:task"]
    assert put.json()["project_id"] == project["id"]  # write-once
    listed = ann.get("/api/webhooks").json()
    assert [h["id"] for h in listed["results"]] == [hook["id"]]
    assert "secret" not in str(listed)
    assert ann.delete(url).status_code == 204
    assert ann.get(url).status_code == 404


BAD_INPUT = [
    ({"target_url": None}, "target_url"),
    ({"events": None}, "events"),
    ({"type": None}, "type"),
    ({"type": "server"}, "type"),
    ({"type": {}}, "type"),  # was a 500 (found by schemathesis): a dict is no event-table key
    ({"type": ["project"]}, "type"),
    ({"content_type": {}}, "content_type"),
    ({"content_type": "text/plain"}, "content_type"),
    ({"events": ["create:project"]}, "events"),  # not a project webhook's event
    ({"events": "create:task"}, "events"),
    ({"project_id": 999999}, "project_id"),
    ({"project_id": None}, "project_id"),
    ({"description": "x" * 129}, "description"),
    ({"secret": "s" * 65}, "secret"),
    ({"is_active": "yes"}, "is_active"),
]


def test_bad_input_is_a_400_naming_the_field(people, receiver):
    _, ann = people.user()
    project = ann.post("/api/projects", json={"name": "p"}).json()
    for change, field in BAD_INPUT:
        body = _body(receiver, project_id=project["id"])
        for key, value in change.items():
            if value is None:
                body.pop(key, None)
            else:
                body[key] = value
        response = ann.post("/api/webhooks", json=body)
        assert response.status_code == 400, (change, response.text)
        assert field in response.json(), (change, response.text)
    assert ann.get("/api/webhooks").json()["count"] == 0


def test_patch_content_type_is_checked(people, receiver):
    _, ann = people.user()
    project = ann.post("/api/projects", json={"name": "p"}).json()
    hook = ann.post("/api/webhooks", json=_body(receiver, project_id=project["id"])).json()
    response = ann.patch(f"/api/webhooks/{hook['id']}", json={"content_type": "text/xml"})
    assert response.status_code == 400 and "content_type" in response.json()


def test_events_lists(people):
    _, ann = people.user()
    project = ann.get("/api/webhooks/events?type=project").json()
    assert project["webhook_type"] == "project"
    assert project["events"][0]["group"]["display_name"]
    for answer in (project,):
        answer["events"] = [e["key"] for e in answer["events"]]
    assert "update:project" in project["events"] and "create:project" not in project["events"]
    assert project["events"] == sorted(project["events"])
    organization = ann.get("/api/webhooks/events", params={"type": "organization"}).json()
    organization["events"] = [e["key"] for e in organization["events"]]
    assert "create:membership" in organization["events"]
    assert "delete:organization" not in organization["events"]
    every = ann.get("/api/webhooks/events").json()
    every["events"] = [e["key"] for e in every["events"]]
    assert every["webhook_type"] == "all"
    assert set(every["events"]) == set(project["events"]) | set(organization["events"])
    bad = ann.get("/api/webhooks/events?type=task")
    assert bad.status_code == 400 and "Incorrect value of type parameter" in bad.text


def test_organization_webhooks_follow_cvats_rules(people, receiver, org):
    owner_user, owner = people.user()
    maint_user, maintainer = people.user()
    sup_user, supervisor = people.user()
    work_user, worker = people.user()
    slug = org(owner, {"maintainer": maint_user, "supervisor": sup_user, "worker": work_user})
    headers = {"X-Organization": slug}
    body = {"target_url": receiver.url, "type": "organization", "events": ["create:project"]}
    for client in (supervisor, worker):
        assert client.post("/api/webhooks", json=body, headers=headers).status_code == 403
    made = maintainer.post("/api/webhooks", json=body, headers=headers)
    assert made.status_code == 201, made.text
    assert made.json()["organization"] is not None and made.json()["project_id"] is None
    url = f"/api/webhooks/{made.json()['id']}"
    assert owner.get(url, headers=headers).status_code == 200
    assert worker.get(url, headers=headers).status_code == 403
    assert worker.get("/api/webhooks", headers=headers).json()["count"] == 0
    assert owner.get("/api/webhooks", headers=headers).json()["count"] == 1
    assert worker.post(f"{url}/ping", headers=headers).status_code == 403
    assert worker.get(f"{url}/deliveries", headers=headers).status_code == 403
    # Outside the organization the webhook does not exist.
    _, stranger = people.user()
    assert stranger.get(url).status_code == 404
    # An organization webhook with a project, or without an organization: a 400, not a 500.
    project = owner.post("/api/projects", json={"name": "p"}, headers=headers).json()
    with_project = {**body, "project_id": project["id"]}
    assert owner.post("/api/webhooks", json=with_project, headers=headers).status_code == 400
    assert owner.post("/api/webhooks", json=body).status_code == 400


def test_project_webhooks_need_the_project_owner_or_staff(people, receiver, org):
    owner_user, owner = people.user()
    sup_user, supervisor = people.user()
    assignee_user, assignee = people.user()
    slug = org(owner, {"supervisor": sup_user, "worker": assignee_user})
    headers = {"X-Organization": slug}
    own = supervisor.post("/api/projects", json={"name": "mine"}, headers=headers).json()
    other = owner.post("/api/projects", json={"name": "theirs",
                                              "assignee_id": assignee_user.id},
                       headers=headers).json()
    ok = supervisor.post("/api/webhooks", json=_body(receiver, project_id=own["id"]),
                         headers=headers)
    assert ok.status_code == 201, ok.text
    for client in (supervisor, assignee):
        refused = client.post("/api/webhooks", json=_body(receiver, project_id=other["id"]),
                              headers=headers)
        assert refused.status_code == 403
    # Sandbox: only the project's owner.
    _, ann = people.user()
    _, bob = people.user()
    mine = ann.post("/api/projects", json={"name": "a"}).json()
    assert bob.post("/api/webhooks", json=_body(receiver, project_id=mine["id"])
                    ).status_code == 403
    assert ann.post("/api/webhooks", json=_body(receiver, project_id=mine["id"])
                    ).status_code == 201
