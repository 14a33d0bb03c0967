"""CVAT's backup archive format (``cvat/apps/engine/backup.py``, version ``"1.0"``), both ways.

A task archive holds ``task.json`` (the task's manifest), ``annotations.json`` (one annotation
set per annotation job, in job id order, with label and attribute *names* instead of ids) and
``data/`` (the uploaded media as stored). A project archive holds ``project.json`` and one
``task_<n>/`` folder per task laid out as a task archive. This module builds and reads the
JSON parts; ``backups_export`` and ``backups_restore`` move the bytes."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from cvatcore.core.models import Job, Label, Project, Segment, Task, TaskData
from cvatcore.core.services import labels
from cvatcore.core.services.caller import Caller

VERSION = "1.0"
TASK_MANIFEST, PROJECT_MANIFEST, ANNOTATIONS, DATA_DIR = (
    "task.json", "project.json", "annotations.json", "data/")
TASK_DIR = re.compile(r"^task_(\d+)/")
#: The keys CVAT keeps in an annotation (its allow-list) besides label and attributes.
SHAPE_KEYS = ("type", "occluded", "outside", "z_order", "points", "rotation", "frame", "group",
              "source")
JOB_STATUSES = ("annotation", "validation", "completed")
Row = dict[str, Any]


class BackupError(Exception):
    """The archive cannot be restored; the message says why (the request fails with it)."""


# -- writing -----------------------------------------------------------------------------------


def _attribute(spec: Any) -> Row:
    return {"name": spec.name, "mutable": spec.mutable, "input_type": spec.input_type,
            "default_value": spec.default_value, "values": list(spec.values or [])}


def label_list(session: Any, owner: Task | Project) -> list[Row]:
    """The labels as CVAT writes them: no ids, sublabels inside their skeleton, and the
    skeleton's SVG naming its points (``data-label-name``) instead of their ids."""
    column = Label.project_id if isinstance(owner, Project) else Label.task_id
    rows = list(session.scalars(select(Label).where(column == owner.id).order_by(Label.id)))
    specs: dict[int, list[Any]] = {r.id: [] for r in rows}
    from cvatcore.core.models import AttributeSpec

    for spec in session.scalars(select(AttributeSpec).where(
            AttributeSpec.label_id.in_(list(specs) or [-1])).order_by(AttributeSpec.id)):
        specs[spec.label_id].append(spec)
    names = {r.id: r.name for r in rows}

    def one(r: Label) -> Row:
        out: Row = {"name": r.name, "color": r.color, "type": r.type or "any",
                    "attributes": [_attribute(s) for s in specs[r.id]]}
        if r.type == "skeleton":
            out["svg"] = re.sub(r'data-label-id="(\d+)"', lambda m: 'data-label-name="'
                                f'{names.get(int(m.group(1)), "")}"', r.svg or "")
            out["sublabels"] = [one(s) for s in rows if s.parent_id == r.id]
        return out

    return [one(r) for r in rows if r.parent_id is None]


def annotation_jobs(session: Any, task: Task) -> list[Job]:
    """The task's annotation jobs in id order (the order of ``annotations.json``)."""
    return list(session.scalars(select(Job).where(Job.task_id == task.id,
                                                  Job.type == "annotation").order_by(Job.id)))


def _label_owner(session: Any, task: Task) -> Task | Project:
    """A task in a project uses (and CVAT writes) the project's labels."""
    if task.project_id is None:
        return task
    return session.get(Project, task.project_id) or task


def task_manifest(session: Any, task: Task, data: TaskData | None) -> Row:
    """``task.json``."""
    manifest: Row = {"name": task.name, "bug_tracker": task.bug_tracker or "",
                     "status": task.status, "subset": task.subset or "",
                     "labels": label_list(session, _label_owner(session, task)),
                     "version": VERSION}
    if data is not None:
        meta: Row = {"chunk_size": data.chunk_size, "image_quality": data.image_quality,
                     "start_frame": data.start_frame, "stop_frame": data.stop_frame,
                     "chunk_type": data.compressed_chunk_type,
                     "storage_method": data.storage_method, "storage": data.storage,
                     "sorting_method": data.sorting_method,
                     "deleted_frames": list(data.deleted_frames or [])}
        if data.frame_filter:
            meta["frame_filter"] = data.frame_filter
        if data.storage == "cloud_storage":
            meta["cloud_storage_id"] = data.cloud_storage_id
        manifest["data"] = meta
    jobs = []
    for job in annotation_jobs(session, task):
        segment = session.get(Segment, job.segment_id)
        jobs.append({"start_frame": segment.start_frame, "stop_frame": segment.stop_frame,
                     "frames": list(segment.frames or []), "status": job.status,
                     "type": job.type})
    manifest["jobs"] = jobs
    return manifest


def project_manifest(session: Any, project: Project) -> Row:
    """``project.json`` (CVAT's allow-list misspells ``dimension``, so it never appears)."""
    return {"name": project.name, "bug_tracker": project.bug_tracker or "",
            "status": project.status, "labels": label_list(session, project),
            "version": VERSION}


class Names:
    """A task's label and attribute ids as the names an archive carries."""

    def __init__(self, session: Any, task: Task) -> None:
        self.index = labels.label_index(session, task)

    def _named(self, row: Row, label_id: int | None) -> Row:
        out = {k: row[k] for k in SHAPE_KEYS if k in row}
        specs = self.index[label_id][1] if label_id in self.index else {}
        out["attributes"] = [{"name": specs[a["spec_id"]].name, "value": a["value"]}
                             for a in row.get("attributes", []) if a["spec_id"] in specs]
        return out

    def shape(self, row: Row) -> Row:
        label_id = row.get("label_id")
        out = self._named(row, label_id)
        out["label"] = self.index[label_id][0].name if label_id in self.index else ""
        if "shapes" in row:  # a track: its per-frame shapes carry the track's label
            out["shapes"] = [self._named(s, label_id) for s in row["shapes"]]
        out["elements"] = [self.shape(e) for e in row.get("elements", [])]
        return out

    def job(self, annotations: Row) -> Row:
        return {"version": annotations.get("version", 0),
                **{kind: [self.shape(r) for r in annotations.get(kind, [])]
                   for kind in ("tags", "shapes", "tracks")}}


# -- reading -----------------------------------------------------------------------------------


def check_version(manifest: Any, where: str) -> Row:
    if not isinstance(manifest, dict):
        raise BackupError(f"{where}: expected a JSON object")
    version = manifest.get("version")
    if version != VERSION:
        raise BackupError(f"{where}: {version} version is not supported")
    if not isinstance(manifest.get("name"), str) or not manifest["name"]:
        raise BackupError(f"{where}: the name is missing")
    if not isinstance(manifest.get("labels", []), list):
        raise BackupError(f"{where}: labels must be a list")
    return manifest


def check_task(manifest: Any, annotations: Any, where: str) -> Row:
    manifest = check_version(manifest, f"{where}{TASK_MANIFEST}")
    jobs = manifest.get("jobs")
    if not isinstance(jobs, list) or not jobs or not all(
            isinstance(j, dict) and isinstance(j.get("start_frame"), int)
            and isinstance(j.get("stop_frame"), int) for j in jobs):
        raise BackupError(f"{where}{TASK_MANIFEST}: jobs must list each job's start_frame "
                          "and stop_frame")
    if not isinstance(manifest.get("data"), dict):
        raise BackupError(f"{where}{TASK_MANIFEST}: the data section is missing")
    if not isinstance(annotations, list) or not all(isinstance(a, dict) for a in annotations):
        raise BackupError(f"{where}{ANNOTATIONS}: expected a list of annotation sets")
    return manifest


def segment_options(jobs: list[Row]) -> tuple[int, int]:
    """``(segment_size, overlap)`` from the annotation jobs, as CVAT derives them."""
    ranges = [j for j in jobs if j.get("type", "annotation") == "annotation"] or jobs
    first = ranges[0]
    size = first["stop_frame"] - first["start_frame"] + 1
    overlap = 0 if len(ranges) == 1 else max(first["stop_frame"] - ranges[1]["start_frame"] + 1, 0)
    return size, overlap


def label_specs(manifest_labels: list[Row]) -> list[Row]:
    """The archive's labels as the label service takes them (the API's label JSON)."""
    keep = ("name", "color", "type", "svg", "attributes", "sublabels")
    out = []
    for label in manifest_labels:
        if not isinstance(label, dict):
            raise BackupError("labels: each label must be a JSON object")
        spec = {k: label[k] for k in keep if k in label and label[k] is not None}
        if "sublabels" in spec:
            spec["sublabels"] = label_specs(spec["sublabels"])
        spec["attributes"] = [{k: a.get(k) for k in ("name", "mutable", "input_type",
                                                     "default_value", "values") if k in a}
                              for a in spec.get("attributes", []) if isinstance(a, dict)]
        out.append(spec)
    return out


class Ids:
    """Label and attribute names of an archive as the restored task's ids."""

    def __init__(self, session: Any, task: Task, where: str) -> None:
        self.where = where
        index = labels.label_index(session, task)
        self.labels: dict[tuple[str | None, str], int] = {}
        parents = {lid: lb.parent_id for lid, (lb, _) in index.items()}
        self.specs: dict[int, dict[str, int]] = {}
        for lid, (label, specs) in index.items():
            parent = index[parents[lid]][0].name if parents[lid] in index else None
            self.labels[(parent, label.name)] = lid
            self.specs[lid] = {s.name: sid for sid, s in specs.items()}

    def _label(self, name: Any, parent: str | None) -> int:
        lid = self.labels.get((parent, name))
        if lid is None:
            raise BackupError(f"{self.where}: the label {name!r} is not in task.json")
        return lid

    def _attrs(self, row: Row, label_id: int) -> list[Row]:
        out = []
        for attr in row.get("attributes") or []:
            sid = self.specs[label_id].get(attr.get("name"))
            if sid is None:
                raise BackupError(f"{self.where}: the attribute {attr.get('name')!r} is not "
                                  "an attribute of its label")
            out.append({"spec_id": sid, "value": attr.get("value", "")})
        return out

    def _shape(self, row: Row, label_id: int) -> Row:
        out = {k: row[k] for k in SHAPE_KEYS if k in row}
        out["attributes"] = self._attrs(row, label_id)
        return out

    def row(self, row: Any, parent: str | None = None) -> Row:
        if not isinstance(row, dict):
            raise BackupError(f"{self.where}: each annotation must be a JSON object")
        name = row.get("label")
        label_id = self._label(name, parent)
        out = self._shape(row, label_id)
        out["label_id"] = label_id
        if "shapes" in row:
            out["shapes"] = [self._shape(s, label_id) for s in row["shapes"]]
        if row.get("elements"):
            out["elements"] = [self.row(e, name) for e in row["elements"]]
        return out

    def body(self, annotations: Row) -> Row:
        return {"tags": [self.row(r) for r in annotations.get("tags") or []],
                "shapes": [self.row(r) for r in annotations.get("shapes") or []],
                "tracks": [self.row(r) for r in annotations.get("tracks") or []]}


def context_owner(caller: Caller) -> int | None:
    return caller.user.id if caller.user is not None else None
