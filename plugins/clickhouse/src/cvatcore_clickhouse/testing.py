"""A ClickHouse stand-in for cvatcore-clickhouse's tests and benchmarks: chDB behind
``chdb_http`` in a child process on a loopback port. ``stop()`` and ``start()`` end and
restart that one process (by its PID) on the same port and data directory, as a ClickHouse
server that goes down for a while and comes back with its data. Needs ``chdb`` (the ``test``
extra); never skips: ``ClickHouseError`` says what is missing."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cvatcore.hooks.testing.live import free_port


class ClickHouseError(RuntimeError):
    """chDB is missing or the stand-in did not start; the message says why."""


@dataclass
class ClickHouseServer:
    data_dir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def options(self) -> dict[str, Any]:
        """``[analytics.options.clickhouse]`` pointing at this server."""
        return {"host": "127.0.0.1", "port": self.port, "connect_timeout": 2,
                "send_receive_timeout": 30}

    def start(self, timeout: float = 60.0) -> ClickHouseServer:
        try:
            import chdb  # noqa: F401
        except ImportError as exc:
            raise ClickHouseError("chdb is not installed: pip install "
                                  "'cvatcore-clickhouse[test]'") from exc
        workdir = Path(tempfile.mkdtemp(prefix="chdb-cwd-"))  # no config.xml for chDB to read
        self.log_path = workdir / "server.log"
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "cvatcore_clickhouse.chdb_http", str(self.port),
                 str(self.data_dir)], cwd=workdir, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ClickHouseError(f"the chDB server exited: "
                                      f"{self.log_path.read_text(errors='replace')[-2000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/ping", timeout=1):
                    return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise ClickHouseError(f"the chDB server did not start within {timeout:.0f} s")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)

    def client(self) -> Any:
        import clickhouse_connect

        return clickhouse_connect.get_client(host="127.0.0.1", port=self.port)


def start_clickhouse(data_dir: Path | None = None) -> ClickHouseServer:
    """A running stand-in with its data under ``data_dir`` (a new temporary one if None)."""
    data = data_dir or Path(tempfile.mkdtemp(prefix="chdb-data-"))
    return ClickHouseServer(data).start()
