"""Engines and units of work.

cvatcore talks to the database through SQLAlchemy's synchronous API and runs each request's
whole unit of work in one worker thread (one hop per request). Measured on this project's
machines, that beats an async driver that hops to a thread on every statement (aiosqlite)
by several times on SQLite, and keeps one code path for SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from cvatcore.core.config import Settings


def make_engine(settings: Settings) -> Engine:
    """An engine for the configured database, tuned for its dialect."""
    url = settings.database_url()
    if url.startswith("sqlite"):
        return _sqlite_engine(url, settings)
    return create_engine(
        url,
        pool_size=settings.database.pool_size,
        max_overflow=settings.database.pool_size,
        echo=settings.database.echo,
    )


def _sqlite_engine(url: str, settings: Settings) -> Engine:
    if ":memory:" not in url:
        settings.server.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": 30},
        pool_size=settings.database.pool_size,
        max_overflow=settings.database.pool_size,
        echo=settings.database.echo,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control from the sqlite3 module so that writers can ask for
        # BEGIN IMMEDIATE: a deferred BEGIN that later upgrades to a write lock can fail
        # with "database is locked" under concurrency instead of waiting.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        for pragma in (
            "journal_mode=WAL",
            "synchronous=NORMAL",
            "foreign_keys=ON",
            "busy_timeout=30000",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        write = conn.get_execution_options().get("cvatcore_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


class Database:
    """The engine plus a session factory; ``unit_of_work`` is one transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._reader = sessionmaker(engine, expire_on_commit=False)
        self._writer = sessionmaker(
            engine.execution_options(cvatcore_write=True), expire_on_commit=False
        )

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def unit_of_work(self, write: bool = True) -> Iterator[Session]:
        """A session whose work commits at the end of the block or rolls back on error."""
        factory = self._writer if write else self._reader
        with factory() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
