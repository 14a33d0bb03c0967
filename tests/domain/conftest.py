"""Fixtures for the domain tests: one application (and database) per module and database,
users made on demand, signed-in clients, a recorder of domain events, and a shortcut that
gives a task frames and jobs without going through media processing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from cvatcore.core.testing import build_test_app, postgres_database, test_settings

from .support import Domain, EventLog


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def cvatcore_database_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    if request.param == "sqlite":
        yield None
    else:
        with postgres_database() as url:
            yield url


@pytest.fixture(scope="module")
def cvatcore_settings(
    tmp_path_factory: pytest.TempPathFactory, cvatcore_database_url: str | None
) -> Any:
    return test_settings(tmp_path_factory.mktemp("domain"), cvatcore_database_url,
                         jobs={"in_process_workers": 0})


@pytest.fixture(scope="module")
def cvatcore_app(cvatcore_settings: Any) -> Iterator[Any]:
    app = build_test_app(cvatcore_settings)
    yield app
    app.state.cvatcore.db.dispose()


@pytest.fixture(scope="module")
def events(cvatcore_app: Any) -> EventLog:
    """Every domain event the app publishes: ``events.committed`` after commit only."""
    log = EventLog()
    bus = cvatcore_app.state.cvatcore.bus
    bus.subscribe(log.in_transaction)
    bus.subscribe(log.after_commit, committed=True)
    return log


@pytest.fixture(scope="module")
def domain(cvatcore_app: Any, events: EventLog) -> Iterator[Domain]:
    with ExitStack() as stack:
        yield Domain(cvatcore_app, stack, events)
