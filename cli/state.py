"""Loading the settings and the application state for a command: shared by ``cvatcore`` and
the commands in their own modules (``mount``), which therefore never import ``cli.main``."""

from __future__ import annotations

from typing import Any

import click

from cvatcore.core.config import ConfigError, Settings, load_settings
from cvatcore.core.plugins import PluginError, make_plugin_manager


def settings_or_exit() -> Settings:
    """The settings file and environment, loaded and checked; errors exit 1."""
    try:
        return load_settings()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def state_or_exit() -> Any:
    """The application state the settings describe, with plugins loaded; errors exit 1."""
    from cvatcore.core.state import AppState

    settings = settings_or_exit()
    extra = click.get_current_context().find_root().obj or ()
    try:
        pm = make_plugin_manager(
            settings.plugins.disabled, settings.plugins.required, extra_plugins=extra
        )
        return AppState.build(settings, pm)
    except (PluginError, ConfigError) as exc:
        raise click.ClickException(str(exc)) from None
