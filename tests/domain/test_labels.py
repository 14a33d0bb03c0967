"""``/api/labels``: lists by job, task or project, filters, changing and deleting one label."""

from __future__ import annotations

from typing import Any

import pytest
from cvat_sdk.api_client import models

from cvatcore.core.models import AttributeSpec, Label

from .support import Domain, results, sdk_model, unique


def _project(client: Any, labels: list[dict[str, Any]]) -> int:
    r = client.post("/api/projects", json={"name": unique(), "labels": labels})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def test_lists_by_parent_and_filters(domain: Domain) -> None:
    _, client = domain.user()
    pid = _project(client, [
        {"name": "car", "type": "rectangle"}, {"name": "cat", "type": "polygon"},
        {"name": "body", "type": "skeleton", "sublabels": [{"name": "head"}, {"name": "leg"}]},
    ])
    tid = client.post("/api/tasks", json={"name": unique(), "project_id": pid}).json()["id"]
    jobs = domain.add_data(tid, 4)
    by_project = results(client.get(f"/api/labels?project_id={pid}"))
    assert [lb["name"] for lb in by_project] == ["car", "cat", "body"]  # sublabels nested
    assert results(client.get(f"/api/labels?task_id={tid}")) == by_project
    assert results(client.get(f"/api/labels?job_id={jobs[0]}")) == by_project
    assert [lb["name"] for lb in results(client.get(
        f"/api/labels?project_id={pid}&type=polygon"))] == ["cat"]
    assert [lb["name"] for lb in results(client.get(
        f"/api/labels?project_id={pid}&search=ca&sort=-name"))] == ["cat", "car"]
    assert [lb["name"] for lb in results(client.get(
        f"/api/labels?project_id={pid}&parent=body"))] == ["head", "leg"]
    body = by_project[2]
    assert [lb["name"] for lb in results(client.get(
        f"/api/labels?parent_id={body['id']}"))] == ["head", "leg"]
    mine = {lb["id"] for lb in results(client.get("/api/labels?page_size=all"))}
    assert {lb["id"] for lb in by_project} <= mine
    assert client.get(f"/api/labels?project_id={pid}&task_id={tid}").status_code == 400
    assert client.get("/api/labels?task_id=999999999").status_code == 404
    _, stranger = domain.user()
    assert stranger.get(f"/api/labels?project_id={pid}").status_code == 403
    assert results(stranger.get("/api/labels")) == []


def test_retrieve_patch_and_delete_one_label(domain: Domain) -> None:
    _, client = domain.user()
    pid = _project(client, [
        {"name": "car", "attributes": [
            {"name": "model", "mutable": False, "input_type": "radio", "values": ["a", "b"]}]},
        {"name": "bus"},
        {"name": "hand", "type": "skeleton", "sublabels": [{"name": "f1"}]},
    ])
    car, bus, hand = results(client.get(f"/api/labels?project_id={pid}"))
    r = client.get(f"/api/labels/{car['id']}")
    assert r.json() == car
    sdk_model(r.json(), models.Label)
    r = client.patch(f"/api/labels/{car['id']}", json={
        "name": "auto", "color": "#123456",
        "attributes": [{"id": car["attributes"][0]["id"], "values": ["a", "b", "c"],
                        "default_value": "c"}]})
    assert r.status_code == 200, r.text
    assert (r.json()["name"], r.json()["color"]) == ("auto", "#123456")
    assert r.json()["attributes"][0]["values"] == ["a", "b", "c"]
    assert r.json()["attributes"][0]["default_value"] == "c"
    assert client.patch(f"/api/labels/{car['id']}", json={"name": "bus"}).status_code == 400
    assert client.patch(f"/api/labels/{car['id']}", json={"type": "skeleton"}).status_code == 400
    sub = hand["sublabels"][0]["id"]
    assert client.patch(f"/api/labels/{sub}", json={"name": "x"}).status_code == 400
    assert client.delete(f"/api/labels/{sub}").status_code == 400
    assert client.delete(f"/api/labels/{bus['id']}").status_code == 204
    assert client.get(f"/api/labels/{bus['id']}").status_code == 404
    assert client.delete(f"/api/labels/{hand['id']}").status_code == 204
    assert domain.count(Label, Label.parent_id == hand["id"]) == 0


@pytest.mark.parametrize("attribute, message", [
    ({"name": "n", "input_type": "number", "values": ["0", "10"]}, "three numbers"),
    ({"name": "n", "input_type": "number", "values": ["10", "0", "1"]}, "min <= max"),
    ({"name": "n", "input_type": "number", "values": ["0", "10", "0"]}, "step > 0"),
    ({"name": "n", "input_type": "checkbox", "values": ["maybe"]}, "checkbox"),
    ({"name": "n", "input_type": "select", "values": []}, "at least one value"),
    ({"name": "n", "input_type": "select", "values": ["a"], "default_value": "b"},
     "not one of the values"),
    ({"name": "n", "input_type": "slider", "values": []}, "input_type"),
    ({"name": "", "input_type": "text", "values": []}, "name"),
    ({"name": "n", "input_type": "text", "values": "abc"}, "list of strings"),
    ({"name": "n", "input_type": "text", "values": ["v" * 201]}, "at most 200"),
])
def test_bad_attributes_are_refused(domain: Domain, attribute: dict[str, Any],
                                    message: str) -> None:
    _, client = domain.user()
    before = domain.count(AttributeSpec)
    r = client.post("/api/projects", json={"name": unique(), "labels": [
        {"name": "a", "attributes": [{"mutable": False, **attribute}]}]})
    assert r.status_code == 400 and message in r.text, r.text
    assert "labels[0].attributes[0]" in r.text
    assert domain.count(AttributeSpec) == before


def test_number_attribute_in_one_string(domain: Domain) -> None:
    _, client = domain.user()
    pid = _project(client, [{"name": "a", "attributes": [
        {"name": "n", "mutable": False, "input_type": "number", "values": ["1;9;2"]}]}])
    label = results(client.get(f"/api/labels?project_id={pid}"))[0]
    assert label["attributes"][0]["values"] == ["1", "9", "2"]
    assert label["attributes"][0]["default_value"] == "1"


def test_colors_are_assigned_and_distinct(domain: Domain) -> None:
    _, client = domain.user()
    pid = _project(client, [{"name": f"l{i}"} for i in range(40)])
    colors = [lb["color"] for lb in results(client.get(
        f"/api/labels?project_id={pid}&page_size=all"))]
    assert all(len(c) == 7 and c.startswith("#") for c in colors)
    assert len(set(colors[:30])) == 30
