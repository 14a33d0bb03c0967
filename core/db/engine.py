"""Engines and units of work.

cvatcore talks to the database through SQLAlchemy's synchronous API and runs each request's
whole unit of work in one worker thread (one hop per request). Measured on this project's
machines, that beats an async driver that hops to a thread on every statement (aiosqlite)
by several times on SQLite, and keeps one code path for SQLite and PostgreSQL.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
from sqlalchemy import Connection, Dialect, Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import PoolProxiedConnection

from cvatcore.core.config import ConfigError, Settings
from cvatcore.core.db.writers import WriterQueue

# How long a SQLite writer waits for its turn among this process's writers before it goes on
# without the queue (to SQLite's busy handler): a bound, not a wait anyone should reach.
WRITER_QUEUE_SECONDS = 10.0


def _json_text(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


#: JSON columns (annotation attributes, event payloads, job arguments) through orjson: about
#: four times faster than the standard library each way, for the same JSON values.
JSON_CODEC: dict[str, Any] = {"json_serializer": _json_text, "json_deserializer": orjson.loads}


def make_engine(settings: Settings) -> Engine:
    """An engine for the configured database, tuned for its dialect."""
    url = settings.database_url()
    if url.startswith("sqlite"):
        return _sqlite_engine(url, settings)
    try:
        return create_engine(
            url,
            pool_size=settings.database.pool_size,
            max_overflow=settings.database.pool_size,
            echo=settings.database.echo,
            **JSON_CODEC,
        )
    except ImportError as exc:  # the driver of [database] url is not installed
        extra = " (pip install 'cvatcore[postgres]')" if url.startswith("postgres") else ""
        raise ConfigError(f"[database] url: its driver cannot be imported ({exc}){extra}"
                          ) from None


def _sqlite_engine(url: str, settings: Settings) -> Engine:
    if ":memory:" not in url:
        settings.server.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False,
                      "timeout": settings.database.busy_timeout_seconds},
        pool_size=settings.database.pool_size,
        max_overflow=settings.database.pool_size,
        echo=settings.database.echo,
        **JSON_CODEC,
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
            f"busy_timeout={int(settings.database.busy_timeout_seconds * 1000)}",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        driver_connection = conn.connection.driver_connection
        if driver_connection.in_transaction:
            return  # a Work that began on the raw connection; the Connection joins it
        write = conn.get_execution_options().get("cvatcore_write", False)
        # Straight to the driver: a BEGIN through the whole execution pipeline costs several
        # times what the statement does, on every request.
        driver_connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def watched(engine: Engine) -> bool:
    """Whether a ``before_cursor_execute`` listener other than the core's own
    (``_begin_before_write``) is on ``engine``."""
    listeners = engine.dispatch.before_cursor_execute
    return bool(listeners) and len(listeners) > event.contains(
        engine, "before_cursor_execute", _begin_before_write)




class Work:
    """One request's unit of work: one transaction on one pooled connection.

    Layers are made only when something asks for them: the driver connection is enough for
    a ``FixedQuery``; ``connection`` wraps it in a SQLAlchemy ``Connection`` (joined to the
    transaction already open) and ``session`` binds an ORM ``Session`` to that. A request that
    only reads its credentials pays for neither (a ``Connection`` and a ``Session`` cost more
    than the query itself). Connection-level events (``begin``, ``commit``) fire only once the
    ``Connection`` exists; pool events fire as always.
    """

    __slots__ = ("_engine", "_factory", "_begin", "_reads", "_raw", "_connection", "_session",
                 "_writers", "_queued")

    def __init__(self, engine: Engine, factory: sessionmaker[Session], begin: str | None,
                 autocommit_reads: bool = False, writers: WriterQueue | None = None) -> None:
        self._engine = engine
        self._writers = writers  # SQLite writers of this process queue here (db/writers.py)
        self._queued = False
        self._factory = factory
        self._begin = begin
        self._reads = autocommit_reads
        self._raw: PoolProxiedConnection
        self._connection: Connection | None = None
        self._session: Session | None = None

    def __enter__(self) -> Work:
        if self._writers is not None:
            self._queued = self._writers.acquire(WRITER_QUEUE_SECONDS)
        try:
            return self._open()
        except BaseException:
            self._leave_queue()
            raise

    def _open(self) -> Work:
        raw = self._raw = self._engine.raw_connection()
        if self._reads:  # see _begin_before_write
            raw.driver_connection.autocommit = True
            raw.info[_AUTOCOMMIT_READS] = True
        if self._begin is not None:
            try:
                raw.driver_connection.execute(self._begin)
            except BaseException:
                raw.close()
                raise
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            if exc_type is not None:
                self._end(commit=False)
                return
            try:
                self._end(commit=True)
            except BaseException:
                self._end(commit=False)
                raise
        finally:
            try:
                self._close()
            finally:
                self._leave_queue()

    def _leave_queue(self) -> None:
        if self._queued:
            self._queued = False
            self._writers.release()  # type: ignore[union-attr]

    @property
    def engine(self) -> Engine:
        return self._engine

    @property
    def dialect(self) -> Dialect:
        return self._engine.dialect

    @property
    def driver_connection(self) -> Any:
        """The DBAPI connection (inside the transaction), for ``FixedQuery``."""
        return self._raw.driver_connection

    @property
    def connection(self) -> Connection:
        connection = self._connection
        if connection is None:
            connection = self._connection = Connection(self._engine, connection=self._raw)
            connection.begin()  # joins the open transaction; see _sqlite_engine's "begin"
        return connection

    @property
    def session(self) -> Session:
        session = self._session
        if session is None:
            session = self._session = self._factory(bind=self.connection)
        return session

    @property
    def has_session(self) -> bool:
        return self._session is not None

    def _end(self, commit: bool) -> None:
        """Commit (or roll back) the transaction; a failed commit is followed by a rollback."""
        session, connection = self._session, self._connection
        try:
            # The session controls the connection's transaction ("control_fully"): its
            # commit flushes and commits, its rollback rolls the whole request back.
            if session is not None:
                if commit:
                    session.commit()
                else:
                    session.rollback()
            if connection is None:
                dbapi_connection = self._raw.dbapi_connection
                if commit:
                    dbapi_connection.commit()
                else:
                    dbapi_connection.rollback()
            elif connection.in_transaction():  # a session that never ran a statement
                if commit:
                    connection.commit()
                else:
                    connection.rollback()
        finally:
            if session is not None and not commit:
                session.close()
        if session is not None and commit:
            session.close()

    def _close(self) -> None:
        """Give the connection back to the pool (which rolls back anything left open)."""
        if self._reads:  # the pool's next user gets a transaction again
            self._raw.info.pop(_AUTOCOMMIT_READS, None)
            with contextlib.suppress(Exception):  # a broken connection is discarded anyway
                self._raw.driver_connection.autocommit = False
        if self._connection is not None:
            self._connection.close()
        else:
            self._raw.close()


_AUTOCOMMIT_READS = "cvatcore_autocommit_reads"
# Statements that may run outside a transaction: plain SELECTs that lock nothing.
_LOCKING = (" FOR UPDATE", " FOR NO KEY UPDATE", " FOR SHARE", " FOR KEY SHARE")


def _begin_before_write(conn: Connection, cursor: Any, statement: str, parameters: Any,
                        context: Any, executemany: bool) -> None:
    """A read ``Work`` on PostgreSQL runs in autocommit (as Django, so CVAT, runs every
    request): no ``BEGIN`` and ``COMMIT``, two of a list request's five round trips to the
    server. Reads lose nothing by it (each statement of a ``READ COMMITTED`` transaction
    sees its own snapshot anyway). The first statement that writes or locks rows ends
    autocommit, so that it and everything after it form one transaction that commits at the
    end of the work, or rolls back when it fails, as in a write ``Work``."""
    if not conn.info.get(_AUTOCOMMIT_READS):
        return
    if statement.lstrip()[:6].upper() == "SELECT" and not any(
        lock in statement for lock in _LOCKING
    ):
        return
    driver_connection = conn.connection.driver_connection
    if driver_connection.autocommit:
        driver_connection.autocommit = False


class Database:
    """The engine and its transactions: ``work`` (requests) and ``unit_of_work`` (ORM)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._writer_engine = engine.execution_options(cvatcore_write=True)
        self._joined = sessionmaker(expire_on_commit=False, join_transaction_mode="control_fully")
        sqlite = engine.dialect.name == "sqlite"
        self._sqlite_begin = ("BEGIN", "BEGIN IMMEDIATE") if sqlite else (None, None)
        self._writers = WriterQueue() if sqlite else None
        # How many threads serve requests normally (see core.api.context.RequestThreads):
        # SQLite's calls are in-process and short, so a second thread only adds GIL
        # hand-offs; with a server, a thread waiting on the network leaves the GIL to another.
        self.request_threads = 1 if sqlite else 2
        # Reads on PostgreSQL run in autocommit until they write (see _begin_before_write).
        self._autocommit_reads = engine.dialect.name == "postgresql"
        if self._autocommit_reads and not event.contains(
            engine, "before_cursor_execute", _begin_before_write
        ):
            event.listen(engine, "before_cursor_execute", _begin_before_write)

    def local_writes(self) -> int:
        """A number that changes whenever a writer of this process ends (SQLite; 0 on other
        databases): ``jobs/watch.py`` tells this process's commits from others' by it."""
        return self._writers.turns if self._writers is not None else 0

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def unit_of_work(self, write: bool = True) -> Iterator[Session]:
        """A session whose work commits at the end of the block or rolls back on error: the
        ORM face of ``work``, for code outside a request (CLI, tests, start-up)."""
        with self.work(write) as work:
            yield work.session

    def work(self, write: bool = True) -> Work:
        """One transaction (``with db.work(write) as work:``), as ``unit_of_work``, whose
        layers are made on first use (see ``Work``): it commits at the end of the block, or
        rolls back when the block raises. Writers on SQLite take the write lock at the start
        (``BEGIN IMMEDIATE``); other drivers open the transaction with the first statement,
        and on PostgreSQL a reader's with its first write (``_begin_before_write``)."""
        if write:
            return Work(self._writer_engine, self._joined, self._sqlite_begin[1],
                        writers=self._writers)
        return Work(self.engine, self._joined, self._sqlite_begin[0], self._autocommit_reads)

    def dispose(self) -> None:
        self.engine.dispose()
