"""Fixtures every cvatcore test suite (core or plugin) can use; loaded through ``pytest11``.

Loading it changes nothing process-wide and imports neither the core nor any optional
package; see ``cvatcore.hooks.testing`` for the ini options a suite turns things on with.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from cvatcore.hooks.testing.databases import (
    POSTGRES_ADMIN_URL,
    _admin_execute,
    postgres_database,
)
from cvatcore.hooks.testing.harness import build_test_app, test_settings

if TYPE_CHECKING:
    from cvatcore.hooks.testing.client import ApiClient

POSTGRES_OPTION = "cvatcore_postgres"
CHEAP_HASHES_OPTION = "cvatcore_cheap_password_hashes"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("cvatcore")
    group.addoption(
        "--cvatcore-postgres", action="store_true", default=False, dest=POSTGRES_OPTION,
        help="also run the cases that use a database on PostgreSQL ($CVATCORE_TEST_POSTGRES); "
             "an unreachable server fails them",
    )
    parser.addini(POSTGRES_OPTION, type="bool", default=False,
                  help="as --cvatcore-postgres (cvatcore's testing kit)")
    parser.addini(CHEAP_HASHES_OPTION, type="bool", default=False,
                  help="hash passwords with argon2's lowest cost in this test process "
                       "(cvatcore's testing kit)")


def postgres_enabled(config: pytest.Config) -> bool:
    """Whether this run asked for the PostgreSQL cases (option or ini key)."""
    return bool(config.getoption(POSTGRES_OPTION) or config.getini(POSTGRES_OPTION))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgres: runs against PostgreSQL on 127.0.0.1:5432")
    if config.getini(CHEAP_HASHES_OPTION):  # a process-wide switch: only when the suite asks
        from cvatcore.core.services.passwords import use_cheap_hashes_for_tests

        use_cheap_hashes_for_tests()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """PostgreSQL cases run only when asked for; otherwise they are deselected (and counted
    as such in the summary), never skipped one by one."""
    if postgres_enabled(config):
        return
    kept, dropped = [], []
    for item in items:
        (dropped if item.get_closest_marker("postgres") else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@contextmanager
def _database(kind: str) -> Iterator[str | None]:
    if kind == "sqlite":
        yield None  # test_settings puts a SQLite file in the test's data directory
    else:
        _require_postgres()
        with postgres_database() as url:
            yield url


_postgres_checked = False


def _require_postgres() -> None:
    """Fail (never skip) when the run asked for PostgreSQL and the server cannot be used;
    the message says where it was looked for. Checked once per test process."""
    global _postgres_checked
    if _postgres_checked:
        return
    try:
        _admin_execute("SELECT 1")
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        pytest.fail(
            f"PostgreSQL cases were asked for ({POSTGRES_OPTION}) but the server at "
            f"{_shown(POSTGRES_ADMIN_URL)} cannot be used: {type(exc).__name__}: {first}",
            pytrace=False,
        )
    _postgres_checked = True


def _shown(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


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
    """An in-process HTTP client of ``cvatcore_app`` (needs ``httpx2``)."""
    from cvatcore.hooks.testing.client import ApiClient

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
