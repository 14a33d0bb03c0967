"""Fixtures every cvatcore test suite (core or plugin) can use; loaded through ``pytest11``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from cvatcore.core.testing.databases import postgres_database
from cvatcore.core.testing.harness import ApiClient, build_test_app, test_settings


def pytest_configure(config: pytest.Config) -> None:
    from cvatcore.core.services.passwords import use_cheap_hashes_for_tests

    config.addinivalue_line("markers", "postgres: runs against PostgreSQL on 127.0.0.1:5432")
    use_cheap_hashes_for_tests()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def cvatcore_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str | None]:
    """Each test that uses it runs twice: on a SQLite file and on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield None
    else:
        with postgres_database() as url:
            yield url


@pytest.fixture
def cvatcore_settings(tmp_path: Path, cvatcore_database_url: str | None) -> Any:
    return test_settings(tmp_path, cvatcore_database_url)


@pytest.fixture
def cvatcore_app(cvatcore_settings: Any) -> Iterator[Any]:
    app = build_test_app(cvatcore_settings)
    yield app
    app.state.cvatcore.db.dispose()


@pytest.fixture
def cvatcore_client(cvatcore_app: Any) -> Iterator[ApiClient]:
    with ApiClient(cvatcore_app) as client:
        yield client


@pytest.fixture
def make_user(cvatcore_app: Any) -> Callable[..., Any]:
    """``make_user("alice", groups=["worker"])`` adds a local account (password ``<name>-pass``)."""
    from cvatcore.core.services.accounts import create_user

    def make(username: str, *, groups: list[str] | None = None, superuser: bool = False,
             email: str | None = None) -> Any:
        with cvatcore_app.state.cvatcore.db.unit_of_work() as session:
            return create_user(
                session, username, f"{username}-pass", email=email or f"{username}@example.com",
                groups=groups, is_superuser=superuser,
            )

    return make


@pytest.fixture
def register_plugin(tmp_path: Path) -> Callable[..., Any]:
    """``with register_plugin(module_or_object, "name", settings=...) as app:`` builds an app
    with one extra plugin registered; nothing global is touched."""

    @contextmanager
    def register(plugin: object, name: str, settings: Any = None) -> Iterator[Any]:
        app = build_test_app(settings or test_settings(tmp_path), plugins=[(plugin, name)])
        try:
            yield app
        finally:
            app.state.cvatcore.db.dispose()

    return register
