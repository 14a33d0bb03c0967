"""Labels of projects and tasks: writing a client's label list and reading one task's labels
(``/api/labels``, which acts on one label at a time, is ``label_resource``).

A task inside a project has no labels of its own: it uses the project's. Skeleton points are
sublabels (``parent_id``) of their skeleton. Each label row created, changed or deleted
publishes one event (``label``); attribute specs travel with their label.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from cvatcore.core.models import AttributeSpec, Label, Project, Task
from cvatcore.core.services.label_writer import LabelWriter

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from cvatcore.core.services.caller import Caller

LabelIndex = dict[int, tuple[Label, dict[int, AttributeSpec]]]


def apply(caller: Caller, specs: Any, *, project: Project | None = None, task: Task | None = None,
          creating: bool) -> None:
    """Create, change and delete labels of ``project`` or ``task`` as a client's list says
    (ids pick existing labels, ``deleted: true`` removes one); all or nothing."""
    LabelWriter(caller, project=project, task=task).apply(specs, creating)


def task_labels(session: Session, task: Task) -> list[Label]:
    """The labels annotations of ``task`` may use, sublabels included, in id order."""
    column = Label.project_id if task.project_id is not None else Label.task_id
    owner = task.project_id if task.project_id is not None else task.id
    return list(session.scalars(select(Label).where(column == owner).order_by(Label.id)))


def label_index(session: Session, task: Task) -> LabelIndex:
    """``{label id: (label, {spec id: spec})}`` for the task's labels (two queries)."""
    rows = task_labels(session, task)
    index: LabelIndex = {label.id: (label, {}) for label in rows}
    if rows:
        specs = session.scalars(
            select(AttributeSpec).where(AttributeSpec.label_id.in_(list(index)))
        )
        for spec in specs:
            index[spec.label_id][1][spec.id] = spec
    return index


def move_to_project(caller: Caller, task: Task, old: Project | None, new: Project,
                    renames: Any) -> None:
    """Point the task's annotations at the target project's labels, matched by name
    (``renames``: ``[{"id": old label id, "name": new name}]``), as CVAT does on a move."""
    from cvatcore.core.services.label_moves import move_task_labels

    move_task_labels(caller, task, old, new, renames)
