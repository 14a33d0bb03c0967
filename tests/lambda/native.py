"""What the native-function tests share: cvat-sdk clients, tasks of numbered blank frames, and
cvat-cli 2.80, unchanged, creating functions (``function create-native``) and serving them
(``function run-agent``, each agent in its own process group with its output in
``<home>/agent-<n>.log``) against a live ``cvatcore serve``. ``server`` is ``(host, port)`` as
cvat-sdk's ``make_client`` takes them; ``auth`` is ``(username, password)``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cvat_sdk import make_client, models

from cvatcore.hooks.testing.images import blank_png

CVAT_CLI = Path(sys.executable).parent / "cvat-cli"


def client(server: tuple[str, int], auth: tuple[str, str]) -> Any:
    return make_client(server[0], port=server[1], credentials=auth)


def make_task(client: Any, folder: Path, name: str, frames: int, size: int) -> Any:
    """A task of ``frames`` blank square PNGs of ``size`` pixels, ``f000.png``, ``f001.png``,
    ... (the test functions read the frame's number from its name) written into ``folder``,
    with one label: ``car``, a rectangle."""
    paths = []
    for number in range(frames):
        paths.append(folder / f"f{number:03d}.png")
        paths[-1].write_bytes(blank_png(size))
    return client.tasks.create_from_data(
        spec=models.TaskWriteRequest(name=name, labels=[
            models.PatchedLabelRequest(name="car", type="rectangle")]),
        resources=paths)


def run_cli(server: tuple[str, int], auth: tuple[str, str], home: Path, *args: str
            ) -> subprocess.CompletedProcess[str]:
    """``cvat-cli <args>`` run to its end with ``HOME`` at ``home``."""
    return subprocess.run(_argv(server, auth, *args), env={**os.environ, "HOME": str(home)},
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


def create_function(server: tuple[str, int], auth: tuple[str, str], home: Path, name: str,
                    function_file: Path, *extra: str) -> int:
    """``cvat-cli function create-native``: the new function's id."""
    result = run_cli(server, auth, home, "function", "create-native", name, "--function-file",
                     str(function_file), *extra)
    assert result.returncode == 0, result.stderr
    return int(result.stdout.strip())


@dataclass(frozen=True)
class Agent:
    process: subprocess.Popen[bytes]
    log: Path

    def wait_connected(self, timeout: float = 90) -> None:
        """Until the agent listens on its queue's event stream (so it hears of new requests
        at once); AssertionError with its log if it does not within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while b"Connected to the queue event stream" not in self.log.read_bytes():
            assert self.process.poll() is None and time.monotonic() < deadline, \
                self.log.read_text()
            time.sleep(0.1)

    def stop(self, sig: int = signal.SIGKILL) -> None:
        """Signal the agent's process group (the agent and the function it runs, as a lost
        machine would with SIGKILL) and wait for the agent to end."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, sig)
        self.process.wait(timeout=30)


def start_agent(server: tuple[str, int], auth: tuple[str, str], home: Path, function_id: int,
                function_file: Path, *extra: str, env: dict[str, str] | None = None) -> Agent:
    """``cvat-cli function run-agent`` in its own process group (it runs the function in a
    child process), with ``env`` added to its environment."""
    log = home / f"agent-{time.monotonic_ns()}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            _argv(server, auth, "function", "run-agent", str(function_id), "--function-file",
                  str(function_file), *extra),
            env={**os.environ, "HOME": str(home), **(env or {})}, stdout=out,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    return Agent(process, log)


def answer(client: Any, path: str, method: str, body: Any = None) -> tuple[int, Any]:
    """A JSON call through cvat-sdk's untyped ``call_api``: the status and the decoded body
    (an error's too)."""
    from cvat_sdk.api_client.exceptions import ApiException

    try:
        _, response = client.api_client.call_api(path, method, body=body,
                                                 _parse_response=False)
    except ApiException as exc:
        return exc.status, json.loads(exc.body or "null")
    return response.status, json.loads(response.data or b"null")


def _argv(server: tuple[str, int], auth: tuple[str, str], *args: str) -> list[str]:
    return [str(CVAT_CLI), "--server-host", server[0], "--server-port", str(server[1]),
            "--auth", ":".join(auth), *args]
