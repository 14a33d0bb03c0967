"""Helpers for the analytics tests."""

from __future__ import annotations

import itertools
import json
from contextlib import ExitStack
from typing import Any

from sqlalchemy import func, select

from cvatcore.core.jobs.runner import JobRunner
from cvatcore.core.models import OutboxEvent, StoredEvent
from cvatcore.core.services.accounts import create_user
from cvatcore.core.services.caller import Caller
from cvatcore.hooks.testing import ApiClient

_serial = itertools.count(1)


def unique(prefix: str = "a") -> str:
    return f"{prefix}{next(_serial)}"


class Analytics:
    def __init__(self, app: Any, stack: ExitStack) -> None:
        self.app, self.stack = app, stack
        self.state = app.state.cvatcore
        self.db = self.state.db

    def user(self, groups: tuple[str, ...] = ("user",)) -> tuple[int, ApiClient]:
        name = unique("user")
        with self.db.unit_of_work() as session:
            caller = Caller.system(self.state, session)
            user = create_user(caller, name, f"{name}-pass", email=f"{name}@example.com",
                               groups=list(groups), is_superuser="admin" in groups)
            user_id = user.id
        client = self.stack.enter_context(ApiClient(self.app))
        client.login(name, f"{name}-pass")
        return user_id, client

    def drain(self) -> int:
        """Run every due job (the drains among them)."""
        return JobRunner(self.state).run_until_idle()

    def outbox(self, **where: Any) -> list[dict[str, Any]]:
        with self.db.unit_of_work(write=False) as session:
            rows = session.scalars(select(OutboxEvent.record).order_by(OutboxEvent.seq))
            records = [json.loads(r) for r in rows]
        return [r for r in records if all(r.get(k) == v for k, v in where.items())]

    def stored(self, **where: Any) -> list[dict[str, Any]]:
        with self.db.unit_of_work(write=False) as session:
            stmt = select(StoredEvent).filter_by(**where).order_by(StoredEvent.timestamp)
            return [{c.key: getattr(e, c.key) for c in StoredEvent.__table__.columns}
                    for e in session.scalars(stmt)]

    def stored_count(self) -> int:
        with self.db.unit_of_work(write=False) as session:
            return session.scalar(select(func.count(StoredEvent.id))) or 0
