"""The stand-in's in-memory Drive: files, folders, who may see them, tokens and uploads.

Access follows Drive: a role granted on a folder applies to everything under it; a file the
caller has no role on is reported as not found (404), and writing with only ``reader`` is a 403.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

FOLDER = "application/vnd.google-apps.folder"
ROOT_ID = "0AStandInRootFolder"
OWNER = "owner@standin.test"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
_ROLES = {"reader": 1, "writer": 2, "owner": 3}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass
class Item:
    id: str
    name: str
    mime_type: str
    parents: list[str]
    data: bytes = b""
    trashed: bool = False
    perms: dict[str, str] = field(default_factory=dict)
    created: str = field(default_factory=_now)
    modified: str = field(default_factory=_now)
    _md5: str = ""
    _md5_of: bytes | None = None

    def record(self) -> dict[str, Any]:
        """The Drive v3 ``File`` resource (every field the stand-in knows)."""
        out = {"kind": "drive#file", "id": self.id, "name": self.name, "mimeType": self.mime_type,
               "parents": list(self.parents), "trashed": self.trashed,
               "createdTime": self.created, "modifiedTime": self.modified}
        if self.mime_type != FOLDER:
            if self._md5_of is not self.data:  # hash each new content once, not per listing
                self._md5, self._md5_of = hashlib.md5(self.data).hexdigest(), self.data
            out["size"] = str(len(self.data))
            out["md5Checksum"] = self._md5
        return out


@dataclass
class Upload:
    """One resumable upload session."""

    meta: dict[str, Any]
    file_id: str | None
    principal: str
    received: bytearray = field(default_factory=bytearray)


class AuthFailure(Exception):
    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status, self.error, self.description = status, error, description


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Store:
    """Everything the stand-in keeps; one lock around it (requests are served in threads)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.items: dict[str, Item] = {
                ROOT_ID: Item(ROOT_ID, "My Drive", FOLDER, [], perms={OWNER: "owner"})}
            self.children: dict[str, set[str]] = {}  # parent id -> child ids
            self.tokens: dict[str, str] = {}  # access token -> principal (email)
            self.service_accounts: dict[str, Any] = {}  # client_email -> public key
            self.refresh_tokens: dict[str, tuple[str, str, str]] = {}  # -> (id, secret, email)
            self.uploads: dict[str, Upload] = {}
            self.log: list[dict[str, Any]] = []
            self.faults: list[int] = []
            self.max_page = 1000
            self.short_commit = False

    # --- principals and tokens -------------------------------------------------------------

    def add_service_account(self, email: str, public_pem: str) -> None:
        key = serialization.load_pem_public_key(public_pem.encode())
        with self.lock:
            self.service_accounts[email] = key

    def add_refresh_token(self, token: str, client_id: str, client_secret: str,
                          email: str) -> None:
        with self.lock:
            self.refresh_tokens[token] = (client_id, client_secret, email)

    def issue(self, principal: str) -> str:
        token = "ya29.standin-" + secrets.token_urlsafe(24)
        with self.lock:
            self.tokens[token] = principal
        return token

    def revoke_all(self) -> None:
        with self.lock:
            self.tokens.clear()

    def grant(self, form: dict[str, str], token_uri: str) -> str:
        """Check one ``/token`` request and return the principal, or raise ``AuthFailure``."""
        kind = form.get("grant_type")
        if kind == JWT_GRANT:
            return self._check_jwt(form.get("assertion", ""), token_uri)
        if kind == "refresh_token":
            found = self.refresh_tokens.get(form.get("refresh_token", ""))
            if found is None:
                raise AuthFailure(400, "invalid_grant", "Token has been expired or revoked.")
            if (form.get("client_id"), form.get("client_secret")) != found[:2]:
                raise AuthFailure(401, "invalid_client", "Unauthorized")
            return found[2]
        raise AuthFailure(400, "unsupported_grant_type", "Invalid grant_type: " + str(kind))

    def _check_jwt(self, assertion: str, token_uri: str) -> str:
        try:
            head_b64, body_b64, sig_b64 = assertion.split(".")
            header, claims = json.loads(_b64decode(head_b64)), json.loads(_b64decode(body_b64))
        except ValueError as exc:
            raise AuthFailure(400, "invalid_grant", "Invalid JWT: malformed") from exc
        key = self.service_accounts.get(claims.get("iss", ""))
        if header.get("alg") != "RS256" or key is None:
            raise AuthFailure(401, "invalid_client", "The OAuth client was not found.")
        try:
            key.verify(_b64decode(sig_b64), f"{head_b64}.{body_b64}".encode(),
                       padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature as exc:
            raise AuthFailure(400, "invalid_grant", "Invalid JWT Signature.") from exc
        now = time.time()
        if claims.get("aud") != token_uri or not claims.get("iat", 0) - 300 < now < claims.get(
                "exp", 0):
            raise AuthFailure(400, "invalid_grant",
                              "Invalid JWT: Token must be a short-lived token and in a "
                              "reasonable timeframe.")
        return claims.get("sub") or claims["iss"]

    # --- files ------------------------------------------------------------------------------

    def resolve_id(self, file_id: str) -> str:
        return ROOT_ID if file_id == "root" else file_id

    def role(self, item: Item, principal: str) -> int:
        """The caller's access to ``item``: the best role on it or any folder above it."""
        best, seen, todo = 0, set(), [item]
        while todo:
            current = todo.pop()
            if current.id in seen:
                continue
            seen.add(current.id)
            best = max(best, _ROLES.get(current.perms.get(principal, ""), 0))
            todo.extend(self.items[p] for p in current.parents if p in self.items)
        return best

    def create(self, name: str, mime_type: str, parent: str, data: bytes = b"",
               perms: dict[str, str] | None = None) -> Item:
        with self.lock:
            item = Item("1" + secrets.token_urlsafe(24).replace("-", "x").replace("_", "y"),
                        name, mime_type, [self.resolve_id(parent)], data, perms=perms or {})
            self.items[item.id] = item
            self.children.setdefault(item.parents[0], set()).add(item.id)
            return item

    def delete(self, item: Item) -> None:
        """Drive deletes a folder together with everything in it."""
        with self.lock:
            for child_id in list(self.children.pop(item.id, ())):
                self.delete(self.items[child_id])
            for parent in item.parents:
                self.children.get(parent, set()).discard(item.id)
            self.items.pop(item.id, None)

    def seed(self, parent: str, files: dict[str, str | bytes]) -> dict[str, str]:
        """Create ``{"a/b.txt": content}`` under ``parent``, folders included; path -> id."""
        out: dict[str, str] = {}
        for path, content in files.items():
            parent_id = self.resolve_id(parent)
            parts = path.split("/")
            for depth, name in enumerate(parts[:-1]):
                key = "/".join(parts[: depth + 1])
                if key not in out:
                    out[key] = self.create(name, FOLDER, parent_id).id
                parent_id = out[key]
            data = content.encode() if isinstance(content, str) else content
            out[path] = self.create(parts[-1], "application/octet-stream", parent_id, data).id
        return out
