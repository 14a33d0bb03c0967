"""Task and project backups through cvat-sdk 2.80 against a real ``cvatcore serve``: the SDK's
``download_backup`` and ``create_from_backup`` round trips (byte-equal media, equal
annotations, job statuses), the archive's CVAT layout, and a CVAT-made archive restored."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import httpx
from cvat_sdk import models
from cvat_sdk.core.proxies.tasks import ResourceType

from cvatcore.hooks.testing.live import ADMIN

from .conftest import LABELS, write_images
from .support import all_shapes, label_ids, spec_ids, tracks

#: The keys CVAT keeps in an annotation of annotations.json (its allow-list).
CVAT_KEYS = {"label", "type", "occluded", "outside", "z_order", "points", "rotation", "frame",
             "group", "source", "attributes", "shapes", "elements"}


def named(task: Any) -> dict[str, Any]:
    """The task's annotations as JSON with label and attribute names instead of ids."""
    data = task.get_annotations().to_dict()
    labels = {i: n for n, i in label_ids(task).items()}
    specs = {a.id: a.name for lbl in task.get_labels() for a in lbl.attributes}
    for lbl in task.get_labels():
        for sub in lbl.sublabels or []:
            specs.update({a.id: a.name for a in sub.attributes})

    def clean(row: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in row.items() if k not in ("id", "label_id", "attributes",
                                                         "elements", "shapes")}
        if "label_id" in row:
            out["label"] = labels[row["label_id"]]
        out["attributes"] = sorted((specs[a["spec_id"]], a["value"])
                                   for a in row.get("attributes", []))
        out["elements"] = sorted((clean(e) for e in row.get("elements", [])), key=repr)
        if "shapes" in row:
            out["shapes"] = [clean(s) for s in row["shapes"]]
        return out

    return {kind: sorted((clean(r) for r in data[kind]), key=repr)
            for kind in ("tags", "shapes", "tracks")}


def frames_of(server: str, task_id: int, size: int) -> list[bytes]:
    """Every frame's original bytes (one keep-alive connection)."""
    with httpx.Client(base_url=server, auth=ADMIN, timeout=30) as client:
        out = []
        for n in range(size):
            answer = client.get(f"/api/tasks/{task_id}/data",
                                params={"type": "frame", "number": n, "quality": "original"})
            assert answer.status_code == 200, answer.text
            out.append(answer.content)
        return out


def annotate_many(task: Any, frames: int) -> models.LabeledDataRequest:
    """Every shape type on the first frames (``all_shapes``), a track, and a box with
    attributes on every 7th frame across the whole task."""
    ids, specs = label_ids(task), spec_ids(task)
    base, moving = all_shapes(task), tracks(task)
    base.tracks = moving.tracks
    base.shapes += [models.LabeledShapeRequest(
        type=models.ShapeType("rectangle"), frame=f, label_id=ids["car"],
        points=[1.0, 2.0, 3.0 + f % 40, 4.0], z_order=f % 3, group=0,
        attributes=[models.AttributeValRequest(spec_id=specs["car.color"],
                                               value="red" if f % 2 else "blue")])
        for f in range(3, frames, 7)]
    return base


def test_task_round_trip_with_1000_frames(sdk: Any, server: str, tmp_path: Path) -> None:
    folder = tmp_path / "frames"
    folder.mkdir()
    images = write_images(folder, 1000, size=(8, 6))
    spec = models.TaskWriteRequest(name="thousand frames", labels=LABELS, segment_size=300,
                                   subset="train")
    source = sdk.tasks.create_from_data(spec, resource_type=ResourceType.LOCAL,
                                        resources=[str(p) for p in images])
    source.set_annotations(annotate_many(source, 1000))
    jobs = sorted(source.get_jobs(), key=lambda j: j.id)
    sdk.jobs.retrieve(jobs[1].id).update(models.PatchedJobWriteRequest(stage="validation"))

    archive = tmp_path / "backup.zip"
    source.download_backup(archive)
    with zipfile.ZipFile(archive) as zf:
        names = set(zf.namelist())
        manifest = json.loads(zf.read("task.json"))
        sets = json.loads(zf.read("annotations.json"))
    assert {"task.json", "annotations.json"} <= names
    assert {f"data/{p.name}" for p in images} <= names
    assert manifest["version"] == "1.0" and manifest["name"] == "thousand frames"
    assert set(manifest) == {"name", "bug_tracker", "status", "subset", "labels", "version",
                             "data", "jobs"}
    assert set(manifest["data"]) == {"chunk_size", "image_quality", "start_frame",
                                     "stop_frame", "chunk_type", "storage_method", "storage",
                                     "sorting_method", "deleted_frames"}
    assert all("id" not in label and set(label) <= {"name", "color", "type", "svg",
                                                    "sublabels", "attributes"}
               for label in manifest["labels"])
    pose = next(label for label in manifest["labels"] if label["name"] == "pose")
    assert 'data-label-name="head"' in pose["svg"] and "data-label-id" not in pose["svg"]
    assert [j["status"] for j in manifest["jobs"]] == [
        "annotation", "validation", "annotation", "annotation"]
    assert len(sets) == 4 and all(set(s) == {"version", "tags", "shapes", "tracks"}
                                  for s in sets)
    assert all(set(s) <= CVAT_KEYS and isinstance(s["label"], str)
               for one in sets for s in one["shapes"])

    restored = sdk.tasks.create_from_backup(archive)
    assert restored.id != source.id and restored.name == source.name
    assert restored.size == 1000 and restored.subset == "train"
    assert restored.segment_size == 300
    assert [j.status for j in sorted(restored.get_jobs(), key=lambda j: j.id)] == [
        "annotation", "validation", "annotation", "annotation"]
    assert frames_of(server, restored.id, 1000) == [p.read_bytes() for p in images]
    assert named(restored) == named(source)
    assert len(named(restored)["shapes"]) == 8 + len(range(3, 1000, 7))


def test_project_round_trip(sdk: Any, server: str, tmp_path: Path) -> None:
    project = sdk.projects.create(models.ProjectWriteRequest(name="backed up", labels=LABELS))
    folder = tmp_path / "images"
    folder.mkdir()
    images = write_images(folder, 3)
    made = []
    for n in range(2):
        task = sdk.tasks.create_from_data(
            models.TaskWriteRequest(name=f"part {n}", project_id=project.id),
            resource_type=ResourceType.LOCAL, resources=[str(p) for p in images])
        task.set_annotations(all_shapes(task) if n == 0 else tracks(task))
        made.append(task)

    archive = tmp_path / "project.zip"
    project.download_backup(archive)
    with zipfile.ZipFile(archive) as zf:
        names = set(zf.namelist())
        manifest = json.loads(zf.read("project.json"))
    assert {"project.json", "task_0/task.json", "task_0/annotations.json",
            "task_1/task.json", "task_1/data/img_002.png"} <= names
    assert manifest["version"] == "1.0" and "dimension" not in manifest
    assert [lbl["name"] for lbl in manifest["labels"]] == ["car", "person", "pose"]

    restored = sdk.projects.create_from_backup(archive)
    assert restored.id != project.id and restored.name == "backed up"
    assert sorted(lb.name for lb in restored.get_labels() if lb.parent_id is None) == \
        ["car", "person", "pose"]
    tasks = sorted(restored.get_tasks(), key=lambda t: t.id)
    assert [t.name for t in tasks] == ["part 0", "part 1"]
    for new, old in zip(tasks, made, strict=True):
        assert new.size == old.size
        assert frames_of(server, new.id, new.size) == frames_of(server, old.id, old.size)
        assert named(new) == named(old)


def _png(n: int) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (10, 8), (n * 40, 20, 200)).save(out, format="PNG")
    return out.getvalue()


def cvat_task_archive() -> bytes:
    """A task backup laid out as CVAT 2.x writes it (``cvat/apps/engine/backup.py``): the
    media and the manifest CVAT keeps in its upload directory under ``data/``, ``task.json``
    with CVAT's allow-listed fields, ``annotations.json`` with one set per job."""
    images = {f"image_{n}.png": _png(n) for n in range(4)}
    manifest = [{"version": "1.1"}, {"type": "images"}] + [
        {"name": name[:-4], "extension": ".png", "width": 10, "height": 8, "meta": {},
         "checksum": f"{n:032x}"} for n, name in enumerate(images)]
    task = {
        "name": "made by cvat", "bug_tracker": "", "status": "annotation", "subset": "",
        "labels": [
            {"name": "cat", "color": "#33ddff", "attributes": [
                {"name": "fluffy", "mutable": False, "input_type": "checkbox",
                 "default_value": "false", "values": ["false"]}],
             "type": "rectangle", "sublabels": []},
            {"name": "dog", "color": "#fa3253", "attributes": [], "type": "any",
             "sublabels": []}],
        "version": "1.0",
        "data": {"chunk_size": 72, "image_quality": 70, "start_frame": 0, "stop_frame": 3,
                 "chunk_type": "imageset", "storage_method": "cache", "storage": "local",
                 "sorting_method": "lexicographical", "deleted_frames": []},
        "jobs": [{"start_frame": 0, "stop_frame": 1, "frames": [], "status": "completed",
                  "type": "annotation"},
                 {"start_frame": 2, "stop_frame": 3, "frames": [], "status": "annotation",
                  "type": "annotation"}],
    }
    box = {"type": "rectangle", "occluded": False, "outside": False, "z_order": 0,
           "rotation": 0.0, "points": [1.0, 1.0, 5.0, 6.0], "frame": 1, "group": 0,
           "source": "manual", "attributes": [{"value": "true", "name": "fluffy"}],
           "elements": [], "label": "cat"}
    annotations = [
        {"version": 0, "tags": [{"frame": 0, "group": 0, "source": "manual",
                                 "attributes": [], "label": "dog"}],
         "shapes": [box], "tracks": []},
        {"version": 0, "tags": [], "shapes": [], "tracks": [
            {"frame": 2, "group": 0, "source": "manual", "attributes": [], "elements": [],
             "label": "dog", "shapes": [
                 {"type": "rectangle", "occluded": False, "outside": False, "z_order": 0,
                  "rotation": 0.0, "points": [0.0, 0.0, 4.0, 4.0], "frame": 2,
                  "attributes": []},
                 {"type": "rectangle", "occluded": False, "outside": True, "z_order": 0,
                  "rotation": 0.0, "points": [1.0, 1.0, 5.0, 5.0], "frame": 3,
                  "attributes": []}]}]},
    ]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in images.items():
            zf.writestr(f"data/{name}", data)
        zf.writestr("data/manifest.jsonl", "\n".join(json.dumps(m) for m in manifest) + "\n")
        zf.writestr("task.json", json.dumps(task))
        zf.writestr("annotations.json", json.dumps(annotations))
    return out.getvalue()


def test_an_archive_made_by_cvat_restores(sdk: Any, server: str, tmp_path: Path) -> None:
    path = tmp_path / "task_made_by_cvat_backup_2024_01_02_03_04_05.zip"
    path.write_bytes(cvat_task_archive())
    task = sdk.tasks.create_from_backup(path)
    assert task.name == "made by cvat" and task.size == 4 and task.segment_size == 2
    assert [j.status for j in sorted(task.get_jobs(), key=lambda j: j.id)] == [
        "completed", "annotation"]
    with zipfile.ZipFile(path) as zf:
        assert frames_of(server, task.id, 4) == [zf.read(f"data/image_{n}.png")
                                                 for n in range(4)]
    got = named(task)
    assert [(t["frame"], t["label"]) for t in got["tags"]] == [(0, "dog")]
    assert [(s["frame"], s["label"], s["points"], s["attributes"]) for s in got["shapes"]] == \
        [(1, "cat", [1.0, 1.0, 5.0, 6.0], [("fluffy", "true")])]
    assert [(t["label"], [s["frame"] for s in t["shapes"]]) for t in got["tracks"]] == \
        [("dog", [2, 3])]
