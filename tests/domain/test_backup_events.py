"""A backup restore makes its task through the same services as the API, so it publishes the
same domain events; a refused archive announces no change (only its request's end) and leaves
no row behind (not even the data row its media were indexed under), and neither does a worker
that dies half-way, once the orphan check queued with the data row comes due."""

from __future__ import annotations

import base64
import io
import json
import zipfile
from datetime import timedelta
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


def test_a_refused_restore_announces_no_change_and_leaves_no_row(domain: Domain) -> None:
    _, client = domain.user()
    tasks, data = domain.count(Task), domain.count(TaskData)
    domain.events.clear()
    request = _restore(domain, client, _archive(label="ghost"))
    assert request["status"] == "failed" and "'ghost' is not in task.json" in \
        request["message"]
    # No change is announced; only the request's own end (for webhooks' completion events).
    assert domain.events.scopes() == [("completed:request[import:backup]", None)]
    assert (domain.count(Task), domain.count(TaskData)) == (tasks, data)


def _run_due_discards(domain: Domain) -> None:
    """Bring the queued orphan checks forward (they wait hours) and run them."""
    from sqlalchemy import update

    from cvatcore.core.models import BackgroundJob
    from cvatcore.core.models.base import utcnow

    state = domain.app.state.cvatcore
    with state.db.unit_of_work() as session:
        session.execute(update(BackgroundJob).where(BackgroundJob.kind == "discard:data")
                        .values(next_run_at=utcnow()))
    JobRunner(state).run_until_idle()


def test_a_dead_restores_data_row_and_media_are_removed_later(domain: Domain) -> None:
    """What a worker killed between making the data row and the task leaves (the row and the
    media it copied) goes when the orphan check queued with the row comes due; a row a task
    took is left alone."""
    from cvatcore.core.media import store
    from cvatcore.core.services.media_removal import schedule_orphan_check

    _, client = domain.user()
    restored = _restore(domain, client, _archive())
    assert restored["status"] == "finished", restored["message"]
    state = domain.app.state.cvatcore
    with state.db.unit_of_work() as session:
        orphan = TaskData()
        session.add(orphan)
        session.flush()
        schedule_orphan_check(session, orphan.id, timedelta(hours=6))
    with store.open_write(state.media, store.data_prefix(orphan.id) + "raw/a.png") as out:
        out.write(b"left behind")
    before = domain.count(TaskData)
    _run_due_discards(domain)
    assert domain.count(TaskData) == before - 1
    assert not store.exists(state.media, store.data_prefix(orphan.id) + "raw/a.png")
    task_id = restored["result_id"]
    frame = client.get(f"/api/tasks/{task_id}/data", params={"type": "frame", "number": 1})
    assert frame.status_code == 200  # the restored task's own row and media stay
