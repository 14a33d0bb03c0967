"""Tasks with data, segments, jobs and labels, written straight into the database.

The annotation tests need tasks that already have frames and jobs; making them through the
upload pipeline would test that pipeline too and take far longer, so the rows are written
here as the data helper's background job would leave them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from cvatcore.core.models import AttributeSpec, Job, Label, Project, Segment, Task, TaskData

#: A label set with every attribute input type, a skeleton with two points, and a tag label.
LABELS: list[dict[str, Any]] = [
    {"name": "car", "type": "any", "attributes": [
        {"name": "color", "input_type": "select", "values": ["red", "blue"],
         "default_value": "red", "mutable": False},
        {"name": "parked", "input_type": "checkbox", "values": ["false"],
         "default_value": "false", "mutable": True},
        {"name": "speed", "input_type": "number", "values": ["0", "200", "1"],
         "default_value": "0", "mutable": True},
        {"name": "plate", "input_type": "text", "values": [], "default_value": "",
         "mutable": False},
        {"name": "kind", "input_type": "radio", "values": ["sedan", "van"],
         "default_value": "sedan", "mutable": False},
    ]},
    {"name": "person", "type": "any", "attributes": []},
    {"name": "body", "type": "skeleton", "attributes": [], "sublabels": [
        {"name": "head", "type": "points", "attributes": [
            {"name": "visible", "input_type": "checkbox", "values": ["true"],
             "default_value": "true", "mutable": True}]},
        {"name": "foot", "type": "points", "attributes": []},
    ]},
    {"name": "daytime", "type": "tag", "attributes": []},
]


@dataclass
class Made:
    """Ids of what ``make_task`` wrote: labels and specs by name, jobs in frame order."""

    task_id: int
    job_ids: list[int]
    labels: dict[str, int] = field(default_factory=dict)
    specs: dict[tuple[str, str], int] = field(default_factory=dict)


def _add_labels(session: Session, made: Made, specs: list[dict[str, Any]], *,
                task_id: int | None, project_id: int | None, parent_id: int | None = None
                ) -> None:
    for spec in specs:
        label = Label(name=spec["name"], type=spec.get("type", "any"), color="#ff0000",
                      task_id=task_id, project_id=project_id, parent_id=parent_id)
        session.add(label)
        session.flush()
        made.labels[spec["name"]] = label.id
        for attr in spec.get("attributes", []):
            row = AttributeSpec(label_id=label.id, **attr)
            session.add(row)
            session.flush()
            made.specs[(spec["name"], attr["name"])] = row.id
        _add_labels(session, made, spec.get("sublabels", []), task_id=task_id,
                    project_id=project_id, parent_id=label.id)


def segment_ranges(size: int, segment_size: int, overlap: int) -> list[tuple[int, int]]:
    if segment_size <= 0 or segment_size >= size:
        return [(0, size - 1)] if size else []
    ranges, start = [], 0
    while True:
        stop = min(start + segment_size - 1, size - 1)
        ranges.append((start, stop))
        if stop == size - 1:
            return ranges
        start = stop + 1 - overlap


def make_task(
    session: Session, owner_id: int, *, size: int = 10, segment_size: int = 0,
    overlap: int = 0, labels: list[dict[str, Any]] | None = None, org_id: int | None = None,
    project_id: int | None = None, assignee_id: int | None = None,
    job_assignees: list[int | None] | None = None, name: str = "task",
) -> Made:
    """A task with ``size`` image frames cut into segments (one annotation job each), and
    ``labels`` (``LABELS`` by default; a task inside a project gets none of its own)."""
    data = TaskData(size=size, start_frame=0, stop_frame=max(size - 1, 0), chunk_size=36)
    session.add(data)
    session.flush()
    task = Task(name=name, owner_id=owner_id, assignee_id=assignee_id, organization_id=org_id,
                project_id=project_id, data_id=data.id, mode="annotation",
                segment_size=segment_size, overlap=overlap)
    session.add(task)
    session.flush()
    made = Made(task.id, [])
    for index, (start, stop) in enumerate(segment_ranges(size, segment_size, overlap)):
        segment = Segment(task_id=task.id, start_frame=start, stop_frame=stop)
        session.add(segment)
        session.flush()
        assignee = job_assignees[index] if job_assignees and index < len(job_assignees) else None
        job = Job(segment_id=segment.id, task_id=task.id, assignee_id=assignee)
        session.add(job)
        session.flush()
        made.job_ids.append(job.id)
    if project_id is None:
        _add_labels(session, made, LABELS if labels is None else labels, task_id=task.id,
                    project_id=None)
    return made


def make_project(session: Session, owner_id: int, *, org_id: int | None = None,
                 assignee_id: int | None = None,
                 labels: list[dict[str, Any]] | None = None) -> tuple[int, Made]:
    """A project with labels (the ``Made`` holds their ids; its task and jobs are empty)."""
    project = Project(name="project", owner_id=owner_id, organization_id=org_id,
                      assignee_id=assignee_id)
    session.add(project)
    session.flush()
    made = Made(0, [])
    _add_labels(session, made, LABELS if labels is None else labels, task_id=None,
                project_id=project.id)
    return project.id, made
