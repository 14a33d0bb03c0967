"""The plugin manager and the provider registries built from its ``register_*`` hooks.

Load order (``make_plugin_manager``), as pytest documents its own:

1. every name in ``[plugins] disabled`` is blocked (built-ins too, except essential ones);
2. the hook specs of ``cvatcore.hooks`` are added;
3. the built-in plugins in ``BUILTIN_PLUGINS`` are registered, through the same
   ``pm.register`` call as any external plugin;
4. the ``cvatcore`` entry points of installed distributions are loaded, unless
   ``CVATCORE_DISABLE_PLUGIN_AUTOLOAD`` is set; ``CVATCORE_LOAD_PLUGINS=a,b`` loads only the
   named distributions' entry points;
5. every hook implementation must match a hook spec, else start-up stops (``check_pending``);
6. every name in ``[plugins] required`` must be registered, else start-up stops.

Nothing is loaded at import time: each application, CLI call and test builds its own manager.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.metadata as md
import os
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pluggy

from cvatcore.core.registration import (
    PluginError,
    Registration,
    Registrations,
    check_unique,
    plugin_label,
    registrations_of,
    require_callable,
    route_methods,
)
from cvatcore.hooks import SPEC_MODULES, EmptyConfig, ProviderConfig
from cvatcore.hooks.markers import PROJECT_NAME

__all__ = ["PluginError", "PluginManager", "Registrations", "make_plugin_manager",
           "collect_providers", "registrations_of"]

BUILTIN_PLUGINS = (
    "cvatcore.core.builtin.rest_api",
    "cvatcore.core.builtin.auth_local",
    "cvatcore.core.builtin.storage_local",
    "cvatcore.core.builtin.events_log",
    "cvatcore.core.builtin.events_sql",
    "cvatcore.core.builtin.analytics",
    "cvatcore.core.builtin.webhooks_http",
    "cvatcore.core.builtin.webhooks_events",
    "cvatcore.core.builtin.job_kinds",
    "cvatcore.core.builtin.dataset_formats",
    "cvatcore.core.builtin.inference_opencv",
    "cvatcore.core.builtin.inference_native",
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
#: The settings section of each provider kind: its options live under
#: ``[<section>.options.<name>]``.
PROVIDER_SECTIONS = {
    "storage": "storage", "auth": "auth", "events": "analytics", "webhooks": "webhooks",
    "inference": "inference",
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


class PluginManager(pluggy.PluginManager):
    """pluggy's manager, plus the distribution each entry-point plugin was loaded from."""

    def __init__(self) -> None:
        super().__init__(PROJECT_NAME)
        #: plugin name -> (distribution name, version), for plugins loaded from entry points.
        self.distributions: dict[str, tuple[str, str]] = {}


def make_plugin_manager(
    disabled: Iterable[str] = (),
    required: Iterable[str] = (),
    extra_plugins: Iterable[tuple[object, str]] = (),
) -> PluginManager:
    """Build a plugin manager in the documented order (see the module docstring).

    ``extra_plugins`` are ``(plugin, name)`` pairs registered after the built-ins, as if they
    had been installed (tests use them).
    """
    pm = PluginManager()
    for name in disabled:
        if name in ESSENTIAL_PLUGINS:
            raise PluginError(f"plugin {name} is essential and cannot be disabled")
        pm.set_blocked(name)
    for module_name in SPEC_MODULES:
        pm.add_hookspecs(importlib.import_module(module_name))
    for module_name in BUILTIN_PLUGINS:
        if not pm.is_blocked(module_name):
            _register(pm, importlib.import_module(module_name), module_name)
    for plugin, name in extra_plugins:
        if not pm.is_blocked(name):
            _register(pm, plugin, name)
    _load_entry_points(pm)
    _check_pending(pm)
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


def _register(pm: PluginManager, plugin: object, name: str) -> None:
    try:
        pm.register(plugin, name=name)
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"plugin {name} cannot be registered: {exc}") from None
    except ValueError as exc:  # the same name or object registered twice
        raise PluginError(f"plugin {name} cannot be registered: {exc}") from None


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _load_entry_points(pm: PluginManager) -> None:
    """Step 4: the ``cvatcore`` entry points, all of them or the allowlisted distributions'."""
    if os.environ.get("CVATCORE_DISABLE_PLUGIN_AUTOLOAD"):
        return
    allow = os.environ.get("CVATCORE_LOAD_PLUGINS")
    wanted = None if allow is None else {_normalize(n) for n in allow.split(",") if n.strip()}
    for dist in md.distributions():
        dist_name = dist.metadata["Name"]
        if wanted is not None and _normalize(dist_name) not in wanted:
            continue
        for ep in dist.entry_points:
            if ep.group != PROJECT_NAME or pm.is_blocked(ep.name) or pm.has_plugin(ep.name):
                continue
            try:
                plugin = ep.load()
            except Exception as exc:
                raise PluginError(
                    f"plugin {ep.name} ({dist_name}) failed to import {ep.value}: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
            _register(pm, plugin, ep.name)
            pm.distributions[ep.name] = (dist_name, dist.version)


def _check_pending(pm: PluginManager) -> None:
    """Step 5: like pluggy's ``check_pending``, but naming the plugin and every unknown hook."""
    known = sorted({name for module in SPEC_MODULES for name in _spec_names(module)})
    problems = []
    for name, plugin in pm.list_name_plugin():
        if plugin is None:  # a blocked name
            continue
        for caller in pm.get_hookcallers(plugin) or []:
            if caller.has_spec():
                continue
            impls = [i for i in caller.get_hookimpls() if i.plugin is plugin]
            if all(i.optionalhook for i in impls):
                continue
            close = difflib.get_close_matches(caller.name, known, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            problems.append(f"plugin {name} implements {caller.name}, which is no hook{hint}")
    if problems:
        raise PluginError("; ".join(problems) + ". Known hooks: " + ", ".join(known))


def _spec_names(module_name: str) -> list[str]:
    module = importlib.import_module(module_name)
    return [name for name, value in vars(module).items() if hasattr(value, "cvatcore_spec")]


def _is_present(pm: PluginManager, name: str) -> bool:
    if pm.get_plugin(name) is not None:
        return True
    wanted = _normalize(name)
    return any(_normalize(dist) == wanted for dist, _ in pm.distributions.values())


def plugin_distribution(pm: pluggy.PluginManager, plugin: object) -> tuple[str, str]:
    """The (distribution name, version) a plugin came from; other plugins report cvatcore's."""
    name = pm.get_name(plugin)
    distributions = getattr(pm, "distributions", {})
    if name in distributions:
        return distributions[name]
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

    def validate(self, options: dict[str, Any] | None) -> ProviderConfig:
        """``options`` as an instance of the provider's config model, else a ``PluginError``
        that names each bad option (never its value, which may be a secret)."""
        from pydantic import ValidationError

        try:
            return self.config_model(**(options or {}))
        except ValidationError as exc:
            raise PluginError(
                f"invalid options for {self.kind} provider {self.name!r} "
                f"(from plugin {self.plugin}): {validation_problems(exc, '(options)')}"
            ) from None

    def build(self, options: dict[str, Any] | None) -> Any:
        """Validate ``options`` against the provider's config model and call its factory."""
        return self.factory(self.validate(options))


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


def validation_problems(exc: Any, whole: str) -> str:
    """A pydantic ``ValidationError`` as "key: message; ..." (``whole`` names an error of the
    whole table); never the values, which may be secrets."""
    return "; ".join(
        f"{'.'.join(map(str, e['loc'])) or whole}: {e['msg']}" for e in exc.errors()
    )


def provider_options(settings: Any, kind: str) -> dict[str, Any]:
    """The ``[<section>.options.*]`` tables of one provider kind in ``settings``."""
    return getattr(settings, PROVIDER_SECTIONS[kind]).options


def validated_options(registries: Registries, kind: str, name: str,
                      values: dict[str, Any] | None) -> ProviderConfig:
    """``values`` validated by provider ``name``'s config model; any problem (no such
    provider, a bad option) is a ``PluginError`` that starts with the table's place in the
    settings, ``[<section>.options.<name>]``."""
    setting = f"[{PROVIDER_SECTIONS[kind]}.options.{name}]"
    try:
        return registries.get(kind, name).validate(values)
    except PluginError as exc:
        raise PluginError(f"{setting}: {exc}") from None


def collect_providers(pm: pluggy.PluginManager) -> Registries:
    """The provider registries, from the ``register_*`` hooks' one call (``Registrations``).

    A name registered by two plugins is refused (naming both) instead of silently renamed.
    """
    registrations = registrations_of(pm)
    registries = Registries()
    for kind, hook_name in PROVIDER_KINDS.items():
        found = registrations.of(hook_name)
        check_unique(found, f"{kind} provider {{key!r}}", pm,
                     hint="; uninstall one of them or list it in [plugins] disabled")
        registries.kinds[kind] = {reg.name: _provider_entry(kind, reg, pm) for reg in found}
    return registries


def _provider_entry(kind: str, reg: Registration, pm: pluggy.PluginManager) -> ProviderEntry:
    label = plugin_label(pm, reg.plugin)
    config_model = reg.options.get("config_model", EmptyConfig)
    require_callable(reg, f"{kind} provider", "factory", label)
    if not (isinstance(config_model, type) and issubclass(config_model, ProviderConfig)):
        raise PluginError(
            f"{kind} provider {reg.name!r} from {label}: config_model must subclass "
            "cvatcore.hooks.ProviderConfig"
        )
    description = reg.options.get("description", "")
    return ProviderEntry(kind, reg.name, reg.value, config_model, reg.plugin, description)


def describe_plugins(pm: pluggy.PluginManager, registries: Registries) -> list[dict[str, Any]]:
    """Each plugin's name, distribution, version, hooks, provider names and what else it
    registered (job kinds, routes, ...; for introspection)."""
    owned: dict[str, dict[str, list[str]]] = {}
    for kind, registry in registries.kinds.items():
        for entry in registry.values():
            owned.setdefault(entry.plugin, {}).setdefault(kind, []).append(entry.name)
    registered: dict[str, dict[str, list[str]]] = {}
    provider_hooks = set(PROVIDER_KINDS.values())
    for hook, found in registrations_of(pm).all().items():
        if hook in provider_hooks:
            continue
        for reg in found:
            label = reg.name
            if hook == "register_routes":
                label = f"{' '.join(route_methods(reg))} {reg.name}"
            what = hook.removeprefix("register_")
            registered.setdefault(reg.plugin, {}).setdefault(what, []).append(label)
    result = []
    for name, plugin in sorted(pm.list_name_plugin(), key=lambda item: item[0]):
        if plugin is None:
            continue
        dist, version = plugin_distribution(pm, plugin)
        hooks = sorted(caller.name for caller in pm.get_hookcallers(plugin) or [])
        providers = owned.get(name, {})
        result.append(
            {
                "name": name,
                "distribution": dist,
                "version": version,
                "builtin": name.startswith("cvatcore.core.builtin."),
                "hooks": hooks,
                "providers": {k: sorted(v) for k, v in sorted(providers.items())},
                "registered": {k: sorted(v) for k, v in sorted(registered.get(name, {}).items())},
            }
        )
    return result
