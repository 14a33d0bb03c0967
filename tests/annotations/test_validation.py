"""Bad annotation bodies get a 400 that names the problem, and nothing is written: the
stored annotations and their version stay as they were, whichever verb was used."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from .rows import Made
from .support import shape, skeleton, tag, track

Body = dict[str, Any]


def rect(made: Made, **extra: Any) -> Body:
    body = shape(made, "rectangle", 1, [0, 0, 5, 5])
    body.update(extra)
    return body


def with_attr(made: Made, spec: tuple[str, str], value: Any, label: str = "car") -> Body:
    return {"shapes": [shape(made, "rectangle", 1, [0, 0, 5, 5], label=label,
                             attributes=[{"spec_id": made.specs[spec], "value": value}])]}


def _skeleton_with(made: Made, **element_changes: Any) -> Body:
    body = skeleton(made, 1)
    body["elements"][0].update(element_changes)
    return {"shapes": [body]}


def _track_with(made: Made, change: Callable[[Body], None]) -> Body:
    body = track(made, 1, [1, 3])
    change(body)
    return {"tracks": [body]}


# (case name, body maker (made, other task's made) -> body, words the error must contain)
CASES: list[tuple[str, Callable[[Made, Made], Body], str]] = [
    ("unknown label", lambda m, o: {"shapes": [rect(m, label_id=999_999)]}, "999999"),
    ("label of another task",
     lambda m, o: {"tags": [{"frame": 0, "label_id": o.labels["car"]}]}, "not a label"),
    ("sublabel at the top", lambda m, o: {"shapes": [
        shape(m, "points", 1, [1, 1], label="head", attributes=[])]}, "skeleton point"),
    ("element that is no point of the skeleton", lambda m, o: _skeleton_with(
        m, label_id=m.labels["person"]), "not a point"),
    ("unknown attribute", lambda m, o: {"shapes": [rect(m, attributes=[
        {"spec_id": 999_999, "value": "x"}])]}, "999999"),
    ("attribute of another label", lambda m, o: with_attr(
        m, ("car", "color"), "red", label="person"), "not an attribute"),
    ("select value not listed", lambda m, o: with_attr(m, ("car", "color"), "green"),
     "'green'"),
    ("radio value not listed", lambda m, o: with_attr(m, ("car", "kind"), "bus"), "'bus'"),
    ("checkbox not a boolean", lambda m, o: with_attr(m, ("car", "parked"), "maybe"),
     "checkbox"),
    ("number not a number", lambda m, o: with_attr(m, ("car", "speed"), "fast"), "number"),
    ("number out of range", lambda m, o: with_attr(m, ("car", "speed"), "500"), "outside"),
    ("attribute given twice", lambda m, o: {"shapes": [rect(m, attributes=[
        {"spec_id": m.specs[("car", "plate")], "value": "a"},
        {"spec_id": m.specs[("car", "plate")], "value": "b"}])]}, "twice"),
    ("frame outside the job", lambda m, o: {"shapes": [rect(m, frame=7)]}, "frame 7"),
    ("frame outside the task", lambda m, o: {"tags": [tag(m, 10)]}, "frame 10"),
    ("negative frame", lambda m, o: {"tags": [tag(m, -1)]}, "frame"),
    ("rectangle with 6 numbers", lambda m, o: {"shapes": [
        shape(m, "rectangle", 1, [0, 0, 1, 1, 2, 2])]}, "rectangle has 4"),
    ("ellipse with 3 numbers", lambda m, o: {"shapes": [shape(m, "ellipse", 1, [0, 0, 1])]},
     "ellipse"),
    ("odd points", lambda m, o: {"shapes": [shape(m, "points", 1, [0, 0, 1])]}, "even"),
    ("polygon of 2 points", lambda m, o: {"shapes": [shape(m, "polygon", 1, [0, 0, 1, 1])]},
     "at least 6"),
    ("polyline of 1 point", lambda m, o: {"shapes": [shape(m, "polyline", 1, [0, 0])]},
     "at least 4"),
    ("cuboid of 8 numbers", lambda m, o: {"shapes": [shape(m, "cuboid", 1, list(range(8)))]},
     "16"),
    ("mask without a box", lambda m, o: {"shapes": [shape(m, "mask", 1, [1, 2, 3])]}, "mask"),
    ("text in points", lambda m, o: {"shapes": [rect(m, points=[0, 0, "1", 1])]}, "points"),
    ("unknown shape type", lambda m, o: {"shapes": [rect(m, type="circle")]}, "circle"),
    ("unknown source", lambda m, o: {"shapes": [rect(m, source="robot")]}, "robot"),
    ("rotation over 360", lambda m, o: {"shapes": [rect(m, rotation=400)]}, "rotation"),
    ("negative group", lambda m, o: {"tags": [{**tag(m, 0), "group": -1}]}, "group"),
    ("score over 1", lambda m, o: {"shapes": [rect(m, score=2)]}, "score"),
    ("label id as text", lambda m, o: {"tags": [{**tag(m, 0), "label_id": "1"}]}, "integer"),
    ("skeleton type, plain label", lambda m, o: {"shapes": [rect(m, type="skeleton")]},
     "not a skeleton"),
    ("rectangle with a skeleton label", lambda m, o: {"shapes": [
        shape(m, "rectangle", 1, [0, 0, 1, 1], label="body")]}, "skeleton"),
    ("element on another frame", lambda m, o: _skeleton_with(m, frame=2), "skeleton's frame"),
    ("mutable attribute on a track", lambda m, o: _track_with(m, lambda t: t["attributes"].append(
        {"spec_id": m.specs[("car", "parked")], "value": "true"})), "mutable"),
    ("immutable attribute on a tracked shape", lambda m, o: _track_with(
        m, lambda t: t["shapes"][0]["attributes"].append(
            {"spec_id": m.specs[("car", "color")], "value": "red"})), "immutable"),
    ("tracked shape past the task", lambda m, o: _track_with(
        m, lambda t: t["shapes"][1].update(frame=12)), "frame 12"),
    ("two tracked shapes on one frame", lambda m, o: _track_with(
        m, lambda t: t["shapes"][1].update(frame=1)), "same frame"),
    ("track without shapes list", lambda m, o: _track_with(m, lambda t: t.pop("shapes")),
     "shapes"),
    ("shapes not a list", lambda m, o: {"shapes": {"type": "rectangle"}}, "list"),
    ("intervals", lambda m, o: {"intervals": [{"label_id": 1, "start": 0, "stop": 1}]},
     "not supported"),
]


@pytest.fixture
def world(new_task: Callable[..., Made], client: Any) -> tuple[Made, Made, Any, Body]:
    """A task of ten frames in two jobs (0-4 and 5-9), with annotations in its first job."""
    made = new_task(size=10, segment_size=5)
    other = new_task(size=10)
    job = made.job_ids[0]
    baseline = client.put(f"/api/jobs/{job}/annotations/", json={
        "shapes": [rect(made)], "tags": [tag(made, 0)], "tracks": [track(made, 1, [1, 2])]})
    assert baseline.status_code == 200, baseline.text
    return made, other, client, client.get(f"/api/jobs/{job}/annotations/").json()


@pytest.mark.parametrize("name,make,words", CASES, ids=[c[0] for c in CASES])
def test_bad_bodies_change_nothing(world, name, make, words):
    made, other, client, baseline = world
    job = made.job_ids[0]
    body = make(made, other)
    for method, query in (("PUT", ""), ("PATCH", "?action=create"), ("PATCH", "?action=update")):
        sent = copy.deepcopy(body)
        if query.endswith("update"):  # name existing annotations, so only the body is wrong
            for kind in ("shapes", "tags", "tracks"):
                if isinstance(sent.get(kind), list):
                    for item, old in zip(sent[kind], baseline[kind], strict=False):
                        item["id"] = old["id"]
        r = client.request(method, f"/api/jobs/{job}/annotations/{query}", json=sent)
        assert r.status_code == 400, (method, query, r.text)
        assert words in json.dumps(r.json()), r.json()
        assert client.get(f"/api/jobs/{job}/annotations/").json() == baseline, (method, query)
    if name == "frame outside the job":
        return  # a frame of the task's second job: fine for the task
    task_put = client.put(f"/api/tasks/{made.task_id}/annotations/", json=body)
    assert task_put.status_code == 400, task_put.text
    assert client.get(f"/api/jobs/{job}/annotations/").json() == baseline


def test_raw_bodies(world):
    made, _, client, baseline = world
    job = made.job_ids[0]
    nul = json.dumps({"tags": [{**tag(made, 0), "source": "man\u0000ual"}]})
    nan = json.dumps({"shapes": [rect(made, points=[0, 0, float("nan"), 1])]})
    # NaN is no JSON: refused by the parser, or else by the points check
    for raw, words in ((nul, "NUL"), (nan, "finite|JSON"), ("{not json", "JSON"),
                       ("[]", "object")):
        r = client.put(f"/api/jobs/{job}/annotations/", content=raw,
                       headers={"Content-Type": "application/json"})
        assert r.status_code == 400 and any(w in r.text for w in words.split("|")), r.text
    assert client.get(f"/api/jobs/{job}/annotations/").json() == baseline


def test_many_problems_are_listed_briefly(world):
    made, _, client, _ = world
    bad = [shape(made, "rectangle", 1, [0, 0, 1]) for _ in range(100)]
    r = client.put(f"/api/jobs/{made.job_ids[0]}/annotations/", json={"shapes": bad})
    assert r.status_code == 400
    body = r.json()
    assert len(body["shapes"]) == 20 and "100 problems" in body["detail"][0]
