"""Fixtures for the domain tests: one application (and database) per module and database,
users made on demand, signed-in clients, a recorder of domain events, and a shortcut that
gives a task frames and jobs without going through media processing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from cvatcore.hooks.testing.pytest_plugin import module_app_fixtures

from .support import Domain, EventLog

# One app per module and database; no background-job threads (never needed here).
cvatcore_database_url, cvatcore_settings, cvatcore_app = module_app_fixtures(
    "domain", jobs={"in_process_workers": 0})


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
