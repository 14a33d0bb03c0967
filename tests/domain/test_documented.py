"""Every answer of the domain endpoints matches the app's own OpenAPI document (the one
/api/schema serves), and reads as cvat-sdk's models."""

from __future__ import annotations

from typing import Any

from cvat_sdk.api_client import models

from .support import Document, Domain, sdk_model, unique

ONE = {"/api/projects/{id}": "project", "/api/tasks/{id}": "task", "/api/jobs/{id}": "job",
       "/api/labels/{id}": "label"}


def test_answers_match_the_document(domain: Domain) -> None:
    doc = Document(domain.app)
    user_id, client = domain.user()
    assignee_id, _ = domain.user()
    seen: list[tuple[str, str, int]] = []

    def call(method: str, template: str, path: str, **kwargs: Any) -> Any:
        response = client.request(method, path, **kwargs)
        doc.check(method, template, response)
        seen.append((method, template, response.status_code))
        return response

    project = call("POST", "/api/projects", "/api/projects", json={
        "name": unique(), "assignee_id": assignee_id, "source_storage": {"location": "local"},
        "labels": [{"name": "a", "attributes": [
            {"name": "n", "mutable": True, "input_type": "number", "values": ["0", "9", "1"]}]},
            {"name": "s", "type": "skeleton", "sublabels": [{"name": "p"}], "svg": "<g/>"}],
    }).json()
    task = call("POST", "/api/tasks", "/api/tasks",
                json={"name": unique(), "project_id": project["id"]}).json()
    jobs = domain.add_data(task["id"], 6, segment_size=3)
    call("PATCH", "/api/jobs/{id}", f"/api/jobs/{jobs[0]}", json={"assignee": assignee_id})
    ids = {"project": project["id"], "task": task["id"], "job": jobs[0]}
    label = call("GET", "/api/labels", f"/api/labels?project_id={project['id']}").json()
    ids["label"] = label["results"][0]["id"]
    for template, kind in ONE.items():
        call("GET", template, template.replace("{id}", str(ids[kind])))
        call("GET", template.rsplit("/", 1)[0], template.rsplit("/", 1)[0])
    call("PATCH", "/api/projects/{id}", f"/api/projects/{project['id']}", json={"name": "x"})
    call("PATCH", "/api/tasks/{id}", f"/api/tasks/{task['id']}", json={"subset": "t"})
    call("PATCH", "/api/labels/{id}", f"/api/labels/{ids['label']}", json={"color": "#010203"})
    call("POST", "/api/projects", "/api/projects", json={"name": ""})
    call("GET", "/api/tasks/{id}", "/api/tasks/999999999")
    call("DELETE", "/api/jobs/{id}", f"/api/jobs/{jobs[1]}")
    call("DELETE", "/api/labels/{id}", f"/api/labels/{ids['label']}")
    call("DELETE", "/api/tasks/{id}", f"/api/tasks/{task['id']}")
    call("DELETE", "/api/projects/{id}", f"/api/projects/{project['id']}")
    assert {s for _, _, s in seen} == {200, 201, 204, 400, 404}


def test_pages_read_as_the_sdk_models(domain: Domain) -> None:
    _, client = domain.user()
    tid = client.post("/api/tasks", json={"name": unique(), "labels": [{"name": "a"}]}).json()
    domain.add_data(tid["id"], 4, segment_size=2)
    for path, model in (("/api/projects", models.PaginatedProjectReadList),
                        ("/api/tasks", models.PaginatedTaskReadList),
                        ("/api/jobs", models.PaginatedJobReadList),
                        ("/api/labels", models.PaginatedLabelList)):
        page = sdk_model(client.get(path).json(), model)
        assert page.count >= (0 if path == "/api/projects" else 1)
