"""A local stand-in for Google Drive, for cvatcore-gdrive's tests (not used in production).

No Drive emulator exists, so ``start_standin()`` runs ``cvatcore_gdrive.testing.server`` (the
standard library's HTTP server, in a child process so that the tests' own threads do not slow
it) on a free loopback port and returns a ``StandIn``. It answers the Drive v3 calls the
plug-in makes, Google's token endpoint, and a few ``/_standin/`` helpers for tests: making
folders shared with a principal, seeding files, reading the request log, injecting faults.
``stop()`` ends that one process by its PID; it also exits by itself when the process that
started it ends (its standard input closes), so a killed test run leaves nothing behind.
"""

from __future__ import annotations

import json
import select
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

DRIVE_SCOPE = "https://www.googleapis.com/auth/drive"


class StandInError(RuntimeError):
    """The stand-in did not start; the message says why."""


def make_service_account(email: str, token_uri: str) -> tuple[dict[str, Any], str]:
    """A fresh service-account key file's JSON (as Google issues it) and its public key PEM."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode()
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    info = {"type": "service_account", "project_id": "standin", "private_key_id": "k1",
            "private_key": private_pem, "client_email": email, "client_id": "1",
            "token_uri": token_uri}
    return info, public_pem


@dataclass
class StandIn:
    """A running stand-in: its base URL (``api_base_url``) and token endpoint."""

    url: str
    process: subprocess.Popen[str]

    __test__ = False

    @property
    def token_uri(self) -> str:
        return self.url + "/token"

    def call(self, helper: str, payload: dict[str, Any] | None = None,
             query: str = "") -> dict[str, Any]:
        """POST (or GET without payload) one ``/_standin/<helper>``; its JSON answer."""
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(f"{self.url}/_standin/{helper}{query}", data=data,
                                         method="GET" if data is None else "POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def add_service_account(self, email: str) -> dict[str, Any]:
        """Register a new service account; returns its key file JSON (token_uri = ours)."""
        info, public_pem = make_service_account(email, self.token_uri)
        self.call("principals", {"service_accounts": {email: public_pem}})
        return info

    def add_refresh_token(self, token: str, client_id: str, client_secret: str,
                          email: str) -> None:
        self.call("principals",
                  {"refresh_tokens": {token: [client_id, client_secret, email]}})

    def folder(self, name: str, share: dict[str, str], parent: str = "root") -> str:
        """Create a folder shared as ``{email: "reader"|"writer"|"owner"}``; its id."""
        return self.call("folder", {"name": name, "parent": parent, "share": share})["id"]

    def seed(self, parent: str, files: dict[str, str]) -> dict[str, str]:
        return self.call("seed", {"parent": parent, "files": files})

    def children(self, parent: str) -> list[dict[str, Any]]:
        """Every item directly in ``parent`` (duplicates included), bypassing permissions."""
        return self.call("children", query=f"?parent={parent}")["files"]

    def requests(self) -> list[dict[str, Any]]:
        return self.call("requests")["requests"]

    def clear_log(self) -> None:
        self.call("clear-log", {})

    def configure(self, **options: Any) -> None:
        """``max_page``, ``faults`` (statuses for the next requests), ``short_commit``."""
        self.call("config", options)

    def revoke_tokens(self) -> None:
        self.call("revoke", {})

    def stop(self) -> None:
        """End this stand-in (SIGTERM to its PID, then SIGKILL after 10 s)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe:
                pipe.close()


def start_standin(timeout: float = 20.0) -> StandIn:
    """Start the stand-in on a free loopback port and wait for its ``READY <url>`` line."""
    process = subprocess.Popen(
        [sys.executable, "-m", "cvatcore_gdrive.testing.server", "--port", "0",
         "--exit-with-parent"],
        stdout=subprocess.PIPE, stdin=subprocess.PIPE, text=True,
    )
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    line = process.stdout.readline() if ready and process.stdout else ""
    if not line.startswith("READY "):
        process.kill()
        process.wait(timeout=timeout)
        raise StandInError(f"the Drive stand-in did not start: {line!r}")
    standin = StandIn(url=line.split()[1], process=process)
    standin.call("health")
    return standin
