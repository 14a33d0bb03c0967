"""What one application instance holds: settings, database, plugins and providers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pluggy

from cvatcore.core.config import Settings
from cvatcore.core.db.engine import Database, make_engine
from cvatcore.core.plugins import (
    PluginError,
    Registries,
    collect_providers,
    make_plugin_manager,
)


@dataclass
class AppState:
    settings: Settings
    pm: pluggy.PluginManager
    registries: Registries
    db: Database
    auth_backends: list[Any] = field(default_factory=list)

    @classmethod
    def build(cls, settings: Settings, pm: pluggy.PluginManager | None = None) -> AppState:
        """Load plugins, build the providers the settings name, and open the database."""
        pm = pm or make_plugin_manager(settings.plugins.disabled, settings.plugins.required)
        registries = collect_providers(pm)
        state = cls(settings, pm, registries, Database(make_engine(settings)))
        state.auth_backends = [
            registries.get("auth", name).build(settings.auth.options.get(name))
            for name in settings.auth.backends
        ]
        state.check_provider_names()
        return state

    def check_provider_names(self) -> None:
        """Every backend named in the settings must be registered (and its options valid)."""
        s = self.settings
        named = [
            ("storage", [s.storage.default, *s.storage.options], s.storage.options),
            ("events", s.analytics.sinks, s.analytics.options),
            ("webhooks", [s.webhooks.transport], s.webhooks.options),
            ("inference", s.inference.backends, s.inference.options),
        ]
        for kind, names, options in named:
            for name in dict.fromkeys(names):
                self.registries.get(kind, name).config_model(**(options.get(name) or {}))
        for name in s.auth.options:
            if name not in s.auth.backends:
                raise PluginError(f"[auth.options.{name}] is set but {name!r} is not in backends")

    def provider(self, kind: str, name: str, options: dict[str, Any] | None = None) -> Any:
        return self.registries.get(kind, name).build(options)
