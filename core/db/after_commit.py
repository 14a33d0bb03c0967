"""Work that must happen only once a transaction has committed: ``after_commit``.

The domain-event bus (committed-event subscribers), the job queue (waking idle workers) and
webhook hand-offs (a copy of a queued delivery for the drain that sends it) all collect items
while a transaction runs and act on them only if it commits: a rollback must leave no trace,
and acting before the commit would let a worker look for rows it cannot see yet.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session


def after_commit(session: Session, key: str, item: Any,
                 flush: Callable[[list[Any]], None]) -> bool:
    """Keep ``item`` under ``key`` in ``session``'s transaction; when the session commits,
    ``flush`` gets every item kept under ``key``, in order (once); a rollback drops them.
    ``flush`` is the one given with the first item. True when ``item`` is the first under
    ``key`` (a caller may do once-per-transaction work then, such as a ``NOTIFY``)."""
    pending = session.info.get(key)
    if pending is not None:
        pending.append(item)
        return False
    session.info[key] = [item]

    def committed(done: Session) -> None:
        items = done.info.pop(key, None)
        if items:
            flush(items)

    def rolled_back(done: Session) -> None:
        done.info.pop(key, None)

    event.listen(session, "after_commit", committed, once=True)
    event.listen(session, "after_rollback", rolled_back, once=True)
    return True
