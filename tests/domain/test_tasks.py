"""``/api/tasks``: create (alone or in a project), read, list, change, move, delete."""

from __future__ import annotations

from cvat_sdk.api_client import models
from sqlalchemy import select

from cvatcore.core.models import Label, Shape, Tag, Task

from .support import Domain, results, sdk_model, unique


def test_create_a_task_with_its_own_labels(domain: Domain) -> None:
    user_id, client = domain.user()
    r = client.post("/api/tasks", json={
        "name": unique("task"), "segment_size": 4, "overlap": 0, "subset": "Train",
        "labels": [{"name": "cat", "attributes": [
            {"name": "fluffy", "mutable": True, "input_type": "checkbox", "values": ["false"]}]}],
    })
    assert r.status_code == 201, r.text
    task = sdk_model(r.json(), models.TaskRead)
    assert task.owner.id == user_id and task.segment_size == 4 and task.subset == "Train"
    body = r.json()
    assert body["jobs"]["count"] == 0 and body["status"] == "annotation"
    assert "size" not in body and body["data"] is None  # no data yet, as CVAT
    labels = results(client.get(f"/api/labels?task_id={task.id}"))
    assert [lb["name"] for lb in labels] == ["cat"]
    assert labels[0]["task_id"] == task.id
    assert labels[0]["attributes"][0]["default_value"] == "false"


def test_task_with_data_reads_like_cvat(domain: Domain) -> None:
    _, client = domain.user()
    tid = client.post("/api/tasks", json={"name": unique(), "labels": [{"name": "a"}]}).json()
    jobs = domain.add_data(tid["id"], 10, segment_size=4)
    body = client.get(f"/api/tasks/{tid['id']}").json()
    sdk_model(body, models.TaskRead)
    assert body["size"] == 10 and body["data_chunk_size"] == 36 and body["mode"] == "annotation"
    assert body["jobs"] == {"count": 3, "completed": 0, "validation": 0,
                            "url": body["jobs"]["url"]}
    assert body["data_compressed_chunk_type"] == "imageset"
    listed = results(client.get(f"/api/jobs?task_id={tid['id']}&sort=id"))
    assert [j["id"] for j in listed] == jobs
    assert [(j["start_frame"], j["stop_frame"], j["frame_count"]) for j in listed] == [
        (0, 3, 4), (4, 7, 4), (8, 9, 2)]


def test_task_in_a_project_uses_its_labels(domain: Domain) -> None:
    _, client = domain.user()
    pid = client.post("/api/projects", json={"name": unique(), "labels": [{"name": "p"}]}).json()
    r = client.post("/api/tasks", json={"name": unique(), "project_id": pid["id"],
                                        "labels": [{"name": "own"}]})
    assert r.status_code == 400 and "labels" in r.json()
    r = client.post("/api/tasks", json={"name": unique(), "project_id": pid["id"],
                                        "subset": "val"})
    assert r.status_code == 201
    tid = r.json()["id"]
    assert r.json()["project_id"] == pid["id"] and r.json()["project_name"] == pid["name"]
    assert [lb["name"] for lb in results(client.get(f"/api/labels?task_id={tid}"))] == ["p"]
    project = client.get(f"/api/projects/{pid['id']}").json()
    assert project["tasks"]["count"] == 1 and project["task_subsets"] == ["val"]
    r = client.patch(f"/api/tasks/{tid}", json={"labels": [{"name": "x"}]})
    assert r.status_code == 400
    assert client.post("/api/tasks", json={"name": "t", "project_id": 999_999}).status_code == 400


def test_move_a_task_into_a_project(domain: Domain) -> None:
    _, client = domain.user()
    pid = client.post("/api/projects", json={"name": unique(), "labels": [
        {"name": "vehicle", "attributes": [
            {"name": "color", "mutable": False, "input_type": "text", "values": []}]},
        {"name": "person"}]}).json()["id"]
    tid = client.post("/api/tasks", json={"name": unique(), "labels": [
        {"name": "car", "attributes": [
            {"name": "color", "mutable": False, "input_type": "text", "values": []},
            {"name": "doors", "mutable": False, "input_type": "number",
             "values": ["2", "5", "1"]}]},
        {"name": "person"}]}).json()["id"]
    jobs = domain.add_data(tid, 5)
    car, person = results(client.get(f"/api/labels?task_id={tid}&sort=id"))
    color, doors = car["attributes"]
    with domain.db.unit_of_work() as session:
        session.add(Tag(job_id=jobs[0], label_id=car["id"], frame=0, attributes=[
            {"spec_id": color["id"], "value": "red"}, {"spec_id": doors["id"], "value": "3"}]))
        session.add(Shape(job_id=jobs[0], label_id=person["id"], frame=1, type="rectangle",
                          points=[0, 0, 1, 1]))

    r = client.patch(f"/api/tasks/{tid}", json={"project_id": pid})
    assert r.status_code == 400 and "car" in r.text  # no project label is named "car"
    r = client.patch(f"/api/tasks/{tid}", json={"project_id": pid, "labels": [
        {"id": car["id"], "name": "vehicle"}]})
    assert r.status_code == 200, r.text
    assert r.json()["project_id"] == pid
    project_labels = {lb["name"]: lb for lb in results(client.get(f"/api/labels?project_id={pid}"))}
    assert domain.count(Label, Label.task_id == tid) == 0
    with domain.db.unit_of_work() as session:
        tag = session.scalars(select(Tag).where(Tag.job_id == jobs[0])).one()
        shape = session.scalars(select(Shape).where(Shape.job_id == jobs[0])).one()
        assert tag.label_id == project_labels["vehicle"]["id"]
        assert tag.attributes == [
            {"spec_id": project_labels["vehicle"]["attributes"][0]["id"], "value": "red"}]
        assert shape.label_id == project_labels["person"]["id"]


def test_list_filters_and_sort(domain: Domain) -> None:
    _, client = domain.user()
    tag = unique("flt")
    pid = client.post("/api/projects", json={"name": f"{tag}-proj"}).json()["id"]
    a = client.post("/api/tasks", json={"name": f"{tag}-a", "project_id": pid,
                                        "subset": "train"}).json()["id"]
    b = client.post("/api/tasks", json={"name": f"{tag}-b", "labels": []}).json()["id"]
    assert [t["id"] for t in results(client.get(f"/api/tasks?project_id={pid}"))] == [a]
    assert [t["id"] for t in results(client.get(f"/api/tasks?project_name={tag}-proj"))] == [a]
    assert [t["id"] for t in results(client.get(f"/api/tasks?search={tag}&sort=-name"))] == [
        b, a]
    assert [t["id"] for t in results(client.get(f"/api/tasks?search={tag}&subset=train"))] == [a]
    me = client.get("/api/users/self").json()["username"]
    assert {t["id"] for t in results(client.get(f"/api/tasks?owner={me}"))} == {a, b}
    assert client.get("/api/tasks?project_id=abc").status_code == 400


def test_patch_and_delete(domain: Domain) -> None:
    _, client = domain.user()
    other_id, _ = domain.user()
    tid = client.post("/api/tasks", json={"name": unique()}).json()["id"]
    r = client.patch(f"/api/tasks/{tid}", json={"name": "new", "assignee_id": other_id,
                                                "bug_tracker": "b", "subset": "s"})
    assert r.status_code == 200 and r.json()["assignee"]["id"] == other_id
    assert r.json()["name"] == "new" and r.json()["subset"] == "s"
    assert client.patch(f"/api/tasks/{tid}", json={"segment_size": 3}).status_code == 400
    assert client.patch(f"/api/tasks/{tid}", json={"name": "x" * 300}).status_code == 400
    assert client.patch(f"/api/tasks/{tid}", json={"owner_id": "me"}).status_code == 400
    assert client.get(f"/api/tasks/{tid}").json()["name"] == "new"
    domain.add_data(tid, 3)
    assert client.delete(f"/api/tasks/{tid}").status_code == 204
    assert client.get(f"/api/tasks/{tid}").status_code == 404
    assert domain.count(Task, Task.id == tid) == 0
    assert results(client.get(f"/api/jobs?task_id={tid}")) == []
