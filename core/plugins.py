"""The plugin manager and the provider registries built from its ``register_*`` hooks.

Load order (``make_plugin_manager``), as pytest documents its own:

1. every name in ``[plugins] disabled`` is blocked (built-ins too, except essential ones);
2. the hook specs of ``cvatcore.hooks`` are added;
3. the built-in plugins in ``BUILTIN_PLUGINS`` are registered, through the same
   ``pm.register`` call as any external plugin;
4. the ``cvatcore`` entry points of installed distributions are loaded, unless
   ``CVATCORE_DISABLE_PLUGIN_AUTOLOAD`` is set; ``CVATCORE_LOAD_PLUGINS=a,b`` loads only the
   named distributions' entry points;
5. ``check_pending()`` rejects an implementation of a hook that does not exist;
6. every name in ``[plugins] required`` must be registered, else start-up stops.

Nothing is loaded at import time: each application, CLI call and test builds its own manager.
"""

from __future__ import annotations

import importlib
import importlib.metadata as md
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pluggy

from cvatcore.hooks import SPEC_MODULES, EmptyConfig, ProviderConfig
from cvatcore.hooks.markers import PROJECT_NAME

BUILTIN_PLUGINS = (
    "cvatcore.core.builtin.rest_api",
    "cvatcore.core.builtin.auth_local",
    "cvatcore.core.builtin.storage_local",
    "cvatcore.core.builtin.events_log",
    "cvatcore.core.builtin.webhooks_http",
)
# Without local accounts nobody could sign in to fix the configuration.
ESSENTIAL_PLUGINS = frozenset(
    {"cvatcore.core.builtin.rest_api", "cvatcore.core.builtin.auth_local"}
)

PROVIDER_KINDS = {
    "storage": "register_storage_providers",
    "auth": "register_auth_backends",
    "events": "register_event_sinks",
    "webhooks": "register_webhook_transports",
    "inference": "register_inference_backends",
}

# The distribution to install for well-known provider names (fsspec's `err` hints).
KNOWN_PROVIDERS = {
    ("storage", "s3"): "cvatcore-s3",
    ("storage", "azure"): "cvatcore-azure",
    ("storage", "gcs"): "cvatcore-gcs",
    ("storage", "gdrive"): "cvatcore-gdrive",
    ("auth", "ldap"): "cvatcore-ldap",
    ("events", "clickhouse"): "cvatcore-clickhouse",
    ("inference", "nuclio"): "cvatcore-nuclio",
}


class PluginError(Exception):
    """A plugin problem that stops start-up; the message names the plugins involved."""


def make_plugin_manager(
    disabled: Iterable[str] = (),
    required: Iterable[str] = (),
    extra_plugins: Iterable[tuple[object, str]] = (),
) -> pluggy.PluginManager:
    """Build a plugin manager in the documented order (see the module docstring)."""
    pm = pluggy.PluginManager(PROJECT_NAME)
    for name in disabled:
        if name in ESSENTIAL_PLUGINS:
            raise PluginError(f"plugin {name} is essential and cannot be disabled")
        pm.set_blocked(name)
    for module_name in SPEC_MODULES:
        pm.add_hookspecs(importlib.import_module(module_name))
    for module_name in BUILTIN_PLUGINS:
        if not pm.is_blocked(module_name):
            pm.register(importlib.import_module(module_name), name=module_name)
    for plugin, name in extra_plugins:
        pm.register(plugin, name=name)
    _load_entry_points(pm)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"plugin {exc.plugin!r} implements a hook that does not exist: {exc}")
    missing = [name for name in required if not _is_present(pm, name)]
    if missing:
        raise PluginError(
            "required plugins are not installed: " + ", ".join(missing)
            + " (pip install them, or remove them from [plugins] required)"
        )
    if os.environ.get("CVATCORE_TRACE_PLUGINS"):
        pm.trace.root.setwriter(lambda msg: sys.stderr.write(msg))
        pm.enable_tracing()
    return pm


def _load_entry_points(pm: pluggy.PluginManager) -> None:
    if os.environ.get("CVATCORE_DISABLE_PLUGIN_AUTOLOAD"):
        return
    allow = os.environ.get("CVATCORE_LOAD_PLUGINS")
    if allow is None:
        pm.load_setuptools_entrypoints(PROJECT_NAME)
        return
    wanted = {n.strip() for n in allow.split(",") if n.strip()}
    for dist in md.distributions():
        if dist.metadata["Name"] not in wanted:
            continue
        for ep in dist.entry_points:
            if ep.group == PROJECT_NAME and not pm.is_blocked(ep.name):
                if pm.get_plugin(ep.name) is None:
                    pm.register(ep.load(), name=ep.name)


def _is_present(pm: pluggy.PluginManager, name: str) -> bool:
    if pm.get_plugin(name) is not None:
        return True
    return any(dist.project_name == name for _, dist in pm.list_plugin_distinfo())


def plugin_distribution(pm: pluggy.PluginManager, plugin: object) -> tuple[str, str]:
    """The (distribution name, version) a plugin came from; built-ins report cvatcore's."""
    for plug, dist in pm.list_plugin_distinfo():
        if plug is plugin:
            return dist.project_name, dist.version
    from cvatcore.core import __version__

    return "cvatcore", __version__


@dataclass(frozen=True)
class ProviderEntry:
    """One registered provider: what operators name, who registered it, how to build it."""

    kind: str
    name: str
    factory: Callable[[Any], Any]
    config_model: type[ProviderConfig]
    plugin: str
    description: str = ""

    def build(self, options: dict[str, Any] | None) -> Any:
        """Validate ``options`` against the provider's config model and call its factory."""
        from pydantic import ValidationError

        try:
            config = self.config_model(**(options or {}))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or '(options)'}: {e['msg']}" for e in exc.errors()
            )
            raise PluginError(f"invalid options for {self.kind} provider {self.name!r}: {problems}")
        return self.factory(config)


@dataclass
class Registries:
    """Every provider kind's registry: ``registries.storage["local"]`` and so on."""

    kinds: dict[str, dict[str, ProviderEntry]] = field(default_factory=dict)

    def __getattr__(self, kind: str) -> dict[str, ProviderEntry]:
        try:
            return self.kinds[kind]
        except KeyError:
            raise AttributeError(kind) from None

    def get(self, kind: str, name: str) -> ProviderEntry:
        """The entry for ``name``, or a ``PluginError`` listing what is registered."""
        registry = self.kinds[kind]
        if name in registry:
            return registry[name]
        known = ", ".join(sorted(registry)) or "none"
        hint = KNOWN_PROVIDERS.get((kind, name))
        install = f"; install it with: pip install {hint}" if hint else ""
        raise PluginError(
            f"unknown {kind} provider {name!r} (registered: {known}){install}"
        )


def collect_providers(pm: pluggy.PluginManager) -> Registries:
    """Call every ``register_*`` hook once and build the registries.

    Each implementation gets its own ``register`` closure, so the registry knows which plugin
    owns which name and can refuse a duplicate instead of silently renaming it.
    """
    registries = Registries()
    for kind, hook_name in PROVIDER_KINDS.items():
        registry: dict[str, ProviderEntry] = {}
        for impl in getattr(pm.hook, hook_name).get_hookimpls():
            impl.function(register=_provider_register(kind, impl.plugin_name, registry))
        registries.kinds[kind] = registry
    return registries


def _provider_register(
    kind: str, plugin: str, registry: dict[str, ProviderEntry]
) -> Callable[..., None]:
    def register(
        name: str,
        factory: Callable[[Any], Any],
        *,
        config_model: type[ProviderConfig] = EmptyConfig,
        description: str = "",
    ) -> None:
        if not isinstance(name, str) or not name:
            raise PluginError(f"plugin {plugin} registered a {kind} provider with no name")
        if name in registry:
            raise PluginError(
                f"{kind} provider {name!r} is registered by two plugins: "
                f"{registry[name].plugin} and {plugin}; uninstall or disable one of them"
            )
        if not (isinstance(config_model, type) and issubclass(config_model, ProviderConfig)):
            raise PluginError(
                f"{kind} provider {name!r} from {plugin}: config_model must subclass "
                "cvatcore.hooks.ProviderConfig"
            )
        registry[name] = ProviderEntry(kind, name, factory, config_model, plugin, description)

    return register


def describe_plugins(pm: pluggy.PluginManager, registries: Registries) -> list[dict[str, Any]]:
    """Each plugin's name, distribution, version, hooks and provider names (for introspection)."""
    owned: dict[str, dict[str, list[str]]] = {}
    for kind, registry in registries.kinds.items():
        for entry in registry.values():
            owned.setdefault(entry.plugin, {}).setdefault(kind, []).append(entry.name)
    result = []
    for name, plugin in sorted(pm.list_name_plugin(), key=lambda item: item[0]):
        if plugin is None:
            continue
        dist, version = plugin_distribution(pm, plugin)
        hooks = sorted(caller.name for caller in pm.get_hookcallers(plugin) or [])
        result.append(
            {
                "name": name,
                "distribution": dist,
                "version": version,
                "builtin": name.startswith("cvatcore.core.builtin."),
                "hooks": hooks,
                "providers": {k: sorted(v) for k, v in sorted(owned.get(name, {}).items())},
            }
        )
    return result
