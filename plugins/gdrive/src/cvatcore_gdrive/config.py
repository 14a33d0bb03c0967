"""The options of the ``gdrive`` storage provider, as written under its name in the settings.

A Google Drive folder (its id, as in ``https://drive.google.com/drive/folders/<id>``) plays the
part of the bucket. Sign in as a service account (``KEY_FILE_PATH``, CVAT's name for a key
file; the folder must be shared with the account's e-mail address) or as a person through an
OAuth client and a refresh token (``OAUTH_REFRESH_TOKEN``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator

from cvatcore.hooks import ProviderConfig

GOOGLE_API = "https://www.googleapis.com"
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
_FOLDER_ID = re.compile(r"^(root|[A-Za-z0-9_-]{10,200})$")
_NEEDS = {
    "KEY_FILE_PATH": set(),  # key_file or service_account_key: checked below
    "OAUTH_REFRESH_TOKEN": {"client_id", "client_secret", "refresh_token"},
}
_OAUTH_ONLY = {"client_id", "client_secret", "refresh_token"}
_SA_ONLY = {"key_file", "service_account_key", "subject"}


def _http_url(value: str, name: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{name} must be an http(s) URL")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"{name} must not carry a query, a fragment or user info")
    return value.rstrip("/")


def parse_service_account(text: str) -> dict[str, Any]:
    """The fields of a service-account key file that signing in needs, or ``ValueError``."""
    try:
        info = json.loads(text)
    except ValueError:
        raise ValueError("the service-account key is not JSON") from None
    if not isinstance(info, dict) or info.get("type") != "service_account":
        raise ValueError('the key is not a service-account key (its "type" must be'
                         ' "service_account")')
    missing = [k for k in ("client_email", "private_key") if not info.get(k)]
    if missing:
        raise ValueError(f"the service-account key has no {', '.join(missing)}")
    return info


class GDriveConfig(ProviderConfig):
    """One Drive folder (optionally a sub-folder path inside it) and how to sign in."""

    # Validation errors must never echo a private key, a client secret or a refresh token.

    folder_id: str
    prefix: str = ""
    credentials_type: Literal["KEY_FILE_PATH", "OAUTH_REFRESH_TOKEN"] = "KEY_FILE_PATH"
    key_file: Path | None = None
    service_account_key: SecretStr | None = Field(
        default=None, description="the key file's JSON itself, instead of key_file")
    subject: str | None = Field(
        default=None, description="a user to act for (domain-wide delegation)")
    client_id: str | None = None
    client_secret: SecretStr | None = None
    refresh_token: SecretStr | None = None
    api_base_url: str = GOOGLE_API
    token_uri: str | None = Field(
        default=None, description="default: the key file's token_uri, else Google's")
    trash: bool = Field(default=False, description="delete moves files to the trash")
    max_retries: int = Field(default=5, ge=0, le=10)
    timeout: float = Field(default=30.0, gt=0, le=600)

    @field_validator("folder_id")
    @classmethod
    def _folder_id(cls, value: str) -> str:
        if not _FOLDER_ID.match(value):
            raise ValueError("folder_id is a Drive folder id (letters, digits, '-' and '_',"
                             " as in drive.google.com/drive/folders/<id>) or 'root'")
        return value

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if value.startswith("/") or "//" in value:
            raise ValueError("prefix must not start with '/' or contain '//'")
        if any(part in (".", "..") for part in value.split("/")):
            raise ValueError("prefix must not contain '.' or '..' segments")
        return value

    @field_validator("api_base_url")
    @classmethod
    def _api(cls, value: str) -> str:
        return _http_url(value, "api_base_url")

    @field_validator("token_uri")
    @classmethod
    def _token(cls, value: str | None) -> str | None:
        return None if value is None else _http_url(value, "token_uri")

    @field_validator("service_account_key")
    @classmethod
    def _key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            parse_service_account(value.get_secret_value())
        return value

    @model_validator(mode="after")
    def _credentials_match_type(self) -> GDriveConfig:
        kind = self.credentials_type
        given = {n for n in _OAUTH_ONLY | _SA_ONLY if getattr(self, n) is not None}
        missing = _NEEDS[kind] - given
        if missing:
            raise ValueError(f"credentials_type {kind} needs {', '.join(sorted(missing))}")
        unused = given & (_SA_ONLY if kind == "OAUTH_REFRESH_TOKEN" else _OAUTH_ONLY)
        if unused:
            names = ", ".join(sorted(unused))
            raise ValueError(f"{names} is not used with credentials_type {kind}")
        if kind == "KEY_FILE_PATH" and (self.key_file is None) == (
                self.service_account_key is None):
            raise ValueError("credentials_type KEY_FILE_PATH needs exactly one of key_file"
                             " and service_account_key")
        return self
