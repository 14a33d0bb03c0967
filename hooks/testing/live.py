"""A real ``cvatcore serve`` process for end-to-end tests (official clients, CLI tools):
``serve_with_admin`` for a server with fresh settings and an administrator (and ordinary
users), ``serve`` to run one on settings of your own, ``sdk_client`` for a cvat-sdk client of
it. The core and cvat-sdk are imported inside the helpers that need them."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cvatcore.core.config import Settings
    from cvatcore.core.state import AppState

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
    with serve_process(env, log, timeout) as (url, _):
        yield url


@contextmanager
def serve_process(env: Mapping[str, str], log: Path, timeout: float = 60.0
                  ) -> Iterator[tuple[str, int]]:
    """:func:`serve`, yielding the base URL and the server's process id (to measure it)."""
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(BIN / "cvatcore"), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=dict(env), stdout=out, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, process, log, timeout)
        yield url, process.pid
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


ADMIN = ("admin", "admin-pass-123")
"""The administrator :func:`serve_with_admin` makes unless told otherwise."""


@dataclass(frozen=True)
class LiveServer:
    """A running ``cvatcore serve`` and its administrator (what :func:`serve_with_admin`
    yields). ``env`` is the environment it runs with: run the ``cvatcore`` CLI, or a
    ``cvatcore worker``, on the same settings with it. ``urls[n]`` and ``roots[n]`` are
    replica ``n``'s URL and folder (its ``cvatcore.toml``, ``data/`` and ``server.log``);
    ``url``, ``config_path``, ``log`` and ``env`` are replica 0's, the only one by default.
    ``pids[n]`` is replica ``n``'s server process id."""

    url: str
    username: str
    password: str
    config_path: Path
    log: Path
    env: dict[str, str]
    urls: tuple[str, ...]
    roots: tuple[Path, ...]
    pids: tuple[int, ...]

    @property
    def credentials(self) -> tuple[str, str]:
        return self.username, self.password

    @property
    def host(self) -> str:
        """The host as cvat-sdk's ``make_client`` wants it, with :attr:`port` (a bare host
        would mean https)."""
        return self.url.rsplit(":", 1)[0]

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def settings(self) -> Settings:
        """Settings in this process on this server's data directory and database (read from
        :attr:`config_path`), made as :func:`cvatcore.hooks.testing.test_settings` makes them:
        to read or write the server's rows, or use its secrets, from a test."""
        import tomllib

        from cvatcore.hooks.testing.harness import test_settings

        config = tomllib.loads(self.config_path.read_text())
        return test_settings(Path(config["server"]["data_dir"]),
                             config.get("database", {}).get("url"))

    @contextmanager
    def state(self) -> Iterator[AppState]:
        """An ``AppState`` in this process on :meth:`settings` (the server's database, which
        it has migrated); its database connections are closed at the end."""
        from cvatcore.core.state import AppState

        state = AppState.build(self.settings())
        try:
            yield state
        finally:
            state.db.dispose()

    def add_users(self, users: Mapping[str, str]) -> dict[str, int]:
        """Ordinary accounts (system role ``user``), ``{username: password}`` with the email
        ``<username>@example.com``, made in the server's database by the accounts service as
        ``cvatcore createsuperuser`` makes its administrator; returns their ids by name."""
        from cvatcore.core.services.accounts import create_user
        from cvatcore.core.services.caller import Caller

        with self.state() as state, state.db.unit_of_work() as session:
            return {name: create_user(Caller.system(state, session), name, password,
                                      email=f"{name}@example.com", groups=["user"]).id
                    for name, password in users.items()}


def settings_env(
    root: Path, extra_config: str = "", *, env: Mapping[str, str | None] | None = None,
    database_url: str | None = None,
) -> dict[str, str]:
    """Write the settings of a ``cvatcore`` process that keeps everything in ``root`` —
    ``root/cvatcore.toml``: ``[server]`` with ``host = "127.0.0.1"`` and ``data_dir =
    root/data``, then ``extra_config`` (TOML; keys before its first table go to ``[server]``),
    then ``[database] url`` when ``database_url`` is given (default: SQLite in the data
    directory) — and return the environment to run it with: this process's environment
    without any ``CVATCORE_*`` variable (the settings come from the file alone), with
    ``CVATCORE_CONFIG`` naming the file, and ``env`` on top (``None`` removes a variable)."""
    root.mkdir(parents=True, exist_ok=True)
    config = root / "cvatcore.toml"
    # JSON's string escapes are TOML's: any path or URL is written as it is.
    text = f'[server]\nhost = "127.0.0.1"\ndata_dir = {json.dumps(str(root / "data"))}\n'
    text += extra_config
    if database_url:
        text += f"\n[database]\nurl = {json.dumps(database_url)}\n"
    config.write_text(text)
    out = {k: v for k, v in os.environ.items() if not k.startswith("CVATCORE_")}
    out["CVATCORE_CONFIG"] = str(config)
    for name, value in (env or {}).items():
        if value is None:
            out.pop(name, None)
        else:
            out[name] = value
    return out


def create_admin(env: Mapping[str, str], username: str = ADMIN[0], password: str = ADMIN[1],
                 email: str | None = None) -> None:
    """Run ``cvatcore createsuperuser --no-input`` with ``env`` (see :func:`settings_env`),
    which migrates the database first; email ``<username>@example.com`` unless given. A
    failure quotes the command's output."""
    made = subprocess.run(
        [str(BIN / "cvatcore"), "createsuperuser", "--username", username, "--password",
         password, "--email", email or f"{username}@example.com", "--no-input"],
        env=dict(env), capture_output=True, text=True, timeout=120)
    if made.returncode != 0:
        raise RuntimeError(f"cvatcore createsuperuser exited with {made.returncode}:\n"
                           f"{made.stdout}{made.stderr}")


@contextmanager
def serve_with_admin(
    root: Path, extra_config: str = "", *, env: Mapping[str, str | None] | None = None,
    username: str = ADMIN[0], password: str = ADMIN[1], email: str | None = None,
    users: Mapping[str, str] | None = None, database_url: str | None = None,
    replicas: int = 1, timeout: float = 60.0,
) -> Iterator[LiveServer]:
    """A real ``cvatcore serve`` on fresh settings with one administrator, for end-to-end
    tests (official clients, CLI tools, other processes)::

        with serve_with_admin(tmp_path, '[outbound]\\nallow = ["127.0.0.1"]\\n') as live:
            make_client(live.host, port=live.port, credentials=live.credentials)

    Writes the settings in ``root`` as :func:`settings_env` does (``extra_config``, ``env``
    and ``database_url`` are its), runs ``cvatcore createsuperuser --no-input`` for
    ``username``/``password`` (email ``<username>@example.com`` unless given), then
    :func:`serve` on a free loopback port with the output in ``root/server.log``; yields a
    :class:`LiveServer` once it answers and stops the server when the block ends. ``users``
    (``{username: password}``) are ordinary accounts made once it answers, as
    :meth:`LiveServer.add_users` makes them.

    ``replicas`` > 1 starts that many servers over one database (so ``database_url`` is
    required), replica ``n`` with its own folder ``root/replica<n>`` (settings, data
    directory, log) and the same ``extra_config`` and ``env``. Each server has ``timeout``
    seconds to answer; a failure to make the administrator or to start quotes the output."""
    if replicas > 1 and not database_url:
        raise ValueError("several replicas share one database: give database_url")
    roots = [root] + [root / f"replica{n}" for n in range(1, replicas)]
    envs = [settings_env(r, extra_config, env=env, database_url=database_url) for r in roots]
    create_admin(envs[0], username, password, email)
    with ExitStack() as stack:
        running = [stack.enter_context(serve_process(e, r / "server.log", timeout))
                   for r, e in zip(roots, envs, strict=True)]
        urls = tuple(url for url, _ in running)
        live = LiveServer(urls[0], username, password, root / "cvatcore.toml",
                          root / "server.log", envs[0], urls, tuple(roots),
                          tuple(pid for _, pid in running))
        if users:
            live.add_users(users)
        yield live


@contextmanager
def sdk_client(server: LiveServer | str, credentials: tuple[str, str] | None = None, *,
               status_check_period: float = 0.05) -> Iterator[Any]:
    """A signed-in cvat-sdk client of ``server`` — a :class:`LiveServer` (as its
    administrator unless ``credentials`` are given) or a base URL (as :data:`ADMIN` unless
    given) — that polls background requests every ``status_check_period`` seconds (the SDK's
    default is 5 s); closed at the end."""
    from cvat_sdk import make_client

    url = server if isinstance(server, str) else server.url
    if credentials is None:
        credentials = ADMIN if isinstance(server, str) else server.credentials
    host, port = url.rsplit(":", 1)
    with make_client(host, port=int(port), credentials=credentials) as client:
        client.config.status_check_period = status_check_period
        yield client
