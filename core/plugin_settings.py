"""Plugins' own settings sections (``[plugins.<name>]``) and the access plugins get to them.

Plugins declare a model per section with the ``register_settings`` hook; the sections are
validated once (server start-up, or the first time a command asks) and read through
``cvatcore.hooks.settings``, which talks to ``SettingsAccess`` here (the application state
and the running ``cvatcore`` command both offer it), so that no plugin imports
``cvatcore.core.config``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pluggy
from pydantic import BaseModel, ValidationError

from cvatcore.core.config import Settings
from cvatcore.core.plugins import (
    PROVIDER_SECTIONS,
    PluginError,
    Registries,
    provider_options,
    validated_options,
    validation_problems,
)
from cvatcore.core.registration import check_unique, registrations_of

#: ``[plugins]`` keys of the core's own; no plugin section may take these names.
RESERVED = frozenset({"disabled", "required"})



def collect_settings_models(pm: pluggy.PluginManager) -> dict[str, tuple[type[BaseModel], str]]:
    """Every ``register_settings`` registration: section name -> (model, plugin name)."""
    found = registrations_of(pm).of("register_settings")
    check_unique(found, "settings section [plugins.{key}]", pm)
    models: dict[str, tuple[type[BaseModel], str]] = {}
    for reg in found:
        name, model = reg.name, reg.value
        if name in RESERVED:
            raise PluginError(f"plugin {reg.plugin} declared a settings section named "
                              f"{name!r}; pick another name")
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            raise PluginError(f"plugin {reg.plugin}: the model of [plugins.{name}] must be a "
                              "pydantic model (cvatcore.hooks.ProviderConfig)")
        models[name] = (model, reg.plugin)
    return models


def validate_plugin_sections(settings: Settings, pm: pluggy.PluginManager) -> dict[str, Any]:
    """Each declared section validated against its model; a ``PluginError`` names every bad
    key (never its value, which may be a secret) and every table nobody declared."""
    models = collect_settings_models(pm)
    tables = settings.plugins.sections()
    disabled = set(settings.plugins.disabled)
    unknown = sorted(set(tables) - set(models) - disabled)
    if unknown:
        declared = ", ".join(f"[plugins.{n}]" for n in sorted(models)) or "none"
        raise PluginError(
            f"[plugins.{unknown[0]}] is set but no installed plugin declares it "
            f"(declared: {declared}); install the plugin or remove the table"
        )
    values: dict[str, Any] = {}
    for name, (model, plugin) in models.items():
        try:
            values[name] = model(**tables.get(name, {}))
        except ValidationError as exc:
            problems = validation_problems(exc, "(section)")
            raise PluginError(f"[plugins.{name}] (plugin {plugin}): {problems}") from None
    return values


def provider_options_config(settings: Settings, registries: Registries, kind: str,
                            name: str) -> Any:
    """The validated options of one provider, or ``None`` when the settings have none."""
    if kind not in PROVIDER_SECTIONS:
        raise ValueError(f"unknown provider kind {kind!r} (kinds: {', '.join(PROVIDER_SECTIONS)})")
    options = provider_options(settings, kind).get(name)
    if options is None:
        return None
    return validated_options(registries, kind, name, options)


def section(sections: dict[str, Any], name: str) -> Any:
    """The validated ``[plugins.<name>]`` among ``sections``; a ``LookupError`` when no
    installed plugin declares it."""
    if name not in sections:
        raise LookupError(f"no installed plugin declares [plugins.{name}]")
    return sections[name]


class SettingsAccess:
    """What ``cvatcore.hooks.settings`` asks inside a ``cvatcore`` command: the command's
    settings, plugins and sections, loaded on first use; problems end the command (exit 1)
    with the message, as the core's own commands report them."""

    def __init__(self, extra_plugins: Iterable[tuple[object, str]] = ()) -> None:
        self._extra = list(extra_plugins)
        self._loaded: tuple[Settings, Registries, dict[str, Any]] | None = None

    def _load(self) -> tuple[Settings, Registries, dict[str, Any]]:
        if self._loaded is None:
            import click

            from cvatcore.core.config import ConfigError, load_settings
            from cvatcore.core.plugins import collect_providers, make_plugin_manager

            try:
                settings = load_settings()
                pm = make_plugin_manager(settings.plugins.disabled, settings.plugins.required,
                                         extra_plugins=self._extra)
                self._loaded = (settings, collect_providers(pm),
                                validate_plugin_sections(settings, pm))
            except (ConfigError, PluginError) as exc:
                raise click.ClickException(str(exc)) from None
        return self._loaded

    def plugin_settings_section(self, name: str) -> Any:
        return section(self._load()[2], name)

    def provider_config(self, kind: str, name: str) -> Any:
        settings, registries, _ = self._load()
        try:
            return provider_options_config(settings, registries, kind, name)
        except PluginError as exc:
            import click

            raise click.ClickException(str(exc)) from None
