"""The one component that keeps secrets at rest: cloud credentials, webhook secrets, tokens.

Secrets are encrypted with Fernet (AES-128-CBC + HMAC-SHA256, from ``cryptography``) under
keys from ``[secrets] keys``; ``MultiFernet`` writes with the first key and reads with any, so
a new key is put first and ``cvatcore secrets rotate`` re-encrypts the stored values (every
column registered in ``SECRET_COLUMNS``) before the old key is removed. CVAT keeps cloud
credentials in plain text; here a stolen database dump holds no usable credential.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import re
import threading
import time
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from cvatcore.core.config import Settings

#: (table, primary-key column, encrypted column) of every stored secret, for rotation.
SECRET_COLUMNS: list[tuple[str, str, str]] = [
    ("cloud_storages", "id", "credentials"), ("webhooks", "id", "secret")]


class SecretsError(Exception):
    """A stored secret cannot be decrypted with any configured key."""


class BadSignature(Exception):
    """A signed value was changed, signed for another purpose, or is too old."""


class Secrets:
    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise ValueError("at least one key is needed")
        self._fernet = MultiFernet([Fernet(k) for k in keys])
        # Signing keys are derived from the same keys (never the keys themselves), so a
        # rotation that adds a key keeps what the old one signed valid until it is removed.
        self._signing = [hashlib.sha256(b"cvatcore-signing\0" + k).digest() for k in keys]

    @classmethod
    def from_settings(cls, settings: Settings) -> Secrets:
        keys = [k.get_secret_value().encode() for k in settings.secrets.keys]
        if not keys:
            keys = [_local_key(settings.server.data_dir / "secret.key")]
        return cls(keys)

    def encrypt(self, value: Any) -> str:
        """A token for ``value`` (any JSON-serialisable data)."""
        remember(value)
        return self._fernet.encrypt(json.dumps(value).encode()).decode()

    def decrypt(self, token: str) -> Any:
        try:
            value = json.loads(self._fernet.decrypt(token.encode()))
        except InvalidToken:
            raise SecretsError(
                "a stored secret cannot be decrypted with the configured [secrets] keys"
            ) from None
        remember(value)
        return value

    def rotate(self, token: str) -> str:
        """The same secret, encrypted with the first key."""
        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken:
            raise SecretsError("a stored secret cannot be decrypted; keep its key") from None


    def sign(self, purpose: str, value: Any) -> str:
        """A tamper-proof token carrying ``value`` (JSON) and the time it was made, readable
        only by ``unsign`` with the same ``purpose``; the value is readable, not secret."""
        body = _b64(json.dumps(value, separators=(",", ":")).encode())
        stamp = str(int(time.time()))
        return f"{body}.{stamp}.{_b64(self._mac(self._signing[0], purpose, body, stamp))}"

    def unsign(self, purpose: str, token: Any, max_age: float) -> Any:
        """The value ``sign`` put in ``token``; ``BadSignature`` when the token was changed,
        was made for another purpose or with an unknown key, or is older than ``max_age``."""
        parts = token.split(".") if isinstance(token, str) else []
        if len(parts) != 3 or not parts[1].isdigit():
            raise BadSignature("malformed")
        body, stamp, mac = parts
        try:
            given = base64.urlsafe_b64decode(mac + "=" * (-len(mac) % 4))
        except ValueError:
            raise BadSignature("malformed") from None
        if not any(hmac.compare_digest(given, self._mac(key, purpose, body, stamp))
                   for key in self._signing):
            raise BadSignature("signature")
        if time.time() - int(stamp) > max_age:
            raise BadSignature("expired")
        try:
            return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        except ValueError:
            raise BadSignature("malformed") from None

    @staticmethod
    def _mac(key: bytes, purpose: str, body: str, stamp: str) -> bytes:
        return hmac.new(key, f"{purpose}\0{body}.{stamp}".encode(), hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def new_key() -> str:
    return Fernet.generate_key().decode()


def _local_key(path: Path) -> bytes:
    """The embedded default: a key file next to the database, created once (mode 0600)."""
    if path.exists():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    return key


def rotate_all(db: Any, secrets: Secrets) -> int:
    """Re-encrypt every stored secret with the first key; returns how many were rewritten."""
    from sqlalchemy import column, select, table, update

    count = 0
    with db.unit_of_work() as session:
        for table_name, pk, col in SECRET_COLUMNS:
            t = table(table_name, column(pk), column(col))
            rows = session.execute(select(t.c[pk], t.c[col]).where(t.c[col].is_not(None))).all()
            for key, token in rows:
                new = secrets.rotate(token)
                session.execute(update(t).where(t.c[pk] == key).values({col: new}))
                count += 1
    return count


# --- Keeping secrets out of logs -------------------------------------------------------------
# Storage SDKs and HTTP libraries log request URLs and headers at DEBUG, and a SAS token, a
# signed URL or an Authorization header is a credential. Every log record made in this process
# is scrubbed once, when it is made (only records a logger actually emits are made): known
# credential shapes are masked, and so is every secret value this process has decrypted.
_CREDENTIAL_SHAPES = re.compile(
    r"(?i)\b(sig|signature|x-amz-signature|x-amz-security-token|x-amz-credential|accountkey|"
    r"sharedaccesssignature|access_token|refresh_token|client_secret|password|secret_key|"
    r"session_token|sas_token|private_key)([=:]\s*\"?)([^&\s;\"',}]+)"
)
_AUTH_HEADER = re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?(?:bearer|basic|token)?\s*)"
                          r"([^\s'\",}]+)")
_known: set[str] = set()
_known_lock = threading.Lock()
_installed = False


def remember(value: Any) -> None:
    """Mask this secret value (and those inside a dict or list) wherever it shows up in logs."""
    if isinstance(value, dict):
        for item in value.values():
            remember(item)
    elif isinstance(value, list | tuple):
        for item in value:
            remember(item)
    elif isinstance(value, str) and len(value) >= 8:
        with _known_lock:
            _known.add(value)


def scrub(text: str) -> str:
    """``text`` with credentials masked."""
    text = _CREDENTIAL_SHAPES.sub(lambda m: m.group(1) + m.group(2) + "********", text)
    text = _AUTH_HEADER.sub(lambda m: m.group(1) + "********", text)
    for value in list(_known):
        if value in text:
            text = text.replace(value, "********")
    return text


def install_log_scrubber() -> None:
    """Wrap the process's log-record factory so that every record is scrubbed (once)."""
    global _installed
    if _installed:
        return
    _installed = True
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to the handler to report
            return record
        cleaned = scrub(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
        return record

    logging.setLogRecordFactory(factory)
