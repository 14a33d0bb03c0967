"""Settings: one TOML file, overridden by ``CVATCORE_<SECTION>__<KEY>`` environment variables.

Secrets may be written as ``{"$env": "NAME"}`` or ``{"$file": "/path"}`` anywhere in the file;
they are resolved when the file is read, and ``masked()`` hides them again for display.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

CONFIG_ENV = "CVATCORE_CONFIG"
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


class DatabaseSettings(_Section):
    # Empty means SQLite at <data_dir>/cvatcore.db, the embedded default.
    url: SecretStr | None = None
    pool_size: int = 20
    echo: bool = False


class AuthSettings(_Section):
    backends: list[str] = Field(default_factory=lambda: ["local"])
    allow_registration: bool = True
    session_lifetime_hours: int = 24 * 14
    options: dict[str, dict[str, Any]] = Field(default_factory=dict)


class StorageSettings(_Section):
    default: str = "local"
    options: dict[str, dict[str, Any]] = Field(default_factory=dict)


class AnalyticsSettings(_Section):
    sinks: list[str] = Field(default_factory=lambda: ["log"])
    options: dict[str, dict[str, Any]] = Field(default_factory=dict)


class WebhooksSettings(_Section):
    transport: str = "http"
    allowed_targets: list[str] = Field(default_factory=list)
    options: dict[str, dict[str, Any]] = Field(default_factory=dict)


class InferenceSettings(_Section):
    backends: list[str] = Field(default_factory=list)
    options: dict[str, dict[str, Any]] = Field(default_factory=dict)


class PluginSettings(_Section):
    disabled: list[str] = Field(default_factory=list)
    required: list[str] = Field(default_factory=list)


class Settings(BaseSettings):
    """The whole configuration; build it with ``load_settings``."""

    model_config = SettingsConfigDict(
        env_prefix="CVATCORE_", env_nested_delimiter="__", extra="forbid"
    )

    server: ServerSettings = Field(default_factory=ServerSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    analytics: AnalyticsSettings = Field(default_factory=AnalyticsSettings)
    webhooks: WebhooksSettings = Field(default_factory=WebhooksSettings)
    inference: InferenceSettings = Field(default_factory=InferenceSettings)
    plugins: PluginSettings = Field(default_factory=PluginSettings)

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


def resolve_secret_refs(value: Any, where: str = "") -> Any:
    """Replace ``{"$env": NAME}`` and ``{"$file": PATH}`` with the values they point to."""
    if isinstance(value, dict):
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
        return {k: resolve_secret_refs(v, f"{where}.{k}" if where else k) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_secret_refs(v, f"{where}[{i}]") for i, v in enumerate(value)]
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
    data = resolve_secret_refs(data)
    try:
        return Settings(**data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, path)) from None


def _describe(exc: ValidationError, path: Any) -> str:
    where = f" in {path}" if path else ""
    lines = [f"invalid configuration{where}:"]
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        lines.append(f"  {loc}: {err['msg']}")
    return "\n".join(lines)
