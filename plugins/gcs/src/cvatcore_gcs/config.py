"""The options of the ``gcs`` storage provider, validated before anything connects."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator

from cvatcore.hooks import ProviderConfig

#: CVAT's ``credentials_type`` values for GCS, plus ``DEFAULT_CREDENTIALS``: Google's
#: Application Default Credentials (``GOOGLE_APPLICATION_CREDENTIALS``, ``gcloud auth
#: application-default login``, workload identity, the metadata server of GCE/GKE/Cloud Run).
CredentialsType = Literal["KEY_FILE_PATH", "ANONYMOUS_ACCESS", "DEFAULT_CREDENTIALS"]

_BUCKET_CHARS = re.compile(r"[^a-z0-9._\-]")
SERVICE_ACCOUNT_FIELDS = ("type", "client_email", "private_key", "token_uri")


def check_bucket_name(name: str) -> str:
    """CVAT's character rule for GCS (lowercase letters, digits, '-', '_', '.'), then
    Google's shape rules (3-63 characters, up to 222 with dots, alphanumeric ends)."""
    bad = sorted(set(_BUCKET_CHARS.findall(name)))
    if bad:
        raise ValueError(f"Invalid characters ({', '.join(repr(c) for c in bad)}) were found.")
    limit = 222 if "." in name else 63
    if not 3 <= len(name) <= limit:
        raise ValueError(f"a bucket name has 3 to {limit} characters")
    if not (name[0].isalnum() and name[-1].isalnum()):
        raise ValueError("a bucket name starts and ends with a letter or a digit")
    if name.startswith("goog") or ".." in name:
        raise ValueError("a bucket name must not start with 'goog' or contain '..'")
    return name


def check_service_account_json(text: str) -> None:
    """A service-account key: a JSON object with the fields Google's library needs. The
    messages name fields, never the content."""
    try:
        data = json.loads(text)
    except ValueError:
        raise ValueError("key_json is not valid JSON") from None
    if not isinstance(data, dict) or data.get("type") != "service_account":
        raise ValueError('key_json is not a service-account key ("type": "service_account")')
    missing = [f for f in SERVICE_ACCOUNT_FIELDS if not data.get(f)]
    if missing:
        raise ValueError(f"key_json lacks {', '.join(missing)}")


class GcsConfig(ProviderConfig):
    """Options of one Google Cloud Storage bucket (or the fake-gcs-server emulator).

    ``prefix`` is the folder inside the bucket that this storage treats as its root.
    ``project`` is CVAT's billing project: it is sent as ``userProject`` when
    ``requester_pays`` is on, and replaces the key's own project otherwise.
    """

    #: Validation errors must not quote what was given: it may be a secret.

    bucket: str
    prefix: str = ""
    project: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9-]{4,61}[a-z0-9]$")
    endpoint_url: str | None = None
    credentials_type: CredentialsType = "DEFAULT_CREDENTIALS"
    #: A service-account key file on the server (CVAT's ``KEY_FILE_PATH``) ...
    key_file: Path | None = None
    #: ... or the key file's JSON itself, kept as a secret.
    key_json: SecretStr | None = None
    requester_pays: bool = False
    connect_timeout: float = Field(default=5.0, gt=0, le=300)
    read_timeout: float = Field(default=30.0, gt=0, le=3600)
    #: Tries per request, the first included; 408, 429, 5xx and broken connections are
    #: retried with exponential back-off.
    max_attempts: int = Field(default=3, ge=1, le=10)
    #: Set by the core for cloud storages users create (``cvatcore.hooks.outbound``): then
    #: every address the clients connect to passes the outbound guard, with these targets
    #: allowed (the key's ``token_uri`` too). None for buckets the operator configured.
    outbound_allow: list[str] | None = None

    @field_validator("bucket")
    @classmethod
    def _check_bucket(cls, value: str) -> str:
        return check_bucket_name(value)

    @field_validator("prefix")
    @classmethod
    def _check_prefix(cls, value: str) -> str:
        if value.startswith("/") or "//" in value:
            raise ValueError("the prefix must not start with '/' or contain '//'")
        if "\x00" in value or any(s in (".", "..") for s in value.split("/")):
            raise ValueError("the prefix must not contain '.' or '..' segments or NUL")
        return value

    @field_validator("endpoint_url")
    @classmethod
    def _check_endpoint(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("endpoint_url must be an http:// or https:// URL with a host")
        if parts.username or parts.password or parts.query or parts.fragment:
            raise ValueError("endpoint_url must not contain user info, a query or a fragment")
        return value.rstrip("/")

    @field_validator("key_json")
    @classmethod
    def _check_key_json(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            check_service_account_json(value.get_secret_value())
        return value

    @model_validator(mode="after")
    def _check_credentials(self) -> GcsConfig:
        if self.credentials_type == "KEY_FILE_PATH":
            if (self.key_file is None) == (self.key_json is None):
                raise ValueError("KEY_FILE_PATH needs exactly one of key_file and key_json")
        elif self.key_file is not None or self.key_json is not None:
            raise ValueError(f"{self.credentials_type} takes no key_file or key_json; "
                             "use credentials_type KEY_FILE_PATH to give a key")
        return self
