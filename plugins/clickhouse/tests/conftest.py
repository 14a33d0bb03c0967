"""Fixtures for cvatcore-clickhouse's tests: one chDB-backed ClickHouse stand-in per session
(restartable: the outage test stops and starts it) and a fresh table per test."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from cvatcore_clickhouse import ClickHouseConfig, ClickHouseSink
from cvatcore_clickhouse.testing import ClickHouseError, ClickHouseServer, start_clickhouse

_tables = itertools.count(1)


@pytest.fixture(scope="session")
def clickhouse() -> Iterator[ClickHouseServer]:
    try:
        server = start_clickhouse()
    except ClickHouseError as exc:  # never skip: a missing engine must fail the suite
        pytest.fail(f"cannot run the ClickHouse tests: {exc}", pytrace=False)
    yield server
    server.stop()


@pytest.fixture
def table_options(clickhouse: ClickHouseServer) -> dict[str, Any]:
    """Options for a table no other test uses."""
    return {**clickhouse.options, "table": f"events_{next(_tables)}"}


@pytest.fixture
def sink(table_options: dict[str, Any]) -> Iterator[ClickHouseSink]:
    sink = ClickHouseSink(ClickHouseConfig(**table_options))
    yield sink
    sink.close()
