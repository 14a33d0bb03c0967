"""The options of the ``azure`` storage provider, as written under its name in the settings.

``credentials_type`` takes CVAT's values for Azure (``ACCOUNT_NAME_TOKEN_PAIR``,
``CONNECTION_STRING``, ``ANONYMOUS_ACCESS``) plus ``DEFAULT_AZURE_CREDENTIAL``, the keyless
sign-in that CVAT lacks: ``azure.identity.DefaultAzureCredential`` (managed identity, workload
identity, environment variables, ``az login``).
"""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator

from cvatcore.hooks import ProviderConfig

CredentialsType = Literal[
    "ACCOUNT_NAME_TOKEN_PAIR", "CONNECTION_STRING", "ANONYMOUS_ACCESS", "DEFAULT_AZURE_CREDENTIAL"
]

# Azure's rules: 3-63 characters; lowercase letters, digits and single hyphens; no hyphen at
# either end.
_CONTAINER = re.compile(r"^(?!-)(?!.*--)[a-z0-9-]{3,63}(?<!-)$")
_ACCOUNT = re.compile(r"^[a-z0-9]{3,24}$")

# Which secret each way of signing in needs, and which ones it must not be given.
_NEEDS = {
    "ACCOUNT_NAME_TOKEN_PAIR": {"sas_token"},
    "CONNECTION_STRING": {"connection_string"},
    "ANONYMOUS_ACCESS": set(),
    "DEFAULT_AZURE_CREDENTIAL": set(),
}


class AzureConfig(ProviderConfig):
    """One Azure Blob container (optionally a prefix inside it) and how to sign in to it."""

    # Validation errors must never echo a SAS token or a connection string back.

    container: str
    prefix: str = ""
    credentials_type: CredentialsType = "ACCOUNT_NAME_TOKEN_PAIR"
    account_name: str | None = None
    sas_token: SecretStr | None = None
    connection_string: SecretStr | None = None
    account_url: str | None = Field(
        default=None,
        description="The blob endpoint when it is not https://<account_name>.blob.core.windows.net"
        " (Azurite: http://127.0.0.1:10000/devstoreaccount1, sovereign clouds, private links)",
    )
    max_retries: int = Field(default=3, ge=0, le=10)
    timeout: float = Field(default=30.0, gt=0, le=600)
    #: Set by the core for cloud storages users create (``cvatcore.hooks.outbound``): then
    #: every address the clients connect to passes the outbound guard, with these targets
    #: allowed (this covers a connection string's ``BlobEndpoint`` too). None for containers
    #: the operator configured, which are trusted.
    outbound_allow: list[str] | None = None

    @field_validator("container")
    @classmethod
    def _container_name(cls, value: str) -> str:
        if not _CONTAINER.match(value):
            raise ValueError(
                "an Azure container name has 3-63 lowercase letters, digits and single hyphens,"
                " and does not start or end with a hyphen"
            )
        return value

    @field_validator("account_name")
    @classmethod
    def _account_name(cls, value: str | None) -> str | None:
        if value is not None and not _ACCOUNT.match(value):
            raise ValueError("an Azure storage account name has 3-24 lowercase letters and digits")
        return value

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if value.startswith("/") or "//" in value:
            raise ValueError("prefix must not start with '/' or contain '//'")
        if any(part in (".", "..") for part in value.split("/")):
            raise ValueError("prefix must not contain '.' or '..' segments")
        return value

    @field_validator("sas_token")
    @classmethod
    def _sas_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        token = value.get_secret_value().strip().lstrip("?")
        if "sig=" not in token:
            raise ValueError("sas_token is not a shared access signature (it has no 'sig=')")
        return SecretStr(token)

    @field_validator("connection_string")
    @classmethod
    def _connection_string(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        pairs = [p.split("=", 1) for p in value.get_secret_value().strip().split(";") if p]
        keys = {p[0].strip().lower() for p in pairs if len(p) == 2}
        if len(keys) != len(pairs) or not keys & {"blobendpoint", "accountname"}:
            raise ValueError("connection_string is not an Azure Storage connection string"
                             " (Key=value pairs with AccountName or BlobEndpoint)")
        return value

    @field_validator("account_url")
    @classmethod
    def _account_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("account_url must be an http(s) URL such as https://host/ or"
                             " http://127.0.0.1:10000/devstoreaccount1")
        if parts.query or parts.fragment or "@" in parts.netloc:
            raise ValueError("account_url must not carry a query, a fragment or user info;"
                             " give a SAS token in sas_token")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _credentials_match_type(self) -> AzureConfig:
        kind = self.credentials_type
        given = {name for name in ("sas_token", "connection_string") if getattr(self, name)}
        missing = _NEEDS[kind] - given
        if missing:
            raise ValueError(f"credentials_type {kind} needs {', '.join(sorted(missing))}")
        unused = given - _NEEDS[kind]
        if unused:
            names = ", ".join(sorted(unused))
            raise ValueError(f"{names} is not used with credentials_type {kind}")
        if kind != "CONNECTION_STRING" and not (self.account_name or self.account_url):
            raise ValueError(f"credentials_type {kind} needs account_name or account_url")
        if kind == "DEFAULT_AZURE_CREDENTIAL" and self.endpoint().startswith("http:"):
            raise ValueError("DEFAULT_AZURE_CREDENTIAL sends bearer tokens and needs an https"
                             " account_url")
        return self

    def endpoint(self) -> str:
        """The blob service URL (not used with a connection string, which carries its own)."""
        return self.account_url or f"https://{self.account_name}.blob.core.windows.net"
