"""``/api/tasks/{id}/annotations/``: a task's annotations are spread over its jobs by frame
and gathered back, with segments that share frames (``overlap``) showing each annotation once."""

from __future__ import annotations

from .support import full_body, sdk_check, shape, strip_ids, tag, track


def task_url(task_id: int) -> str:
    return f"/api/tasks/{task_id}/annotations/"


def job_url(job_id: int) -> str:
    return f"/api/jobs/{job_id}/annotations/"


def frames(answer: dict, kind: str) -> list[int]:
    return sorted(item["frame"] for item in answer[kind])


def test_spread_over_jobs_and_gathered_back(client, new_task, events):
    made = new_task(size=10, segment_size=5)
    first, second = made.job_ids
    body = {
        "tags": [tag(made, 0), tag(made, 9)],
        "shapes": [shape(made, "rectangle", 1, [0, 0, 1, 1]),
                   shape(made, "polygon", 7, [0, 0, 5, 0, 5, 5])],
        "tracks": [track(made, 3, [3, 6, 8])],  # kept whole in the job where it starts
    }
    put = client.put(task_url(made.task_id), json=body)
    assert put.status_code == 200, put.text
    sdk_check("labeled_data.LabeledData", put.json())
    assert strip_ids(put.json()) == strip_ids(body)
    one, two = client.get(job_url(first)).json(), client.get(job_url(second)).json()
    assert (frames(one, "tags"), frames(one, "shapes"), frames(one, "tracks")) == ([0], [1], [3])
    assert (frames(two, "tags"), frames(two, "shapes"), two["tracks"]) == ([9], [7], [])
    read = client.get(task_url(made.task_id)).json()
    assert read == put.json() and read["version"] == 1
    assert sorted((e.scope, e.obj_id) for e in events) == [
        ("update:annotations", first), ("update:annotations", second)]

    created = client.patch(task_url(made.task_id) + "?action=create",
                           json={"shapes": [shape(made, "rectangle", 8, [2, 2, 3, 3])]})
    assert created.status_code == 200 and created.json()["version"] == 2
    assert frames(client.get(job_url(second)).json(), "shapes") == [7, 8]
    assert client.get(job_url(first)).json()["version"] == 1  # untouched

    events.clear()
    assert client.delete(task_url(made.task_id)).status_code == 204
    for job in made.job_ids:
        assert strip_ids(client.get(job_url(job)).json()) == {"tags": [], "shapes": [],
                                                              "tracks": []}
    assert sorted(e.obj_id for e in events) == sorted(made.job_ids)
    assert {e.scope for e in events} == {"delete:annotations"}


def test_shared_frames_show_each_annotation_once(client, new_task):
    made = new_task(size=10, segment_size=6, overlap=2)  # jobs 0-5 and 4-9 share 4 and 5
    first, second = made.job_ids
    twin = shape(made, "rectangle", 5, [1, 1, 2, 2])
    body = {"shapes": [shape(made, "rectangle", 4, [0, 0, 1, 1]), twin, dict(twin)],
            "tags": [tag(made, 5)], "tracks": []}
    put = client.put(task_url(made.task_id), json=body)
    assert put.status_code == 200, put.text
    assert frames(client.get(job_url(first)).json(), "shapes") == [4, 5, 5]
    assert frames(client.get(job_url(second)).json(), "shapes") == [4, 5, 5]
    read = client.get(task_url(made.task_id)).json()
    assert strip_ids(read) == strip_ids(body)  # two twins stay two, copies do not add up
    assert read == put.json()

    changed = read["shapes"][0]  # the one on frame 4
    changed["points"] = [3.0, 3.0, 4.0, 4.0]
    r = client.patch(task_url(made.task_id) + "?action=update", json={"shapes": [changed]})
    assert r.status_code == 200, r.text
    for job in (first, second):
        on_four = [s for s in client.get(job_url(job)).json()["shapes"] if s["frame"] == 4]
        assert [s["points"] for s in on_four] == [changed["points"]]
    read = client.get(task_url(made.task_id)).json()
    assert [s for s in read["shapes"] if s["frame"] == 4] == [changed]

    r = client.patch(task_url(made.task_id) + "?action=delete",
                     json={"shapes": [{"id": changed["id"]}], "tags": [read["tags"][0]]})
    assert r.status_code == 200, r.text
    for job in (first, second):
        answer = client.get(job_url(job)).json()
        assert frames(answer, "shapes") == [5, 5] and answer["tags"] == []
    assert frames(client.get(task_url(made.task_id)).json(), "shapes") == [5, 5]


def test_task_in_a_project_uses_the_projects_labels(client, new_project, new_task):
    project_id, labels = new_project()
    _, others = new_project()
    made = new_task(project_id=project_id)
    made.labels, made.specs = labels.labels, labels.specs
    body = full_body(made)
    put = client.put(task_url(made.task_id), json=body)
    assert put.status_code == 200, put.text
    assert strip_ids(client.get(task_url(made.task_id)).json()) == strip_ids(body)
    foreign = {"tags": [{"frame": 0, "label_id": others.labels["car"]}]}
    r = client.put(job_url(made.job_ids[0]), json=foreign)
    assert r.status_code == 400 and "not a label" in r.text


def test_a_task_without_data_has_no_frames(client, new_task):
    made = new_task(size=0)
    assert client.get(task_url(made.task_id)).json() == {"version": 0, "tags": [],
                                                         "shapes": [], "tracks": []}
    r = client.put(task_url(made.task_id), json={"tags": [tag(made, 0)]})
    assert r.status_code == 400 and "no data" in r.text
    assert client.put(task_url(made.task_id), json={}).status_code == 200
