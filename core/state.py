"""What one application instance holds: settings, database, plugins and providers."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pluggy

from cvatcore.core.bus import EventBus, Wakeups
from cvatcore.core.config import Settings
from cvatcore.core.db.engine import Database, make_engine
from cvatcore.core.plugins import (
    PluginError,
    ProviderEntry,
    Registries,
    collect_providers,
    make_plugin_manager,
    provider_options,
    validated_options,
)
from cvatcore.core.registration import Registrations, registrations_of, require_callable

#: Engine execution option holding ``[analytics] sinks`` (see services/event_outbox.py).
EVENT_SINKS_OPTION = "cvatcore_event_sinks"


@dataclass
class AppState:
    settings: Settings
    pm: pluggy.PluginManager
    registries: Registries
    db: Database
    #: What every ``register_*`` hook registered, each called once (``core/registration.py``):
    #: the app's routes, ``GET /api/schema``, job kinds, migrations all read it.
    registrations: Registrations
    auth_backends: list[Any] = field(default_factory=list)
    bus: EventBus = field(default_factory=EventBus)
    #: In-process hints that an agent queue got work (``watch`` streams listen).
    wakeups: Wakeups = field(default_factory=Wakeups)
    #: Background job kinds: name -> ``handler(job_context)`` (see ``core/jobs``).
    job_kinds: dict[str, Any] = field(default_factory=dict)
    #: CVAT cloud-storage types (provider_type -> CloudType) offered by plugins.
    cloud_types: dict[str, Any] = field(default_factory=dict)
    _media: Any = None
    _secrets: Any = None
    #: Providers built for cloud storages, by everything that defines them (cloud_types).
    cloud_providers: dict[tuple[Any, ...], Any] = field(default_factory=dict)
    #: Event sinks built for drains, by name, kept between drains (services/event_drain.py).
    event_sinks: dict[str, Any] = field(default_factory=dict)
    #: Plugins' validated ``[plugins.<name>]`` sections (``core/plugin_settings.py``).
    plugin_sections: dict[str, Any] = field(default_factory=dict)
    _inference: list[tuple[str, Any]] | None = None

    @classmethod
    def build(cls, settings: Settings, pm: pluggy.PluginManager | None = None) -> AppState:
        """Load plugins, check the providers the settings name, build the auth chain and
        open the database. Every problem is a ``PluginError`` that names the setting."""
        pm = pm or make_plugin_manager(settings.plugins.disabled, settings.plugins.required)
        registries = collect_providers(pm)
        check_provider_names(settings, registries)
        auth = settings.auth
        backends = [
            registries.get("auth", name).build(auth.options.get(name)) for name in auth.backends
        ]
        from cvatcore.core.secrets import install_log_scrubber

        install_log_scrubber()
        from cvatcore.core.cloud_types import collect_cloud_types
        from cvatcore.core.jobs.kinds import collect_job_kinds
        from cvatcore.core.jobs.plugin_queue import install as install_plugin_queue

        job_kinds = collect_job_kinds(pm)
        engine = make_engine(settings)
        install_plugin_queue(engine, job_kinds)  # before Database() copies the engine
        # The events outbox subscriber reads it from its connection: no sinks, no events.
        engine.update_execution_options(**{EVENT_SINKS_OPTION: tuple(settings.analytics.sinks)})
        state = cls(settings, pm, registries, Database(engine), registrations_of(pm), backends,
                    job_kinds=job_kinds, cloud_types=collect_cloud_types(pm))
        for reg in state.registrations.of("register_domain_subscribers"):
            require_callable(reg, "domain subscriber", "handler")
            state.bus.subscribe(reg.value, reg.options.get("scopes"),
                                committed=bool(reg.options.get("committed", False)))
        from cvatcore.core.plugin_settings import validate_plugin_sections

        state.plugin_sections = validate_plugin_sections(settings, pm)
        return state

    # -- what ``cvatcore.hooks.settings`` asks of a running application ----------------------

    def plugin_settings_section(self, name: str) -> Any:
        from cvatcore.core.plugin_settings import section

        return section(self.plugin_sections, name)

    def provider_config(self, kind: str, name: str) -> Any:
        from cvatcore.core.plugin_settings import provider_options_config

        return provider_options_config(self.settings, self.registries, kind, name)

    @property
    def secrets(self) -> Any:
        """The secrets component (``core/secrets.py``) with the configured keys."""
        if self._secrets is None:
            from cvatcore.core.secrets import Secrets

            self._secrets = Secrets.from_settings(self.settings)
        return self._secrets

    def configured_storage(self, name: str) -> Any:
        """The storage provider ``name`` with its ``[storage.options.NAME]``; a ``local`` one
        without a root is ``<data_dir>/share``. The one place the share is decided: the
        ``server_files`` check of a request, the job that copies them and ``cvatcore mount``
        all build it here (the root made absolute once, not per working directory)."""
        options = dict(self.settings.storage.options.get(name, {}))
        if name == "local":
            options.setdefault("root", str(self.settings.server.data_dir / "share"))
            options["root"] = str(Path(options["root"]).resolve())
        return self.provider("storage", name, options)

    @property
    def media(self) -> Any:
        """The storage provider that keeps task media (uploads, chunks): ``[storage] media``,
        a ``local`` directory under the data directory by default."""
        if self._media is None:
            media = self.settings.storage.media
            options = dict(media.options)
            if media.provider == "local":
                options.setdefault("root", str(self.settings.server.data_dir / "media"))
            self._media = self.provider("storage", media.provider, options)
        return self._media

    def inference_backends(self) -> list[tuple[str, Any]]:
        """``(name, backend)`` for each of ``[inference] backends``, in order, built on first
        use (a model server's client is made once per process, not per call)."""
        if self._inference is None:
            inference = self.settings.inference
            self._inference = [(name, self.provider("inference", name,
                                                    inference.options.get(name)))
                               for name in inference.backends]
        return self._inference

    def provider(self, kind: str, name: str, options: dict[str, Any] | None = None) -> Any:
        return self.registries.get(kind, name).build(options)


def check_provider_names(settings: Settings, registries: Registries) -> None:
    """Fail on a provider name the settings use but no plugin registered, or on bad options."""
    s = settings
    chosen = {  # kind -> (the setting that names providers, the names it holds)
        "storage": ("[storage] default", [s.storage.default]),
        "auth": ("[auth] backends", s.auth.backends),
        "events": ("[analytics] sinks", s.analytics.sinks),
        "webhooks": ("[webhooks] transport", [s.webhooks.transport]),
        "inference": ("[inference] backends", s.inference.backends),
    }
    for kind, (setting, names) in chosen.items():
        for name in names:
            _entry(registries, kind, name, setting)
        for name, values in provider_options(settings, kind).items():
            if kind == "auth" and name not in s.auth.backends:
                raise PluginError(f"[auth.options.{name}] is set but {name!r} is not in backends")
            validated_options(registries, kind, name, values)


def _entry(registries: Registries, kind: str, name: str, setting: str) -> ProviderEntry:
    try:
        return registries.get(kind, name)
    except PluginError as exc:
        raise PluginError(f"{setting}: {exc}") from None
