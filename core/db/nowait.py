"""Writes that may be skipped: done at once in their own short transaction, or not at all.

For bookkeeping on the read path (an access token's "last used" date): a request that only
reads must never wait for the write lock, which a long write (a task's data being created)
may hold for minutes on SQLite, nor fail because of it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from cvatcore.core.db.engine import Database

logger = logging.getLogger("cvatcore.db")

#: How long PostgreSQL may wait for a row lock before the write is given up.
PG_LOCK_TIMEOUT = "50ms"


def write_or_skip(db: Database, write: Callable[[Connection], Any]) -> bool:
    """Run ``write(connection)`` in a transaction of its own and commit; ``False`` (nothing
    written) when it would have to wait for a lock another transaction holds."""
    with db.engine.connect() as connection:
        sqlite = db.is_sqlite
        driver = connection.connection.driver_connection  # before the transaction begins
        saved = None
        try:
            if sqlite:
                # The pool's connections wait up to 30 s for the lock (busy_timeout); this
                # one asks once. BEGIN IMMEDIATE then fails at once if a writer is active.
                saved = driver.execute("PRAGMA busy_timeout").fetchone()[0]
                driver.execute("PRAGMA busy_timeout=0")
            writer = connection.execution_options(cvatcore_write=True)
            with writer.begin():
                if not sqlite:
                    writer.execute(text(f"SET LOCAL lock_timeout = '{PG_LOCK_TIMEOUT}'"))
                write(writer)
            return True
        except (DBAPIError, db.engine.dialect.loaded_dbapi.Error) as exc:
            # (the "begin" event's BEGIN IMMEDIATE fails with the driver's own error)
            logger.debug("skipped a write that would wait for a lock: %s", exc)
            return False
        finally:
            if saved is not None:
                driver.execute(f"PRAGMA busy_timeout={int(saved)}")
