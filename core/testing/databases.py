"""Throw-away databases: a SQLite file, or a fresh PostgreSQL database dropped afterwards."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

#: The PostgreSQL server tests use; trust auth on 127.0.0.1:5432 by default.
POSTGRES_ADMIN_URL = os.environ.get(
    "CVATCORE_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def sqlite_url(directory: Path) -> str:
    return f"sqlite:///{directory / 'cvatcore.db'}"


@contextmanager
def postgres_database() -> Iterator[str]:
    """Create a database with a unique name, yield its URL, drop it at the end."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"cvatcore_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(POSTGRES_ADMIN_URL).set(database=name)
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
