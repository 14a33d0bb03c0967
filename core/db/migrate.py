"""Alembic, driven from code: the core's revisions plus every plugin's branch."""

from __future__ import annotations

from pathlib import Path

import pluggy
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from cvatcore.core.plugins import PluginError

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def plugin_version_locations(pm: pluggy.PluginManager) -> list[str]:
    """The versions directories plugins add through ``register_migrations``."""
    locations: dict[str, str] = {}

    for impl in pm.hook.register_migrations.get_hookimpls():

        def register(label: str, path: str | Path, _plugin: str = impl.plugin_name) -> None:
            if label in locations:
                raise PluginError(f"migration branch {label!r} is registered twice ({_plugin})")
            if not Path(path).is_dir():
                raise PluginError(f"plugin {_plugin}: migrations directory {path} does not exist")
            locations[label] = str(path)

        impl.function(register=register)
    return list(locations.values())


def alembic_config(engine: Engine, pm: pluggy.PluginManager) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    locations = [str(MIGRATIONS_DIR / "versions"), *plugin_version_locations(pm)]
    config.set_main_option("version_locations", " ".join(locations))
    config.set_main_option("path_separator", "space")
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, pm: pluggy.PluginManager) -> None:
    """Bring the database to the newest revision of the core and of every plugin branch."""
    command.upgrade(alembic_config(engine, pm), "heads")


def current_heads(engine: Engine, pm: pluggy.PluginManager) -> set[str]:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())
