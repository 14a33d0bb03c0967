"""Fixtures for the annotation tests: a signed-in owner and tasks with frames and jobs.

Each module runs on SQLite and on PostgreSQL. The kit's ``cvatcore_database_url``,
``cvatcore_settings`` and ``cvatcore_app`` are module-scoped here (as in ``tests/iam``): every
test makes its own tasks, so tests cannot see each other's annotations, and the database and
its migrations are made once per module instead of once per test. Tasks are written as rows
(``rows.make_task``), as the upload pipeline would leave them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from cvatcore.core.services.accounts import create_user
from cvatcore.core.services.caller import Caller
from cvatcore.hooks.testing import ApiClient
from cvatcore.hooks.testing.pytest_plugin import module_app_fixtures

from .rows import Made, make_project, make_task


def _record_events(app: Any) -> None:
    recorder: list[Any] = []
    app.state.cvatcore.bus.subscribe(lambda _conn, event: recorder.append(event))
    app.state.recorded_events = recorder


# One app per module and database, recording its domain events.
cvatcore_database_url, cvatcore_settings, cvatcore_app = module_app_fixtures(
    "annotations", prepare=_record_events)


def add_user(app: Any, name: str, groups: list[str] | None = None) -> Any:
    """A local account ``name`` with password ``<name>-pass``."""
    with app.state.cvatcore.db.unit_of_work() as session:
        caller = Caller.system(app.state.cvatcore, session)
        return create_user(caller, name, f"{name}-pass", email=f"{name}@example.com",
                           groups=groups or ["user"], is_superuser=groups == ["admin"])


@pytest.fixture(scope="module")
def owner(cvatcore_app: Any) -> Any:
    return add_user(cvatcore_app, "owner")


@pytest.fixture
def client(cvatcore_app: Any, owner: Any) -> Iterator[ApiClient]:
    """The owner, signed in."""
    with ApiClient(cvatcore_app) as client:
        client.login("owner", "owner-pass")
        yield client


@pytest.fixture
def new_task(cvatcore_app: Any, owner: Any) -> Callable[..., Made]:
    """``new_task(size=10, segment_size=0, overlap=0, ...)``: a task of the owner's."""

    def make(**options: Any) -> Made:
        with cvatcore_app.state.cvatcore.db.unit_of_work() as session:
            return make_task(session, options.pop("owner_id", owner.id), **options)

    return make


@pytest.fixture
def task(new_task: Callable[..., Made]) -> Made:
    """Ten frames in one job."""
    return new_task()


@pytest.fixture
def new_project(cvatcore_app: Any, owner: Any) -> Callable[..., tuple[int, Made]]:
    def make(**options: Any) -> tuple[int, Made]:
        with cvatcore_app.state.cvatcore.db.unit_of_work() as session:
            return make_project(session, owner.id, **options)

    return make


@pytest.fixture
def events(cvatcore_app: Any) -> list[Any]:
    """The domain events published (in the transaction) during the test."""
    recorded = cvatcore_app.state.recorded_events
    recorded.clear()
    return recorded
