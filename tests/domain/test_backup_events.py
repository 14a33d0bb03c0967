"""A backup restore makes its task through the same services as the API, so it publishes the
same domain events; a refused archive publishes none and leaves no row behind (not even the
data row its media were indexed under)."""

from __future__ import annotations

import base64
import io
import json
import zipfile
from typing import Any

from PIL import Image

from cvatcore.core.jobs.runner import JobRunner
from cvatcore.core.models import Task, TaskData

from .support import Domain


def _archive(label: str = "cat") -> bytes:
    def png(n: int) -> bytes:
        out = io.BytesIO()
        Image.new("RGB", (6, 4), (n * 90, 0, 0)).save(out, format="PNG")
        return out.getvalue()

    task = {"name": "from a backup", "bug_tracker": "", "status": "annotation", "subset": "",
            "labels": [{"name": "cat", "color": "#ff0000", "type": "any", "attributes": []}],
            "version": "1.0",
            "data": {"chunk_size": 36, "image_quality": 70, "start_frame": 0, "stop_frame": 1,
                     "chunk_type": "imageset", "storage_method": "cache", "storage": "local",
                     "sorting_method": "lexicographical", "deleted_frames": []},
            "jobs": [{"start_frame": 0, "stop_frame": 1, "status": "annotation",
                      "type": "annotation", "frames": []}]}
    shape = {"type": "rectangle", "frame": 1, "points": [0, 0, 2, 2], "label": label,
             "attributes": [], "occluded": False, "z_order": 0, "group": 0,
             "source": "manual", "outside": False, "rotation": 0.0, "elements": []}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("data/a.png", png(0))
        zf.writestr("data/b.png", png(1))
        zf.writestr("task.json", json.dumps(task))
        zf.writestr("annotations.json", json.dumps(
            [{"version": 0, "tags": [], "shapes": [shape], "tracks": []}]))
    return out.getvalue()


def _restore(domain: Domain, client: Any, archive: bytes) -> dict[str, Any]:
    """The upload protocol as cvat-sdk sends it, then the job; the finished request."""
    url = "/api/tasks/backup/"
    assert client.post(url, headers={"Upload-Start": ""}).status_code == 202
    made = client.post(url, headers={
        "Tus-Resumable": "1.0.0", "Upload-Length": str(len(archive)),
        "Upload-Metadata": "filename " + base64.b64encode(b"backup.zip").decode()})
    assert made.status_code == 201, made.text
    patched = client.patch(made.headers["location"], content=archive, headers={
        "Tus-Resumable": "1.0.0", "Upload-Offset": "0",
        "Content-Type": "application/offset+octet-stream"})
    assert patched.status_code == 204, patched.text
    finish = client.post(url, params={"filename": made.headers["upload-filename"]},
                         headers={"Upload-Finish": ""})
    assert finish.status_code == 202, finish.text
    JobRunner(domain.app.state.cvatcore).run_until_idle()
    return client.get(f"/api/requests/{finish.json()['rq_id']}").json()


def test_a_restore_publishes_the_events_of_a_task_made_through_the_api(domain: Domain
                                                                       ) -> None:
    _, client = domain.user()
    domain.events.clear()
    request = _restore(domain, client, _archive())
    assert request["status"] == "finished", request["message"]
    task_id = request["result_id"]
    scopes = [scope for scope, _ in domain.events.scopes()]
    assert ("create:task", task_id) in domain.events.scopes()
    assert {"create:label", "create:job", "update:task", "import:backup"} <= set(scopes)
    shapes = client.get(f"/api/tasks/{task_id}/annotations/").json()["shapes"]
    assert [(s["frame"], s["points"]) for s in shapes] == [(1, [0.0, 0.0, 2.0, 2.0])]


def test_a_refused_restore_publishes_nothing_and_leaves_no_row(domain: Domain) -> None:
    _, client = domain.user()
    tasks, data = domain.count(Task), domain.count(TaskData)
    domain.events.clear()
    request = _restore(domain, client, _archive(label="ghost"))
    assert request["status"] == "failed" and "'ghost' is not in task.json" in \
        request["message"]
    assert domain.events.scopes() == []
    assert (domain.count(Task), domain.count(TaskData)) == (tasks, data)
