"""A real Azurite blob server for cvatcore-azure's tests (not used in production).

``start_azurite(workdir)`` finds ``azurite-blob`` (``$AZURITE_BLOB``, ``PATH``, or the npm cache
directory ``$CVATCORE_AZURITE_DIR``, default ``~/.cache/cvatcore/azurite``), installs it there
with ``npm install azurite@3`` when it is missing and npm is on the machine, starts it in memory
on a free loopback port and returns an ``Azurite``; ``stop()`` ends that one process by its PID.
Azurite cannot listen on port 0, so a free port is picked first and the start is retried if
another process takes it in between.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from azure.storage.blob import (
    BlobServiceClient,
    ContainerSasPermissions,
    PublicAccess,
    generate_container_sas,
)

# Azurite's well-known development account (documented by Microsoft; not a secret).
ACCOUNT = "devstoreaccount1"
ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
NPM_PACKAGE = "azurite@3"
INSTALL_HINT = f"npm install --prefix ~/.cache/cvatcore/azurite {NPM_PACKAGE}"


class AzuriteError(RuntimeError):
    """Azurite (or npm to install it) is missing, or it did not start; the message says why."""


def cache_dir() -> Path:
    """Where ``npm install`` puts Azurite for the tests."""
    default = Path.home() / ".cache" / "cvatcore" / "azurite"
    return Path(os.environ.get("CVATCORE_AZURITE_DIR", default))


def find_azurite(install: bool = True) -> str:
    """The path of ``azurite-blob``, installing it into ``cache_dir()`` if allowed and needed."""
    explicit = os.environ.get("AZURITE_BLOB")
    if explicit:
        return explicit
    cached = cache_dir() / "node_modules" / ".bin" / "azurite-blob"
    found = shutil.which("azurite-blob") or (str(cached) if cached.exists() else None)
    if found:
        return found
    npm = shutil.which("npm")
    if not install or npm is None:
        raise AzuriteError(f"azurite-blob is not installed; run: {INSTALL_HINT}")
    cache_dir().mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [npm, "install", "--prefix", str(cache_dir()), "--no-audit", "--no-fund",
         "--loglevel=error", NPM_PACKAGE],
        capture_output=True, text=True, timeout=600, check=False,
    )
    if done.returncode != 0 or not cached.exists():
        raise AzuriteError(f"npm could not install {NPM_PACKAGE}: {done.stderr.strip()[-500:]}")
    return str(cached)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Azurite:
    """A running Azurite blob service and the development account's endpoint and key."""

    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    __test__ = False

    @property
    def account_url(self) -> str:
        """Path-style endpoint: ``http://127.0.0.1:<port>/devstoreaccount1``."""
        return f"http://127.0.0.1:{self.port}/{ACCOUNT}"

    @property
    def connection_string(self) -> str:
        """The shared-key connection string of the development account (full access)."""
        return (f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
                f"BlobEndpoint={self.account_url};")

    def service(self) -> BlobServiceClient:
        """A full-access client, for seeding and inspecting containers in tests."""
        return BlobServiceClient.from_connection_string(self.connection_string)

    def create_container(self, name: str, public: bool = False) -> None:
        """Create ``name``; ``public`` lets anyone list and read it (container-level access)."""
        with self.service() as service:
            service.create_container(name, public_access=PublicAccess.Container if public else None)

    def container_sas(self, container: str, *, write: bool = True, hours: float = 1.0) -> str:
        """A container SAS: read and list always, write and delete when ``write``."""
        permission = ContainerSasPermissions(read=True, list=True, write=write, delete=write,
                                             create=write)
        return generate_container_sas(
            account_name=ACCOUNT, container_name=container, account_key=ACCOUNT_KEY,
            permission=permission, expiry=datetime.now(UTC) + timedelta(hours=hours),
        )

    def stop(self) -> None:
        """End this Azurite (SIGTERM to its PID, then SIGKILL after 10 s)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def _ready(port: int) -> bool:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1).close()
    except urllib.error.HTTPError:
        return True  # Azurite answers 400 to "/": it is up
    except OSError:
        return False
    return True


def _launch(binary: str, workdir: Path, port: int, timeout: float) -> Azurite | None:
    log_path = workdir / f"azurite-{port}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [binary, "--blobHost", "127.0.0.1", "--blobPort", str(port), "--inMemoryPersistence",
             "--skipApiVersionCheck", "--disableTelemetry", "--silent"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
    azurite = Azurite(port=port, process=process, log_path=log_path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return None  # exited (the port was taken in between, or a broken install)
        if _ready(port):
            return azurite
        time.sleep(0.05)
    azurite.stop()
    return None


def start_azurite(workdir: Path, timeout: float = 30.0) -> Azurite:
    """Start an in-memory Azurite blob service on a free loopback port and wait until it answers.

    Azurite needs ``--skipApiVersionCheck`` because azure-storage-blob sends API versions newer
    than the ones it knows.
    """
    binary = find_azurite()
    workdir.mkdir(parents=True, exist_ok=True)
    for _ in range(3):
        azurite = _launch(binary, workdir, _free_port(), timeout)
        if azurite is not None:
            return azurite
    log = sorted(workdir.glob("azurite-*.log"))[-1].read_text(errors="replace")[-1000:]
    raise AzuriteError(f"Azurite did not start ({binary}): {log}")
