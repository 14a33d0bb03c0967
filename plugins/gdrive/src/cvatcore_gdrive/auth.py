"""Access tokens for Drive: a service account's JWT-bearer grant or an OAuth refresh token.

Both are one form POST to the token endpoint (RFC 7523 and RFC 6749 section 6). The JWT is
signed here with ``cryptography`` (RS256), which cvatcore already depends on, so neither
google-auth nor oauth2client is needed. Tokens are cached until a minute before they expire,
and dropped when Drive answers 401.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from cvatcore_gdrive.config import GOOGLE_TOKEN_URI, GDriveConfig, parse_service_account
from cvatcore_gdrive.errors import DrivePermissionError, DriveUnavailableError

DRIVE_SCOPE = "https://www.googleapis.com/auth/drive"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def jwt_assertion(info: dict[str, Any], token_uri: str, subject: str | None,
                  now: float | None = None) -> str:
    """A signed, one-hour JWT asking ``token_uri`` for a Drive token for this service account."""
    try:
        key = serialization.load_pem_private_key(info["private_key"].encode(), password=None)
    except (ValueError, TypeError):
        raise DrivePermissionError("the service-account private key cannot be read",
                                   reason="bad private key") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise DrivePermissionError("the service-account private key is not an RSA key")
    issued = int(now if now is not None else time.time())
    header = {"alg": "RS256", "typ": "JWT"}
    if info.get("private_key_id"):
        header["kid"] = info["private_key_id"]
    claims = {"iss": info["client_email"], "scope": DRIVE_SCOPE, "aud": token_uri,
              "iat": issued, "exp": issued + 3600}
    if subject:
        claims["sub"] = subject
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{_b64(signature)}"


class TokenSource:
    """Hands out a valid access token, asking the token endpoint only when needed."""

    def __init__(self, fetch: Callable[[], tuple[str, float]]) -> None:
        self._fetch = fetch
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires = 0.0

    def token(self) -> str:
        with self._lock:
            if self._token is None or time.monotonic() > self._expires - 60:
                token, lifetime = self._fetch()
                self._token, self._expires = token, time.monotonic() + lifetime
            return self._token

    def invalidate(self, token: str) -> None:
        """Forget ``token`` (Drive refused it); the next ``token()`` asks for a new one."""
        with self._lock:
            if self._token == token:
                self._token = None


def _post_token(http: httpx.Client, token_uri: str, form: dict[str, str]) -> tuple[str, float]:
    try:
        response = http.post(token_uri, data=form)
    except httpx.TransportError as exc:
        raise DriveUnavailableError(f"cannot reach the token endpoint ({type(exc).__name__})",
                                    reason="cannot reach the token endpoint") from None
    if response.status_code >= 500 or response.status_code == 429:
        raise DriveUnavailableError(f"the token endpoint answered HTTP {response.status_code}",
                                    reason=f"token endpoint HTTP {response.status_code}")
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code != 200 or not body.get("access_token"):
        error = str(body.get("error") or f"HTTP {response.status_code}")[:60]
        detail = str(body.get("error_description") or "")[:120]
        raise DrivePermissionError(f"Google refused the credentials ({error}: {detail})",
                                   reason=f"credentials refused: {error}")
    return body["access_token"], float(body.get("expires_in") or 3600)


def token_source(config: GDriveConfig, http: httpx.Client) -> TokenSource:
    """The token source for ``config``'s credentials (reads the key file now)."""
    if config.credentials_type == "OAUTH_REFRESH_TOKEN":
        assert config.client_secret is not None and config.refresh_token is not None
        form = {"grant_type": "refresh_token", "client_id": config.client_id or "",
                "client_secret": config.client_secret.get_secret_value(),
                "refresh_token": config.refresh_token.get_secret_value()}
        uri = config.token_uri or GOOGLE_TOKEN_URI
        return TokenSource(lambda: _post_token(http, uri, form))
    info = load_service_account(config)
    uri = config.token_uri or info.get("token_uri") or GOOGLE_TOKEN_URI
    return TokenSource(lambda: _post_token(http, uri, {
        "grant_type": JWT_GRANT, "assertion": jwt_assertion(info, uri, config.subject)}))


def load_service_account(config: GDriveConfig) -> dict[str, Any]:
    """The service-account key, from ``service_account_key`` or the ``key_file``."""
    if config.service_account_key is not None:
        return parse_service_account(config.service_account_key.get_secret_value())
    assert config.key_file is not None
    try:
        text = config.key_file.read_text()
    except OSError as exc:
        raise DrivePermissionError(f"cannot read the key file {str(config.key_file)!r}"
                                   f" ({exc.strerror})") from None
    try:
        return parse_service_account(text)
    except ValueError as exc:
        raise DrivePermissionError(f"{config.key_file}: {exc}") from None
