"""Helpers for the core's tests: a settings file in ``tmp_path`` and the real ``cvatcore``."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CVATCORE = REPO / ".venv" / "bin" / "cvatcore"
if not CVATCORE.exists():  # a suite run from another environment: use the one pytest runs in
    CVATCORE = Path(sys.executable).parent / "cvatcore"


@pytest.fixture(autouse=True)
def _no_cvatcore_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests start from a clean slate whatever the shell running pytest has set."""
    for name in list(os.environ):
        if name.startswith("CVATCORE_") and name != "CVATCORE_TEST_POSTGRES":
            monkeypatch.delenv(name)


@pytest.fixture
def config_file(tmp_path: Path) -> Callable[[str], Path]:
    """``config_file(toml_text)`` writes a settings file whose data stays in ``tmp_path``."""

    def write(text: str = "") -> Path:
        path = tmp_path / "cvatcore.toml"
        server = "" if "[server]" in text else f'[server]\ndata_dir = "{tmp_path / "data"}"\n'
        path.write_text(server + text)
        return path

    return write


@pytest.fixture
def run_cvatcore(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the installed ``cvatcore`` in a subprocess, in ``tmp_path``, without CVATCORE_*
    variables from the calling shell."""

    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("CVATCORE_")}
        return subprocess.run(
            [str(CVATCORE), *args], cwd=tmp_path, env={**clean, **(env or {})},
            capture_output=True, text=True, timeout=120,
        )

    return run
