"""A real ``cvatcore serve`` with one extra plugin whose route fails on purpose (so the
last-resort handler can be watched on the wire), and an administrator on it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from cvatcore.hooks.testing.live import serve

BIN = Path(sys.executable).parent
ADMIN = ("admin", "admin-pass-123")

# A plugin found through its entry point like an installed one: a module and a
# ``.dist-info`` directory on PYTHONPATH, nothing pip-installed.
FAULTY_MODULE = '''
from cvatcore.hooks import hookimpl


def boom(request):
    raise RuntimeError("faulty plugin failed on purpose")


def boom_signed_in(request):
    return {"x": 1 / 0}


@hookimpl
def register_routes(register):
    register("/api/faulty/boom", boom, methods=["GET"], name="faulty_boom")
    register("/api/faulty/signed-in", boom_signed_in, methods=["GET"],
             name="faulty_signed_in", auth=True)
'''


def faulty_plugin_path(root: Path) -> Path:
    site = root / "faulty-site"
    info = site / "cvatcore_faulty-0.1.dist-info"
    info.mkdir(parents=True)
    (site / "cvatcore_faulty.py").write_text(FAULTY_MODULE)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: cvatcore-faulty\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[cvatcore]\nfaulty = cvatcore_faulty\n")
    return site


@dataclass(frozen=True)
class Live:
    url: str
    config: Path
    log: Path
    env: dict[str, str]


def cvatcore_cli(
    env: dict[str, str], *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "cvatcore"), *args], env=env, capture_output=True,
                          text=True, timeout=timeout)


def start_live(root: Path, database_url: str | None = None) -> Iterator[Live]:
    config = root / "cvatcore.toml"
    text = f'[server]\nhost = "127.0.0.1"\ndata_dir = "{root / "data"}"\n'
    if database_url:
        text += f'[database]\nurl = "{database_url}"\n'
    config.write_text(text)
    env = {**os.environ, "CVATCORE_CONFIG": str(config),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(faulty_plugin_path(root)),
                                                       os.environ.get("PYTHONPATH")]))}
    result = cvatcore_cli(env, "createsuperuser", "--username", ADMIN[0], "--password",
                          ADMIN[1], "--email", "admin@example.com", "--no-input")
    assert result.returncode == 0, result.stderr
    log = root / "server.log"
    with serve(env, log) as url:
        yield Live(url, config, log, env)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    yield from start_live(tmp_path_factory.mktemp("hardening-live"))
