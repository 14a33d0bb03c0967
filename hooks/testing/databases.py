"""Throw-away databases: a SQLite file, or a fresh PostgreSQL database dropped afterwards.

PostgreSQL databases are cloned from a template that was migrated once per test process
(``CREATE DATABASE ... TEMPLATE``), which takes a few milliseconds instead of a full
migration run per test.
"""

from __future__ import annotations

import atexit
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

#: The PostgreSQL server tests use; trust auth on 127.0.0.1:5432 by default.
POSTGRES_ADMIN_URL = os.environ.get(
    "CVATCORE_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
_template: str | None = None


def sqlite_url(directory: Path) -> str:
    return f"sqlite:///{directory / 'cvatcore.db'}"


def _admin_execute(sql: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(sql))
    finally:
        admin.dispose()


def _url_for(name: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def _migrated_template() -> str:
    """A database at the core's newest revision, made once per process."""
    global _template
    if _template is None:
        from sqlalchemy import create_engine

        from cvatcore.core.db.migrate import upgrade
        from cvatcore.core.plugins import make_plugin_manager
        from cvatcore.hooks.testing.env import no_plugin_autoload

        name = f"cvatcore_tmpl_{uuid.uuid4().hex[:12]}"
        _admin_execute(f'CREATE DATABASE "{name}"')
        atexit.register(_admin_execute, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        engine = create_engine(_url_for(name))
        try:
            with no_plugin_autoload():
                pm = make_plugin_manager()
            upgrade(engine, pm)
        finally:
            engine.dispose()
        _template = name
    return _template


@contextmanager
def postgres_database(migrated: bool = True) -> Iterator[str]:
    """Create a database with a unique name, yield its URL, drop it at the end.

    With ``migrated`` it starts at the core's newest schema (plugins' branches are added by
    the application's own start-up migration run).
    """
    name = f"cvatcore_test_{uuid.uuid4().hex[:12]}"
    template = f' TEMPLATE "{_migrated_template()}"' if migrated else ""
    _admin_execute(f'CREATE DATABASE "{name}"{template}')
    try:
        yield _url_for(name)
    finally:
        _admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
