"""Annotations written in batches inside the caller's one transaction: a dataset import
checks and writes a batch at a time as the file is read, so a file of 100,000 frames needs
the memory of one batch, and the first bad item (in any batch) raises before the commit, so
the transaction rolls back and nothing of the file stays (all or nothing, as a PUT)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from cvatcore.core.services import annotations_store as store
from cvatcore.core.services import jobs, tasks
from cvatcore.core.services.annotations import (
    _bump,
    _conn,
    _job_target,
    _lock,
    _parts,
    _publish,
    _task_scope,
)
from cvatcore.core.services.annotations_task import JobPart, spread
from cvatcore.core.services.annotations_validate import Scope

if TYPE_CHECKING:
    from cvatcore.core.services.caller import Caller


def write_batches(caller: Caller, target: str, target_id: int,
                  batches: Callable[[Scope], Iterable[dict[str, list[dict[str, Any]]]]],
                  replace: bool) -> int:
    """Each batch of checked rows that ``batches`` makes for the task's or job's ``Scope``
    (``check_body`` of a body, or the import's ``Resolver.rows``; a ``ValidationFailed``
    names items by their index in that batch) added to its annotations, after removing them
    all first when ``replace``. Returns the number of annotations written."""
    if target == "job":
        job = jobs.get(caller, target_id, "update:annotations")
        task, scope = _job_target(caller, job)
        parts = [JobPart(job, range(0))]
    else:
        task = tasks.get(caller, target_id, "update:annotations")
        parts = _parts(caller, task)
        scope = _task_scope(caller, task, parts)
        _lock(caller, parts)
    before = {part.job.id: _bump(caller, part.job, task) for part in parts}
    conn = _conn(caller)
    if replace:
        store.delete_all(conn, [part.job.id for part in parts])
    written = 0
    for rows in batches(scope):
        per_job = {parts[0].job.id: rows} if target == "job" else spread(parts, rows)
        for job_id, job_rows in per_job.items():
            store.insert_rows(conn, job_id, job_rows)
        written += sum(len(rows[k]) for k in store.KINDS)
    for part in parts:
        _publish(caller, "update" if replace else "create", part.job, task,
                 before[part.job.id])
    return written
