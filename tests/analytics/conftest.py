"""Fixtures for the analytics tests: an app per module and database (no job threads: tests
run the drain themselves), users made on demand, and helpers to read what the sinks hold."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from cvatcore.hooks.testing.pytest_plugin import module_app_fixtures

from .support import Analytics

cvatcore_database_url, cvatcore_settings, cvatcore_app = module_app_fixtures(
    "analytics", jobs={"in_process_workers": 0},
    analytics={"sinks": ["sql", "log"], "retry_max_seconds": 0.2})


@pytest.fixture(scope="module")
def analytics(cvatcore_app: Any) -> Iterator[Analytics]:
    with ExitStack() as stack:
        yield Analytics(cvatcore_app, stack)
