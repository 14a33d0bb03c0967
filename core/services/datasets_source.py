"""What an exporter reads: a task's, job's or project's labels, and its frames with their
annotations (CVAT's JSON with label and attribute *names*), one frame at a time.

Annotations come from the annotation services (so a job sees what ``GET .../annotations``
shows); images are read from the media store only when an exporter asks for one."""

from __future__ import annotations

import posixpath
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select

from cvatcore.core.datasets.shapes import track_frames
from cvatcore.core.models import Frame, Job, Project, Segment, Task, TaskData
from cvatcore.core.services import annotations, labels
from cvatcore.core.services import annotations_store as store
from cvatcore.core.services.annotations_output import labeled_data
from cvatcore.core.services.caller import Caller
from cvatcore.core.services.datasets_rows import NamedRows
from cvatcore.core.services.task_media import media_reader
from cvatcore.hooks.datasets import DatasetAttribute, DatasetFrame, DatasetLabel, ExportDataset

Row = dict[str, Any]
FRAME_BATCH = 250  # frames (with their tags and shapes) read per query


class Names:
    """Label and attribute ids of one task as names."""

    def __init__(self, caller: Caller, task: Task) -> None:
        index = labels.label_index(caller.session, task)
        self.labels = {lid: label.name for lid, (label, _) in index.items()}
        self.specs = {sid: spec.name for _, specs in index.values() for sid, spec in specs.items()}

    def attrs(self, row: Row) -> dict[str, str]:
        if not row.get("attributes"):
            return {}
        return {self.specs[a["spec_id"]]: a["value"] for a in row.get("attributes", [])
                if a["spec_id"] in self.specs}

    def shape(self, row: Row) -> Row:
        out = dict(row)  # a copy and three pops: twice the speed of a filtering dict
        label_id = out.pop("label_id", None)
        out.pop("id", None)
        out.pop("attributes", None)
        if "label_id" in row:  # a track's shapes have none
            out["label"] = self.labels.get(label_id, "")  # type: ignore[arg-type]
        out["attributes"] = self.attrs(row)
        elements = row.get("elements")
        out["elements"] = [self.shape(e) for e in elements] if elements else []
        if "shapes" in row:  # a track: its id tells its per-frame shapes apart
            out["id"] = row.get("id")
            out["shapes"] = [self.shape(s) for s in row["shapes"]]
        return out


def dataset_labels(caller: Caller, task_or_project: Task | Project) -> list[DatasetLabel]:
    if isinstance(task_or_project, Task):
        rows = labels.task_labels(caller.session, task_or_project)
        index = labels.label_index(caller.session, task_or_project)
    else:
        from cvatcore.core.models import AttributeSpec, Label

        rows = list(caller.session.scalars(select(Label).where(
            Label.project_id == task_or_project.id).order_by(Label.id)))
        index = {r.id: (r, {}) for r in rows}
        for spec in caller.session.scalars(select(AttributeSpec).where(
                AttributeSpec.label_id.in_(list(index) or [-1]))):
            index[spec.label_id][1][spec.id] = spec
    names = {r.id: r.name for r in rows}
    return [DatasetLabel(
        name=r.name, type=r.type, color=r.color, svg=r.svg,
        parent=names.get(r.parent_id) if r.parent_id is not None else None,
        attributes=tuple(DatasetAttribute(s.name, s.input_type, s.mutable, s.default_value,
                                          tuple(s.values or ()))
                         for s in sorted(index[r.id][1].values(), key=lambda s: s.id)))
        for r in rows]


class _TaskPart:
    """One task (or one job's frames of it) as a source of frames."""

    def __init__(self, caller: Caller, task: Task, job: Job | None) -> None:
        self.caller, self.task, self.job = caller, task, job
        self.data = caller.session.get(TaskData, task.data_id) if task.data_id else None
        self.first, self.last = 0, (self.data.size - 1 if self.data else -1)
        self.only: set[int] | None = None
        if job is not None:
            segment = caller.session.get(Segment, job.segment_id)
            assert segment is not None
            self.first, self.last = segment.start_frame, segment.stop_frame
            if segment.type == "specific_frames" and segment.frames:
                self.only = set(segment.frames)
        self.names = Names(caller, task)
        self.subset = task.subset or "default"

    def annotations(self) -> Row:
        if self.job is not None:
            return annotations.job_annotations(self.caller, self.job.id)
        return annotations.task_annotations(self.caller, self.task.id)

    def tracks(self) -> list[Row]:
        return [dict(self.names.shape(t), last_frame=self.last)
                for t in self.annotations()["tracks"]]

    def _job_ids(self) -> list[int] | None:
        """The jobs to read a range of frames from; None when the task's segments overlap
        (then the annotation service merges the copies, reading the whole task)."""
        if self.job is not None:
            return [self.job.id]
        if self.task.overlap:
            return None
        return list(self.caller.session.scalars(select(Job.id).where(
            Job.task_id == self.task.id, Job.type == "annotation").order_by(Job.id)))

    def _index(self) -> Any:
        return labels.label_index(self.caller.session, self.task)

    def _ranges(self) -> Iterator[tuple[int, dict[int, list[Row]], dict[int, list[Row]]]]:
        """``(first frame, shapes by frame, tags by frame)`` for each ``FRAME_BATCH`` frames:
        without overlap read a range at a time (``NamedRows``: memory follows the range, not
        the task), else from the whole task's annotations."""
        job_ids = self._job_ids()
        whole = self.annotations() if job_ids is None else None
        tracks = whole["tracks"] if whole is not None else labeled_data(0, {"tracks": (
            store.read_tracks(self.caller.session.connection(), job_ids or []))},
            self._index())["tracks"]
        tracks = [self.names.shape(t) for t in tracks]
        named = None if whole is not None else NamedRows(
            self.caller.session.connection(), self._index(),
            job_id=self.job.id if self.job is not None else None, task_id=self.task.id)
        start = self.first
        while start <= self.last:
            stop = min(start + FRAME_BATCH, self.last + 1) - 1
            shapes: dict[int, list[Row]] = defaultdict(list)
            tags: dict[int, list[Row]] = defaultdict(list)
            if named is not None:
                shapes, tags = named.shapes(start, stop), named.tags(start, stop)
            else:
                for row in whole["shapes"]:  # type: ignore[index]
                    if start <= row["frame"] <= stop:
                        shapes[row["frame"]].append(self.names.shape(row))
                for row in whole["tags"]:  # type: ignore[index]
                    if start <= row["frame"] <= stop:
                        tags[row["frame"]].append(self.names.shape(row))
            for track in tracks:
                for shape in track_frames(track, min(self.last, stop), start):
                    shapes[shape["frame"]].append(shape)
            yield start, shapes, tags
            start = stop + 1

    def frames(self, save_images: bool) -> Iterator[DatasetFrame]:
        if self.data is None:
            return
        reader = media_reader(self.caller, self.data) if save_images else None
        video = self.data.media_type == "video"
        for start, shapes, tags in self._ranges():
            rows = self.caller.session.execute(
                select(Frame.frame, Frame.path, Frame.width, Frame.height)
                .where(Frame.data_id == self.data.id, Frame.frame >= start,
                       Frame.frame < min(start + FRAME_BATCH, self.last + 1))
                .order_by(Frame.frame)).all()
            for row in rows:
                if self.only is not None and row[0] not in self.only:
                    continue
                yield self._frame(row, video, reader, shapes.pop(row[0], []),
                                  tags.pop(row[0], []))

    def _frame(self, row: Any, video: bool, reader: Any, shapes: list[Row],
               tags: list[Row]) -> DatasetFrame:
        number, path, width, height = row
        name = f"frame_{number:06d}.png" if video else path
        ext = ".png" if video else (posixpath.splitext(path)[1] or ".jpg")

        def image() -> bytes:
            return reader.frame(number, "original")[0] if reader is not None else b""

        return DatasetFrame(index=number, name=name, width=width, height=height,
                            subset=self.subset, tags=tags, shapes=shapes, image=image,
                            image_ext=ext, task_id=self.task.id)


def _meta(obj: Any, kind: str, size: int, task: Task | None) -> dict[str, Any]:
    meta: dict[str, Any] = {"id": obj.id, "size": size,
                            "created": getattr(obj, "created_date", ""),
                            "updated": getattr(obj, "updated_date", "")}
    if task is not None:
        meta.update(name=task.name, mode=task.mode, overlap=task.overlap or 0,
                    bugtracker=task.bug_tracker, subset=task.subset)
    else:
        meta["name"] = obj.name
    return meta


def build(caller: Caller, kind: str, obj: Any, save_images: bool) -> ExportDataset:
    """The ``ExportDataset`` of a task, job or project (already checked for permission)."""
    if kind == "project":
        tasks = list(caller.session.scalars(select(Task).where(Task.project_id == obj.id)
                                            .order_by(Task.id)))
        parts = [_TaskPart(caller, t, None) for t in tasks]
        label_owner: Any = obj
        name = obj.name
    else:
        task = obj if kind == "task" else caller.session.get(Task, obj.task_id)
        assert task is not None
        parts = [_TaskPart(caller, task, obj if kind == "job" else None)]
        label_owner, name = task, task.name

    def frames() -> Iterator[DatasetFrame]:
        for part in parts:
            yield from part.frames(save_images)

    def tracks() -> Iterator[Row]:
        for part in parts:
            yield from part.tracks()

    size = sum(max(p.last - p.first + 1, 0) for p in parts)
    meta = _meta(obj, kind, size, parts[0].task if kind != "project" and parts else None)
    if kind == "job":
        meta.update(start_frame=parts[0].first, stop_frame=parts[0].last, id=obj.id)
    subsets = list(dict.fromkeys(p.subset for p in parts)) or ["default"]
    return ExportDataset(kind=kind, name=name, labels=dataset_labels(caller, label_owner),
                         save_images=save_images, frames=frames, tracks=tracks, meta=meta,
                         subsets=subsets)
