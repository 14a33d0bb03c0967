"""A real ``cvatcore serve`` process for end-to-end tests (official clients, CLI tools)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

BIN = Path(sys.executable).parent


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serve(env: Mapping[str, str], log: Path, timeout: float = 60.0) -> Iterator[str]:
    """Run ``cvatcore serve`` on a free loopback port with ``env`` (which names the settings
    through ``CVATCORE_CONFIG``); yield its base URL once ``/api/server/about`` answers, and
    stop the process at the end. Its output goes to ``log``, quoted when it fails to start."""
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(BIN / "cvatcore"), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=dict(env), stdout=out, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, process, log, timeout)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            code = process.returncode
            raise RuntimeError(f"cvatcore serve exited with {code}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url + "/api/server/about", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"cvatcore serve did not answer within {timeout:.0f} s:\n{log.read_text()}")
