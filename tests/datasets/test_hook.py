"""``register_dataset_formats``: a plugin's format is listed, exports and imports through the
same requests as the built-ins; exports are cached by the object's ``updated_date``; every
export and import publishes ``export:dataset`` / ``import:dataset``."""

from __future__ import annotations

import io
import time
import types
import zipfile
from typing import Any

import pytest

from cvatcore.core.media import store
from cvatcore.core.services.accounts import create_user
from cvatcore.core.services.caller import Caller
from cvatcore.hooks import hookimpl
from cvatcore.hooks.datasets import DatasetFormat, ImportedAnnotations
from cvatcore.hooks.testing.harness import ApiClient

from .conftest import write_images


def _export_lines(dataset: Any, archive: Any) -> None:
    lines = [f"{f.name} {s['label']} {' '.join(map(str, s['points']))}\n"
             for f in dataset.frames() for s in f.shapes if s["type"] == "rectangle"]
    archive.write("lines.txt", "".join(lines))


def _import_lines(archive: Any, context: Any) -> ImportedAnnotations:
    result = ImportedAnnotations()
    for number, line in enumerate(archive.read("lines.txt").decode().splitlines(), 1):
        name, label, *points = line.split()
        result.shapes.append({"frame": context.frame_of(name, f"lines.txt:{number}"),
                              "label": label, "type": "rectangle",
                              "points": [float(p) for p in points],
                              "where": f"lines.txt:{number}"})
    return result


PLUGIN = types.SimpleNamespace(register_dataset_formats=hookimpl(lambda register: register(
    "Lines 1.0", DatasetFormat("TXT, ZIP", "1.0", exporter=_export_lines,
                               importer=_import_lines))))


@pytest.fixture
def app(register_plugin: Any, cvatcore_settings: Any) -> Any:
    with register_plugin(PLUGIN, "lines-format", settings=cvatcore_settings) as app:
        state = app.state.cvatcore
        with state.db.unit_of_work() as session:
            create_user(Caller.system(state, session), "ann", "ann-pass",
                        email="ann@example.com")
        app.state.events = []
        state.bus.subscribe(lambda _conn, event: app.state.events.append(event))
        yield app


def _wait(client: ApiClient, rq_id: str) -> dict[str, Any]:
    for _ in range(300):
        body = client.get(f"/api/requests/{rq_id}").json()
        if body["status"] in ("finished", "failed"):
            return body
        time.sleep(0.05)
    raise AssertionError(body)


def _task(client: ApiClient, tmp_path: Any) -> int:
    task = client.post("/api/tasks", json={"name": "t", "labels": [{"name": "car"}]}).json()
    files = [(f"client_files[{i}]", (p.name, p.read_bytes(), "image/png"))
             for i, p in enumerate(write_images(tmp_path, 2))]
    rq_id = client.post(f"/api/tasks/{task['id']}/data", files=files,
                        data={"image_quality": "70"}).json()["rq_id"]
    assert _wait(client, rq_id)["status"] == "finished"
    return task["id"]


def _export(client: ApiClient, task_id: int) -> tuple[dict[str, Any], bytes]:
    response = client.post(f"/api/tasks/{task_id}/dataset/export",
                           params={"format": "Lines 1.0", "save_images": "False"})
    assert response.status_code == 202
    body = _wait(client, response.json()["rq_id"])
    assert body["status"] == "finished", body
    download = client.get(body["result_url"])
    assert download.status_code == 200
    return body, download.content


def test_hook_register_dataset_formats_plugin_format_exports_and_imports(
        app: Any, tmp_path: Any) -> None:
    with ApiClient(app) as client:
        client.login("ann", "ann-pass")
        formats = client.get("/api/server/annotation/formats").json()
        assert {"name": "Lines 1.0", "ext": "TXT, ZIP", "version": "1.0", "enabled": True,
                "dimension": "2d"} in formats["exporters"]
        task_id = _task(client, tmp_path)
        label = client.get("/api/labels", params={"task_id": task_id}).json()["results"][0]
        client.put(f"/api/tasks/{task_id}/annotations", json={"shapes": [
            {"type": "rectangle", "frame": 1, "label_id": label["id"],
             "points": [1.0, 2.0, 3.0, 4.0]}]})
        body, data = _export(client, task_id)
        assert body["operation"]["type"] == "export:annotations"
        assert body["result_url"].startswith("http")
        lines = zipfile.ZipFile(io.BytesIO(data)).read("lines.txt").decode()
        assert lines == "img_001.png car 1.0 2.0 3.0 4.0\n"

        media = app.state.cvatcore.media
        written = [o.name for o in store.walk(media, "exports/")]
        _export(client, task_id)  # nothing changed: the same archive is served again
        assert [o.name for o in store.walk(media, "exports/")] == written

        client.delete(f"/api/tasks/{task_id}/annotations")
        url = f"/api/tasks/{task_id}/annotations/"
        assert client.post(url, headers={"Upload-Start": ""},
                           params={"format": "Lines 1.0"}).status_code == 202
        created = client.post(url, headers={
            "Tus-Resumable": "1.0.0", "Upload-Length": str(len(data)),
            "Upload-Metadata": "filename bGluZXMuemlw"})
        assert created.status_code == 201
        patched = client.patch(created.headers["Location"], content=data, headers={
            "Tus-Resumable": "1.0.0", "Upload-Offset": "0",
            "Content-Type": "application/offset+octet-stream"})
        assert patched.headers["Upload-Offset"] == str(len(data))
        finished = client.post(url, headers={"Upload-Finish": ""}, params={
            "format": "Lines 1.0", "filename": created.headers["Upload-Filename"]})
        assert finished.status_code == 202
        assert _wait(client, finished.json()["rq_id"])["status"] == "finished"
        shapes = client.get(f"/api/tasks/{task_id}/annotations").json()["shapes"]
        assert [(s["frame"], s["points"]) for s in shapes] == [(1, [1.0, 2.0, 3.0, 4.0])]
        _, again = _export(client, task_id)  # the import changed the task: a new archive,
        now = [o.name for o in store.walk(media, "exports/")]  # which replaces the old one
        assert len(now) == len(written) == 1 and now != written

        assert client.delete(f"/api/tasks/{task_id}").status_code == 204
        for _ in range(100):  # the delete:exports job removes the task's archives
            if not list(store.walk(media, "exports/")):
                break
            time.sleep(0.05)
        assert not list(store.walk(media, "exports/"))

    kinds = [(e.scope, e.obj_id) for e in app.state.events if e.resource == "dataset"]
    assert kinds == [("export:dataset", task_id)] * 2 + [("import:dataset", task_id),
                                                         ("export:dataset", task_id)]
    assert all(e.actor_id is not None for e in app.state.events if e.resource == "dataset")


def test_job_exports_are_removed_with_their_task(app: Any, tmp_path: Any) -> None:
    with ApiClient(app) as client:
        client.login("ann", "ann-pass")
        task_id = _task(client, tmp_path)
        job_id = client.get("/api/jobs", params={"task_id": task_id}).json()["results"][0]["id"]
        response = client.post(f"/api/jobs/{job_id}/dataset/export",
                               params={"format": "Lines 1.0", "save_images": "False"})
        assert _wait(client, response.json()["rq_id"])["status"] == "finished"
        media = app.state.cvatcore.media
        assert [o.name.split("/")[1:3] for o in store.walk(media, "exports/")] == [
            ["job", str(job_id)]]

        assert client.delete(f"/api/tasks/{task_id}").status_code == 204
        for _ in range(100):  # the task's delete:exports job finds the job's archive orphaned
            if not list(store.walk(media, "exports/")):
                break
            time.sleep(0.05)
        assert not list(store.walk(media, "exports/"))


def _upload(client: ApiClient, task_id: int, data: bytes) -> dict[str, Any]:
    url = f"/api/tasks/{task_id}/annotations/"
    client.post(url, headers={"Upload-Start": ""}, params={"format": "Lines 1.0"})
    created = client.post(url, headers={
        "Tus-Resumable": "1.0.0", "Upload-Length": str(len(data)),
        "Upload-Metadata": "filename bGluZXMudHh0"})  # lines.txt
    client.patch(created.headers["Location"], content=data, headers={
        "Tus-Resumable": "1.0.0", "Upload-Offset": "0",
        "Content-Type": "application/offset+octet-stream"})
    finished = client.post(url, headers={"Upload-Finish": ""}, params={
        "format": "Lines 1.0", "filename": created.headers["Upload-Filename"]})
    return _wait(client, finished.json()["rq_id"])


def test_a_bad_line_after_the_first_batches_changes_nothing(app: Any, tmp_path: Any,
                                                            monkeypatch: Any) -> None:
    """Imports are written a batch at a time (5,000 annotations; 50 here) in one
    transaction: a bad item in the third batch rolls back the two written before it, and the
    message names its line."""
    from cvatcore.core.services import datasets_resolve

    monkeypatch.setattr(datasets_resolve, "BATCH", 50)
    with ApiClient(app) as client:
        client.login("ann", "ann-pass")
        task_id = _task(client, tmp_path)
        good = "".join(f"img_000.png car {i} 1 {i + 5} 9\n" for i in range(120))
        assert _upload(client, task_id, good.encode())["status"] == "finished"
        shapes = client.get(f"/api/tasks/{task_id}/annotations").json()["shapes"]
        assert len(shapes) == 120

        for bad_line, problem in (("img_001.png car 1 2 3\n", "points"),
                                  ("img_001.png cat 1 2 3 4\n", "unknown label 'cat'")):
            body = _upload(client, task_id, (good[:-1] + "\n" + bad_line).encode())
            assert body["status"] == "failed"
            assert "lines.txt:121" in body["message"] and problem in body["message"]
            after = client.get(f"/api/tasks/{task_id}/annotations").json()["shapes"]
            assert [s["id"] for s in after] == [s["id"] for s in shapes]
