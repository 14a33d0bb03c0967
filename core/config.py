"""Settings: one TOML file, overridden by ``CVATCORE_<SECTION>__<KEY>`` environment variables.

Secrets may be written as ``{"$env": "NAME"}`` or ``{"$file": "/path"}`` anywhere in the file;
they are resolved when the file is read, and ``masked()`` hides them again for display.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

CONFIG_ENV = "CVATCORE_CONFIG"
ENV_PREFIX = "CVATCORE_"
MASK = "********"
_SECRET_KEY = re.compile(r"secret|passw|token|credential|(^|_)key$|connection_string|sas", re.I)


class ConfigError(Exception):
    """The configuration cannot be used; the message says what to change."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ServerSettings(_Section):
    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = Path("data")
    # Mirrors CVAT's "about" answer; clients compare the major.minor of `version`.
    name: str = "Computer Vision Annotation Tool"
    workers: int = 1
    # "json": one JSON object per log line (for log stores); "text" for people.
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    # A log line per request (method, path, status, time; with its request id).
    access_log: bool = False


class DatabaseSettings(_Section):
    # Empty means SQLite at <data_dir>/cvatcore.db, the embedded default.
    url: SecretStr | None = None
    pool_size: int = 20
    echo: bool = False
    # SQLite: how long a write waits for the write lock; past it the request is answered
    # 503 with Retry-After (never a 500).
    busy_timeout_seconds: float = Field(default=30.0, gt=0, le=3600)
    # How long start-up keeps trying to reach a database that does not answer yet (one
    # line per attempt names the setting and address); 0 tries once.
    connect_retry_seconds: float = Field(default=0.0, ge=0, le=3600)


class AuthSettings(_Section):
    backends: list[str] = Field(default_factory=lambda: ["local"])
    allow_registration: bool = True
    session_lifetime_hours: int = 24 * 14
    options: dict[str, dict[str, Any]] = Field(default_factory=dict)
    # The failed sign-in throttle (/api/auth/login, HTTP Basic, directory sign-ins): after
    # this many failures within the window for one user name, or from one client address,
    # sign-ins with a password are refused (429) for the lockout, which doubles with each
    # lockout in a row up to the maximum. 0 turns a limit off. The address limit is higher:
    # everyone behind one proxy or NAT shares an address.
    failed_sign_ins_per_user: int = Field(default=5, ge=0)
    failed_sign_ins_per_address: int = Field(default=30, ge=0)
    failed_sign_in_window_seconds: int = Field(default=300, ge=1)
    sign_in_lockout_seconds: int = Field(default=60, ge=1)
    sign_in_max_lockout_seconds: int = Field(default=3600, ge=1)


class MediaStoreSettings(_Section):
    """Where task media (uploaded files, chunks) are kept: any storage provider. The default
    is a ``local`` directory ``<data_dir>/media``; several replicas share a bucket instead."""

    provider: str = "local"
    options: dict[str, Any] = Field(default_factory=dict)


class StorageSettings(_Section):
    # The provider that ``server_files`` are read from (CVAT's "share").
    default: str = "local"
    options: dict[str, dict[str, Any]] = Field(default_factory=dict)
    media: MediaStoreSettings = Field(default_factory=MediaStoreSettings)
    # Let users create cloud storages that use this server's own cloud identity (instance
    # role, environment, workload identity) instead of stored keys. Off: whoever may create a
    # cloud storage could otherwise read every bucket the server can.
    allow_keyless_cloud_credentials: bool = False


class JobsSettings(_Section):
    """Background jobs (task data, exports, deliveries): how this process takes part."""

    # Worker threads inside ``cvatcore serve``; 0 leaves the work to ``cvatcore worker``.
    in_process_workers: int = 1
    poll_seconds: float = 1.0
    # A running job is leased to its worker for this long and the lease is renewed by a
    # heartbeat (every ``heartbeat_seconds``, a third of the lease by default) while the job
    # runs: a job whose worker died (kill -9, lost machine) is taken again by another worker
    # within about a lease, however long the job itself takes.
    lease_seconds: float = Field(default=30.0, gt=0)
    heartbeat_seconds: float | None = Field(default=None, gt=0)
    # How long finished requests stay visible in /api/requests.
    keep_finished_hours: int = 24

    @model_validator(mode="after")
    def _heartbeat_inside_lease(self) -> JobsSettings:
        if self.heartbeat_seconds is not None and self.heartbeat_seconds >= self.lease_seconds:
            raise ValueError("[jobs] heartbeat_seconds must be shorter than lease_seconds "
                             "(a lease would run out between two heartbeats)")
        return self

    def heartbeat(self) -> float:
        """Seconds between two renewals of a running job's lease."""
        return self.heartbeat_seconds or self.lease_seconds / 3


class AnalyticsSettings(_Section):
    """Where analytics events go (``[analytics] sinks``, several at once) and how the outbox
    is drained to them (``core/services/event_drain.py``)."""

    sinks: list[str] = Field(default_factory=lambda: ["sql"])
    options: dict[str, dict[str, Any]] = Field(default_factory=dict)
    # Events handed to a sink in one write.
    batch_size: int = Field(default=1000, ge=1, le=100_000)
    # A sink that fails is tried again after 1, 2, 4, ... seconds, at most this long apart.
    retry_max_seconds: float = Field(default=30.0, gt=0)
    # Delivered events stay in the outbox this long (``cvatcore events resend`` reads them).
    outbox_keep_hours: float = Field(default=24.0, ge=0)
    # An exported event-log CSV that nobody downloaded is removed after this (CVAT: 1 h).
    export_keep_hours: float = Field(default=1.0, ge=0)
    # ``POST /api/events``: the largest body accepted.
    max_request_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)


class WebhooksSettings(_Section):
    """Webhook deliveries: the transport that carries them and how long they are retried.

    A failed attempt (network error, timeout, 408, 429 or 5xx) is tried again after about
    ``retry_base_seconds * 2**(attempt-1)`` (with jitter, at most ``retry_max_interval_seconds``,
    or the receiver's ``Retry-After`` on 429/503) until ``retry_window_seconds`` after the
    change; then the delivery is failed and the webhook turned off with the reason."""

    transport: str = "http"
    # Deprecated: internal targets are allowed in [outbound] allow (one list for every
    # outbound connection); values here are added to it, with a warning at start-up.
    allowed_targets: list[str] = Field(default_factory=list)
    options: dict[str, dict[str, Any]] = Field(default_factory=dict)
    timeout_seconds: float = Field(default=10.0, gt=0)
    retry_base_seconds: float = Field(default=5.0, gt=0)
    retry_max_interval_seconds: float = Field(default=3 * 3600.0, gt=0)
    retry_window_seconds: float = Field(default=24 * 3600.0, gt=0)
    # How long a drain that sent everything waits for the webhook's next delivery before it
    # lets go of its worker (at once when other jobs wait): the next event then goes out
    # without a job being queued and claimed first.
    linger_seconds: float = Field(default=0.5, ge=0)


class InferenceSettings(_Section):
    """Inference backends that ``/api/lambda`` functions run on, in order (the first that
    lists a function id serves it); ``opencv`` is the built-in in-process detectors. Options
    of each under ``[inference.options.<name>]``."""

    backends: list[str] = Field(default_factory=lambda: ["opencv", "native"])
    options: dict[str, dict[str, Any]] = Field(default_factory=dict)
    # An agent (``cvat-cli function run-agent``) holds a request this long after taking it
    # or reporting progress; once it runs out another agent may take the request. cvat-cli
    # reports progress every 30 s at most, so the default leaves room for two missed reports.
    agent_lease_seconds: float = Field(default=120.0, gt=0)
    # Calls to a function a batch run (/api/lambda/requests) makes at once.
    batch_concurrency: int = Field(default=1, ge=1, le=64)
    # An online call of a native function (POST /api/lambda/functions/{id}) that no agent
    # has taken this long after it was made is withdrawn: no agent serves the function (503).
    # cvat-cli hears of it on its watch stream within a second.
    agent_pickup_seconds: float = Field(default=10.0, gt=0)
    # An online call of a native function that has no answer this long after it was made
    # is withdrawn (504).
    online_timeout_seconds: float = Field(default=60.0, gt=0)


class SecretsSettings(_Section):
    """Keys that encrypt stored secrets (cloud credentials, webhook secrets): Fernet keys
    (``cvatcore secrets new-key``), newest first. Secrets are written with the first and read
    with any; ``cvatcore secrets rotate`` re-encrypts everything with the first. Empty means a
    key file ``<data_dir>/secret.key`` made on first use (the embedded default)."""

    keys: list[SecretStr] = Field(default_factory=list)


class OutboundSettings(_Section):
    """Internal addresses users may point the server at (cloud endpoints, webhook targets):
    host names, IPs or CIDR networks. Public addresses are always allowed."""

    allow: list[str] = Field(default_factory=list)


class PluginSettings(_Section):
    """``[plugins]``: which plugins load, plus one table per plugin that declares a section
    (``[plugins.<name>]``, validated against the plugin's model once plugins are loaded;
    see ``core/plugin_settings.py``)."""

    model_config = ConfigDict(extra="allow")

    disabled: list[str] = Field(default_factory=list)
    required: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _tables_only(self) -> PluginSettings:
        for name, value in (self.model_extra or {}).items():
            if not isinstance(value, dict):
                raise ValueError(
                    f"[plugins] {name}: unknown setting (allowed here: disabled, required, "
                    f"and [plugins.<name>] tables of installed plugins)"
                )
        return self

    def sections(self) -> dict[str, dict[str, Any]]:
        """The ``[plugins.<name>]`` tables as written (not yet validated)."""
        return dict(self.model_extra or {})


class Settings(BaseSettings):
    """The whole configuration; build it with ``load_settings``."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid"
    )
    # Where the file used {"$env": ...} or {"$file": ...}: masked whatever the key is called.
    _secret_paths: set[tuple[str, ...]] = PrivateAttr(default_factory=set)

    server: ServerSettings = Field(default_factory=ServerSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    analytics: AnalyticsSettings = Field(default_factory=AnalyticsSettings)
    webhooks: WebhooksSettings = Field(default_factory=WebhooksSettings)
    inference: InferenceSettings = Field(default_factory=InferenceSettings)
    plugins: PluginSettings = Field(default_factory=PluginSettings)
    jobs: JobsSettings = Field(default_factory=JobsSettings)
    secrets: SecretsSettings = Field(default_factory=SecretsSettings)
    outbound: OutboundSettings = Field(default_factory=OutboundSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The file's contents arrive as init arguments; the environment overrides them.
        return (env_settings, init_settings)

    @model_validator(mode="after")
    def _fold_webhook_targets(self) -> Settings:
        # [webhooks] allowed_targets predates [outbound] allow: one list, read from both.
        extra = [t for t in self.webhooks.allowed_targets if t not in self.outbound.allow]
        if extra:
            import logging

            logging.getLogger("cvatcore").warning(
                "[webhooks] allowed_targets is deprecated: list the targets in [outbound] allow")
            self.outbound.allow = [*self.outbound.allow, *extra]
        return self

    def database_url(self) -> str:
        """The SQLAlchemy URL with the driver cvatcore uses for it."""
        if self.database.url is None:
            return f"sqlite:///{(self.server.data_dir / 'cvatcore.db').resolve()}"
        url = self.database.url.get_secret_value()
        for plain in ("postgresql://", "postgres://"):
            if url.startswith(plain):
                return "postgresql+psycopg://" + url[len(plain) :]
        return url

    def masked(self) -> dict[str, Any]:
        """The effective configuration as plain data, with every secret replaced by a mask."""
        data = _mask(self.model_dump(mode="python"))
        for path in self._secret_paths:
            _mask_path(data, path)
        if self.database.url is not None:
            from sqlalchemy.engine import make_url

            shown = make_url(self.database_url()).render_as_string(hide_password=True)
            data["database"]["url"] = shown
        return data


def _mask(value: Any, key: str = "") -> Any:
    if isinstance(value, SecretStr):
        return MASK
    if isinstance(value, dict):
        return {k: _mask(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v, key) for v in value]
    if isinstance(value, Path):
        return str(value)
    if key and _SECRET_KEY.search(key) and isinstance(value, str) and value:
        return MASK
    return value


def _mask_path(data: Any, path: tuple[str, ...]) -> None:
    *parents, last = path
    for key in parents:
        data = data.get(key) if isinstance(data, dict) else None
    if isinstance(data, dict) and last in data and data[last] is not None:
        data[last] = MASK


def resolve_secret_refs(
    value: Any, where: str = "", found: set[tuple[str, ...]] | None = None
) -> Any:
    """Replace ``{"$env": NAME}`` and ``{"$file": PATH}`` with the values they point to.

    The dotted location of each replaced value is added to ``found``, so it can be masked.
    """
    if isinstance(value, dict):
        if set(value) in ({"$env"}, {"$file"}) and found is not None and where:
            found.add(tuple(where.split(".")))
        if set(value) == {"$env"}:
            name = value["$env"]
            if name not in os.environ:
                raise ConfigError(f"{where}: environment variable {name} is not set")
            return os.environ[name]
        if set(value) == {"$file"}:
            path = Path(value["$file"])
            try:
                return path.read_text().strip()
            except OSError as exc:
                raise ConfigError(f"{where}: cannot read secret file {path}: {exc}") from None
        return {
            k: resolve_secret_refs(v, f"{where}.{k}" if where else k, found)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [resolve_secret_refs(v, f"{where}[{i}]", found) for i, v in enumerate(value)]
    return value


def load_settings(path: str | os.PathLike[str] | None = None, **overrides: Any) -> Settings:
    """Read the TOML file (``path``, else ``$CVATCORE_CONFIG``, else none) and the environment.

    ``overrides`` are section dictionaries that take the place of the file's sections
    (tests use them). Raises ``ConfigError`` with a readable message on any problem.
    """
    path = path or os.environ.get(CONFIG_ENV)
    data: dict[str, Any] = {}
    if path:
        try:
            data = tomllib.loads(Path(path).read_text())
        except FileNotFoundError:
            raise ConfigError(f"configuration file {path} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"configuration file {path} is not valid TOML: {exc}") from None
    data.update(overrides)
    secret_paths: set[tuple[str, ...]] = set()
    data = resolve_secret_refs(data, found=secret_paths)
    _check_env_sections()
    try:
        settings = Settings(**data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, path)) from None
    except SettingsError as exc:
        raise ConfigError(_describe_env_error(exc)) from None
    settings._secret_paths = secret_paths
    return settings


def _check_env_sections() -> None:
    """``CVATCORE_<SECTION>__<KEY>`` with a misspelt section would otherwise be ignored."""
    sections = set(Settings.model_fields)
    for var in sorted(os.environ):
        if var.upper().startswith(ENV_PREFIX) and "__" in var:
            section = var[len(ENV_PREFIX) :].split("__")[0].lower()
            if section not in sections:
                raise ConfigError(
                    f"environment variable {var}: there is no [{section}] section "
                    f"(sections: {', '.join(sorted(sections))})"
                )


def _describe_env_error(exc: SettingsError) -> str:
    match = re.search(r'field "(\w+)"', str(exc))
    section = match.group(1) if match else ""
    start = f"{ENV_PREFIX}{section}__".upper()
    names = [v for v in sorted(os.environ) if v.upper().startswith(start)] or [start + "*"]
    return (
        f"cannot parse environment variable {' or '.join(names)}: "
        'lists and tables are written as JSON, e.g. \'["10.0.0.0/8", "example.com"]\''
    )


def _describe(exc: ValidationError, path: Any) -> str:
    where = f" in {path}" if path else ""
    lines = [f"invalid configuration{where}:"]
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            allowed = _allowed_keys(err["loc"][:-1])
            message = "unknown setting" + (f" (allowed here: {allowed})" if allowed else "")
        lines.append(f"  {loc}: {message}")
    return "\n".join(lines)


def _allowed_keys(loc: tuple[Any, ...]) -> str:
    model: Any = Settings
    for part in loc:
        field = model.model_fields.get(part) if isinstance(part, str) else None
        model = field.annotation if field else None
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return ""
    return ", ".join(model.model_fields)
