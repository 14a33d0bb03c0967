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


DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@contextmanager
def _database(kind: str) -> Iterator[str | None]:
    if kind == "sqlite":
        yield None  # test_settings puts a SQLite file in the test's data directory
    else:
        with postgres_database() as url:
            yield url


@pytest.fixture(params=DATABASES)
def cvatcore_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str | None]:
    """Each test that uses it runs twice: on a SQLite file and on a fresh PostgreSQL database."""
    with _database(request.param) as url:
        yield url


def module_app_fixtures(
    label: str, prepare: Callable[[Any], None] | None = None, **sections: Any
) -> tuple[Any, Any, Any]:
    """Module-scoped ``cvatcore_database_url``, ``cvatcore_settings`` and ``cvatcore_app``:
    one app per test module and database, for suites of many small tests (permission
    matrices). In a conftest: ``cvatcore_database_url, cvatcore_settings, cvatcore_app =
    module_app_fixtures("iam", jobs={"in_process_workers": 0})``; ``sections`` go to
    ``test_settings``; ``prepare(app)`` runs once on each new app (subscribe a recorder, say)."""

    @pytest.fixture(scope="module", params=DATABASES)
    def cvatcore_database_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
        with _database(request.param) as url:
            yield url

    @pytest.fixture(scope="module")
    def cvatcore_settings(tmp_path_factory: pytest.TempPathFactory,
                          cvatcore_database_url: str | None) -> Any:
        return test_settings(tmp_path_factory.mktemp(label), cvatcore_database_url, **sections)

    @pytest.fixture(scope="module")
    def cvatcore_app(cvatcore_settings: Any) -> Iterator[Any]:
        app = build_test_app(cvatcore_settings)
        if prepare is not None:
            prepare(app)
        yield app
        app.state.cvatcore.db.dispose()

    return cvatcore_database_url, cvatcore_settings, cvatcore_app


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
    from cvatcore.core.services.caller import Caller

    def make(username: str, *, groups: list[str] | None = None, superuser: bool = False,
             email: str | None = None) -> Any:
        state = cvatcore_app.state.cvatcore
        with state.db.unit_of_work() as session:
            return create_user(
                Caller.system(state, session), username, f"{username}-pass",
                email=email or f"{username}@example.com", groups=groups, is_superuser=superuser,
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
