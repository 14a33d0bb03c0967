"""The cloud-storage types plugins offer (``register_cloud_storage_types``), and building a
storage provider for one stored cloud storage."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import pluggy

from cvatcore.core.errors import ValidationFailed
from cvatcore.core.outbound import OutboundRefused, check_url
from cvatcore.core.registration import (
    PluginError,
    check_unique,
    registrations_of,
    require_callable,
)
from cvatcore.hooks.cloud import CloudStorageSpec

PROVIDER_TYPES = ("AWS_S3_BUCKET", "AZURE_CONTAINER", "GOOGLE_CLOUD_STORAGE", "GOOGLE_DRIVE")
CREDENTIALS_TYPES = (
    "KEY_SECRET_KEY_PAIR", "ACCOUNT_NAME_TOKEN_PAIR", "KEY_FILE_PATH", "ANONYMOUS_ACCESS",
    "CONNECTION_STRING",
)
#: The write-only credential fields each credentials type keeps (CVAT's Credentials).
CREDENTIAL_FIELDS: dict[str, tuple[str, ...]] = {
    "KEY_SECRET_KEY_PAIR": ("key", "secret_key", "session_token"),
    "ACCOUNT_NAME_TOKEN_PAIR": ("account_name", "session_token"),
    "KEY_FILE_PATH": ("key_file",),
    "ANONYMOUS_ACCESS": ("account_name",),
    "CONNECTION_STRING": ("connection_string",),
}
ALL_CREDENTIAL_FIELDS = frozenset(f for fields in CREDENTIAL_FIELDS.values() for f in fields)
FIELD_LIMITS = {"key": 128, "secret_key": 128, "session_token": 4096, "account_name": 24,
                "connection_string": 1024, "key_file": 16384}


#: Attributes that are URLs the server will connect to: checked by the outbound guard.
URL_ATTRIBUTES = ("endpoint_url", "account_url", "api_base_url", "token_uri")
# Building a cloud client costs tens of milliseconds (S3: ~50-100 ms); storages are reused
# across requests (``AppState.cloud_providers``), keyed by everything that defines them, so a
# changed credential is a new key.
PROVIDER_CACHE_SIZE = 64


@dataclass(frozen=True)
class CloudType:
    provider_type: str
    provider: str
    build_options: Callable[[CloudStorageSpec], dict[str, Any]]
    credentials_types: tuple[str, ...]
    plugin: str


def collect_cloud_types(pm: pluggy.PluginManager) -> dict[str, CloudType]:
    """provider_type -> CloudType, from ``register_cloud_storage_types``'s one call."""
    found = registrations_of(pm).of("register_cloud_storage_types")
    check_unique(found, "cloud storage type {key!r}", pm)
    types: dict[str, CloudType] = {}
    for reg in found:
        provider = reg.options.get("provider")
        if not isinstance(provider, str) or not provider:
            raise PluginError(f"cloud storage type {reg.name!r} from {reg.plugin}: give the "
                              "storage provider's name as provider=...")
        require_callable(reg, "cloud storage type", "build_options")
        credentials = tuple(reg.options.get("credentials_types", CREDENTIALS_TYPES))
        types[reg.name] = CloudType(reg.name, provider, reg.value, credentials, reg.plugin)
    return types


def parse_attributes(text: str) -> dict[str, str]:
    """``region=eu-central-1&prefix=sub/`` as a dict; 400 as CVAT for a malformed string."""
    if not text:
        return {}
    for item in text.split("&"):
        if item.count("=") != 1:
            raise ValidationFailed.field("specific_attributes", "Invalid specific attributes.")
    attrs = dict(parse_qsl(text, keep_blank_values=True))
    prefix = attrs.get("prefix", "")
    if prefix.startswith("/") or "//" in prefix:
        raise ValidationFailed.field(
            "specific_attributes", "The prefix must not start with '/' or contain '//'."
        )
    return attrs


def build_provider(state: Any, spec: CloudStorageSpec) -> Any:
    """A storage provider for ``spec``; a 400 naming the problem when the plugin refuses it."""
    ctype = state.cloud_types.get(spec.provider_type)
    if ctype is None:
        raise ValidationFailed.field(
            "provider_type",
            f"No installed plugin handles {spec.provider_type}; install the matching "
            "cvatcore plugin (cvatcore-s3, cvatcore-azure, cvatcore-gcs, cvatcore-gdrive).",
        )
    allow = state.settings.outbound.allow
    for name in URL_ATTRIBUTES:
        if spec.specific_attributes.get(name):
            try:
                check_url(spec.specific_attributes[name], allow)
            except OutboundRefused as exc:
                raise ValidationFailed.field("specific_attributes", f"{name}: {exc}") from None
    key = (spec.provider_type, spec.resource, spec.credentials_type,
           tuple(sorted(spec.credentials.items())), tuple(sorted(spec.specific_attributes.items())),
           spec.keyless)
    cache = state.cloud_providers
    if key in cache:
        return cache[key]
    try:
        options = ctype.build_options(spec)
        entry = state.registries.get("storage", ctype.provider)
        if "outbound_allow" in entry.config_model.model_fields:
            # The client checks every address it connects to, not only the one checked
            # above: a second DNS answer must not take it somewhere internal.
            options["outbound_allow"] = list(allow)
        provider = entry.build(options)
    except (ValueError, PluginError) as exc:
        raise ValidationFailed({"credentials": [_clean(str(exc), spec)]}) from None
    if len(cache) >= PROVIDER_CACHE_SIZE:
        cache.clear()
    cache[key] = provider
    return provider


def _clean(message: str, spec: CloudStorageSpec) -> str:
    """The message with any credential value cut out (a plugin may have echoed one)."""
    for value in spec.credentials.values():
        if value and len(value) >= 4:
            message = message.replace(value, "********")
    return message
