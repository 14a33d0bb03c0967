"""``/api/projects``: create, read, list, change, delete, as cvat-sdk sees them."""

from __future__ import annotations

from cvat_sdk.api_client import models

from cvatcore.core.models import Label, Project, Task

from .support import Domain, results, sdk_model, unique

LABELS = [
    {"name": "car", "color": "#ff0000", "attributes": [
        {"name": "speed", "mutable": True, "input_type": "number", "values": ["0", "100", "5"]},
        {"name": "kind", "mutable": False, "input_type": "select",
         "values": ["sedan", "truck"], "default_value": "truck"},
    ]},
    {"name": "person"},
    {"name": "hand", "type": "skeleton", "svg": '<circle data-label-name="tip" cx="1"/>',
     "sublabels": [{"name": "tip", "type": "points"}, {"name": "base", "type": "points"}]},
]


def test_create_read_and_list_a_project(domain: Domain) -> None:
    user_id, client = domain.user()
    name = unique("proj")
    r = client.post("/api/projects", json={"name": name, "labels": LABELS,
                                           "bug_tracker": "https://bugs.example/1"})
    assert r.status_code == 201, r.text
    project = sdk_model(r.json(), models.ProjectRead)
    assert project.name == name and project.owner.id == user_id
    assert project.tasks.count == 0 and project.labels.url.endswith(f"project_id={project.id}")
    assert r.json()["organization"] is None and r.json()["dimension"] is None

    same = client.get(f"/api/projects/{project.id}")
    assert same.json() == r.json()
    labels = results(client.get(f"/api/labels?project_id={project.id}"))
    assert [lb["name"] for lb in labels] == ["car", "person", "hand"]
    car, person, hand = labels
    assert car["color"] == "#ff0000" and person["color"] and person["color"] != car["color"]
    assert [(a["name"], a["default_value"]) for a in car["attributes"]] == [
        ("speed", "0"), ("kind", "truck")]
    assert [s["name"] for s in hand["sublabels"]] == ["tip", "base"]
    tip = hand["sublabels"][0]["id"]
    assert hand["svg"] == f'<circle data-label-id="{tip}" cx="1"/>'
    for item in labels:
        sdk_model(item, models.Label)

    listed = results(client.get(f"/api/projects?name={name}"))
    assert [p["id"] for p in listed] == [project.id]


def test_list_search_sort_and_pages(domain: Domain) -> None:
    _, client = domain.user()
    _, other = domain.user()
    tag = unique("pg")
    ids = [client.post("/api/projects", json={"name": f"{tag}-{n}"}).json()["id"]
           for n in ("b", "a", "c")]
    other.post("/api/projects", json={"name": f"{tag}-hidden"})
    page = client.get(f"/api/projects?search={tag}&sort=name&page_size=2").json()
    assert page["count"] == 3 and [p["name"] for p in page["results"]] == [f"{tag}-a",
                                                                           f"{tag}-b"]
    assert page["next"] and page["previous"] is None
    second = client.get(page["next"]).json()
    assert [p["name"] for p in second["results"]] == [f"{tag}-c"]
    newest_first = results(client.get(f"/api/projects?search={tag}"))
    assert [p["id"] for p in newest_first] == sorted(ids, reverse=True)
    flt = '{"and":[{"==":[{"var":"name"},"' + tag + '-c"]}]}'
    assert [p["id"] for p in results(client.get("/api/projects", params={"filter": flt}))] == [
        ids[2]]
    assert client.get("/api/projects?sort=nope").status_code == 400
    assert client.get("/api/projects?status=annotation&search=" + tag).json()["count"] == 3


def test_patch_labels_add_change_and_delete(domain: Domain) -> None:
    _, client = domain.user()
    pid = client.post("/api/projects", json={"name": unique(), "labels": LABELS}).json()["id"]
    car, person, _hand = results(client.get(f"/api/labels?project_id={pid}"))
    speed = car["attributes"][0]
    r = client.patch(f"/api/projects/{pid}", json={"labels": [
        {"id": car["id"], "name": "auto", "attributes": [
            {"id": speed["id"], "values": ["0", "200", "10"]},
            {"id": car["attributes"][1]["id"], "deleted": True},
            {"name": "plate", "mutable": False, "input_type": "text", "values": []},
        ]},
        {"id": person["id"], "deleted": True},
        {"name": "bike", "type": "rectangle"},
    ]})
    assert r.status_code == 200, r.text
    labels = {lb["name"]: lb for lb in results(client.get(f"/api/labels?project_id={pid}"))}
    assert set(labels) == {"auto", "hand", "bike"}
    assert labels["bike"]["type"] == "rectangle"
    attrs = {a["name"]: a for a in labels["auto"]["attributes"]}
    assert set(attrs) == {"speed", "plate"} and attrs["speed"]["values"] == ["0", "200", "10"]
    assert attrs["speed"]["id"] == speed["id"]


def test_patch_fields_and_assignee(domain: Domain) -> None:
    _, client = domain.user()
    assignee_id, _ = domain.user()
    pid = client.post("/api/projects", json={"name": unique()}).json()["id"]
    r = client.patch(f"/api/projects/{pid}", json={
        "name": "renamed", "assignee_id": assignee_id, "status": "validation",
        "bug_tracker": "x", "target_storage": {"location": "local"},
    })
    assert r.status_code == 200, r.text
    body = sdk_model(r.json(), models.ProjectRead)
    assert body.name == "renamed" and body.assignee.id == assignee_id
    assert r.json()["status"] == "validation" and r.json()["assignee_updated_date"]
    assert r.json()["target_storage"] == {"location": "local", "cloud_storage_id": None}
    r = client.patch(f"/api/projects/{pid}", json={"assignee_id": None})
    assert r.json()["assignee"] is None


def test_bad_input_is_a_400_and_writes_nothing(domain: Domain) -> None:
    _, client = domain.user()
    before = domain.count(Project), domain.count(Label)
    bad_bodies = [
        {},
        {"name": ""},
        {"name": "x" * 257},
        {"name": 5},
        {"name": "ok", "labels": [{"name": "a"}, {"name": "a"}]},
        {"name": "ok", "labels": [{"name": "y" * 65}]},
        {"name": "ok", "labels": [{"name": "a", "type": "blob"}]},
        {"name": "ok", "labels": [{"name": "a", "attributes": [
            {"name": "n", "mutable": False, "input_type": "number", "values": ["1", "x", "1"]}]}]},
        {"name": "ok", "labels": [{"name": "a", "attributes": [
            {"name": "n", "mutable": False, "input_type": "select", "values": []}]}]},
        {"name": "ok", "labels": [{"name": "s", "type": "skeleton"}]},
        {"name": "ok", "labels": "car"},
        {"name": "ok", "assignee_id": 999_999},
        {"name": "ok", "target_storage": {"location": "moon"}},
        {"name": "nul\u0000"},
    ]
    for body in bad_bodies:
        r = client.post("/api/projects", json=body)
        assert r.status_code == 400, (body, r.text)
        assert isinstance(r.json(), dict) and r.json(), body
    assert (domain.count(Project), domain.count(Label)) == before
    pid = client.post("/api/projects", json={"name": unique(), "labels": [{"name": "a"}]}).json()
    r = client.patch(f"/api/projects/{pid['id']}", json={"labels": [
        {"name": "b"}, {"id": 999_999, "name": "c"}]})
    assert r.status_code == 400 and "999999" in r.text
    assert [lb["name"] for lb in results(client.get(f"/api/labels?project_id={pid['id']}"))] == [
        "a"]


def test_delete_cascades_to_tasks_and_labels(domain: Domain) -> None:
    _, client = domain.user()
    pid = client.post("/api/projects", json={"name": unique(), "labels": LABELS}).json()["id"]
    tid = client.post("/api/tasks", json={"name": unique(), "project_id": pid}).json()["id"]
    domain.add_data(tid, 10, segment_size=5)
    assert client.delete(f"/api/projects/{pid}").status_code == 204
    assert client.get(f"/api/projects/{pid}").status_code == 404
    assert client.get(f"/api/tasks/{tid}").status_code == 404
    assert domain.count(Label, Label.project_id == pid) == 0
    assert domain.count(Task, Task.project_id == pid) == 0


def test_project_in_an_organization(domain: Domain) -> None:
    _, client = domain.user()
    slug = unique("org")
    org = client.post("/api/organizations", json={"slug": slug}).json()
    r = client.post("/api/projects", json={"name": unique()}, headers={"X-Organization": slug})
    assert r.status_code == 201 and r.json()["organization"] == org["id"]
    pid = r.json()["id"]
    in_org = results(client.get("/api/projects", headers={"X-Organization": slug}))
    assert [p["id"] for p in in_org] == [pid]
    assert pid not in [p["id"] for p in results(client.get("/api/projects?org="))]
    assert pid in [p["id"] for p in results(client.get("/api/projects"))]
    assert client.get("/api/projects/999999999").status_code == 404
    # Past PostgreSQL's integer: a 400 naming the id and the limit (tests/hardening).
    assert client.get("/api/projects/99999999999").json() == {
        "id": ["Ensure this value is between 0 and 2147483647."]}
