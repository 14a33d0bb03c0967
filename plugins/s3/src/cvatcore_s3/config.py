"""The options of the ``s3`` storage provider, validated before anything connects."""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator

from cvatcore.hooks import ProviderConfig

#: CVAT's ``credentials_type`` values for S3, plus ``DEFAULT_CREDENTIALS``: no key in the
#: configuration, the AWS SDK's default chain finds one (environment variables, the shared
#: ``~/.aws`` files, web identity, an ECS task role or an EC2 instance role).
CredentialsType = Literal["KEY_SECRET_KEY_PAIR", "ANONYMOUS_ACCESS", "DEFAULT_CREDENTIALS"]

_BUCKET_CHARS = re.compile(r"[^a-z0-9.\-]")


def check_bucket_name(name: str, allowed: re.Pattern[str] = _BUCKET_CHARS) -> str:
    """CVAT's character rule (lowercase letters, digits, '-', '.'), then S3's shape rules."""
    bad = sorted(set(allowed.findall(name)))
    if bad:
        raise ValueError(f"Invalid characters ({', '.join(repr(c) for c in bad)}) were found.")
    if not 3 <= len(name) <= 63:
        raise ValueError("a bucket name has 3 to 63 characters")
    if not (name[0].isalnum() and name[-1].isalnum()):
        raise ValueError("a bucket name starts and ends with a letter or a digit")
    if ".." in name:
        raise ValueError("a bucket name has no two dots in a row")
    return name


def check_prefix(prefix: str) -> str:
    """A folder inside the bucket: no leading '/', no '//', no '.' or '..' segments."""
    if prefix.startswith("/") or "//" in prefix:
        raise ValueError("the prefix must not start with '/' or contain '//'")
    if "\x00" in prefix or any(s in (".", "..") for s in prefix.split("/")):
        raise ValueError("the prefix must not contain '.' or '..' segments or NUL")
    return prefix


def check_endpoint(url: str) -> str:
    """An http(s) URL with a host and nothing that could carry a secret into messages."""
    try:  # an unclosed "[" or a port that is no number (or past 65535) is a ValueError
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parsed for its check
    except ValueError as exc:
        raise ValueError(f"endpoint_url is not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("endpoint_url must be an http:// or https:// URL with a host")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ValueError("endpoint_url must not contain user info, a query or a fragment")
    return url.rstrip("/")


class S3Config(ProviderConfig):
    """Options of one S3 (or MinIO, Ceph, other S3-compatible) bucket.

    ``prefix`` is the folder inside the bucket that this storage treats as its root: every
    path is relative to it. ``key``/``secret_key``/``session_token`` are CVAT's field names.
    """

    #: Validation errors must not quote what was given: it may be a secret.

    bucket: str
    prefix: str = ""
    region: str | None = Field(default=None, pattern=r"^[a-z0-9-]{2,32}$")
    endpoint_url: str | None = None
    credentials_type: CredentialsType = "DEFAULT_CREDENTIALS"
    key: str | None = Field(default=None, min_length=1, max_length=128)
    secret_key: SecretStr | None = None
    session_token: SecretStr | None = None
    #: "path" for servers without virtual-host buckets (many MinIO and Ceph set-ups).
    addressing_style: Literal["auto", "path", "virtual"] = "auto"
    connect_timeout: float = Field(default=5.0, gt=0, le=300)
    read_timeout: float = Field(default=30.0, gt=0, le=3600)
    #: Tries per request, the first included (botocore's "standard" retry mode: throttling,
    #: 5xx answers and dropped connections are retried with exponential back-off).
    max_attempts: int = Field(default=3, ge=1, le=10)
    #: Set by the core for cloud storages users create (``cvatcore.hooks.outbound``): then
    #: every address the client connects to passes the outbound guard, with these targets
    #: allowed. None for buckets the operator configured, which are trusted.
    outbound_allow: list[str] | None = None

    @field_validator("bucket")
    @classmethod
    def _check_bucket(cls, value: str) -> str:
        return check_bucket_name(value)

    @field_validator("prefix")
    @classmethod
    def _check_prefix(cls, value: str) -> str:
        return check_prefix(value)

    @field_validator("endpoint_url")
    @classmethod
    def _check_endpoint(cls, value: str | None) -> str | None:
        return None if value is None else check_endpoint(value)

    @model_validator(mode="after")
    def _check_credentials(self) -> S3Config:
        given = [n for n in ("key", "secret_key", "session_token") if getattr(self, n)]
        if self.credentials_type == "KEY_SECRET_KEY_PAIR":
            if not (self.key and self.secret_key):
                # CVAT: "Insufficient data for authentication"
                raise ValueError("KEY_SECRET_KEY_PAIR needs both key and secret_key "
                                 "(and session_token for temporary credentials)")
        elif given:
            raise ValueError(f"{self.credentials_type} takes no {', '.join(given)}; "
                             "use credentials_type KEY_SECRET_KEY_PAIR to give a key")
        return self
