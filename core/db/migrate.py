"""Alembic, driven from code: the core's revisions plus every plugin's branch."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pluggy
from alembic import command
from alembic.config import Config
from alembic.util import CommandError
from sqlalchemy import Engine

from cvatcore.core.registration import PluginError, check_unique, registrations_of

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def plugin_version_locations(pm: pluggy.PluginManager) -> list[str]:
    """The versions directories plugins add through ``register_migrations`` (one hook call
    per plugin manager, kept: see ``core/registration.py``)."""
    found = registrations_of(pm).of("register_migrations")
    check_unique(found, "migration branch {key!r}", pm)
    for reg in found:
        if not Path(reg.value).is_dir():
            raise PluginError(f"plugin {reg.plugin}: migrations directory {reg.value} "
                              "does not exist")
    return [str(reg.value) for reg in found]


def alembic_config(engine: Engine, pm: pluggy.PluginManager) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    locations = [str(MIGRATIONS_DIR / "versions"), *plugin_version_locations(pm)]
    config.set_main_option("version_locations", " ".join(locations))
    config.set_main_option("path_separator", "space")
    return config


# Any fixed number; every replica that starts at once takes the same PostgreSQL lock.
_MIGRATION_LOCK = 0x63766174


def upgrade(engine: Engine, pm: pluggy.PluginManager, target: str = "heads") -> None:
    """Bring the database to ``target`` (by default the newest revision of the core and of
    every plugin branch).

    Replicas starting together are serialized: on PostgreSQL by an advisory lock, on SQLite
    by the write lock of the migration transaction (``cvatcore_write`` makes it BEGIN
    IMMEDIATE, see db/engine.py).
    """
    with _migrating(engine, pm) as config:
        command.upgrade(config, target)


def downgrade(engine: Engine, pm: pluggy.PluginManager, target: str) -> None:
    """Take the schema back to ``target``: a revision id (``0002_annotation_domain``), a
    branch's start (``example@base``) or ``base``. Tables and columns added after it are
    dropped with their rows, so back up first."""
    with _migrating(engine, pm) as config:
        command.downgrade(config, target)


def revisions(engine: Engine, pm: pluggy.PluginManager) -> list[str]:
    """Every revision the core and the loaded plugins provide, oldest first per branch."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(engine, pm))
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


@contextmanager
def _migrating(engine: Engine, pm: pluggy.PluginManager) -> Iterator[Config]:
    config = alembic_config(engine, pm)
    with engine.execution_options(cvatcore_write=True).connect() as conn:
        postgres = conn.dialect.name == "postgresql"
        if postgres:
            conn.exec_driver_sql(f"SELECT pg_advisory_lock({_MIGRATION_LOCK})")
            conn.commit()
        config.attributes["connection"] = conn
        try:
            yield config
        except CommandError as exc:
            missing = re.search(r"Can't locate revision identified by '([^']+)'", str(exc))
            if not missing:
                raise PluginError(f"migration failed: {exc}") from None
            raise PluginError(
                f"the database is at migration {missing.group(1)!r}, which no loaded plugin "
                "provides: install (or stop disabling) the plugin whose tables these are"
            ) from None
        finally:
            if postgres:
                conn.rollback()
                conn.exec_driver_sql(f"SELECT pg_advisory_unlock({_MIGRATION_LOCK})")
                conn.commit()


def current_heads(engine: Engine, pm: pluggy.PluginManager) -> set[str]:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())
