"""A third-party storage plugin, written from the README and the hooks' docstrings alone,
passes cvatcore's contract classes in an environment with only cvatcore, the plugin and
pytest installed (no test extras: no httpx2, no psycopg, no cvat-sdk).

The environment is a new virtualenv; cvatcore and the plugin are copied out of the checkout
first (as a third party would have them) and installed with pip, dependencies included.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PLUGIN = Path(__file__).resolve().parent / "cvatcore-folderstore"
# What a cvatcore distribution is built from (pyproject's package-dir and readme).
CVATCORE_PARTS = ("pyproject.toml", "README.md", "core", "hooks", "cli")
OPTIONAL = ("httpx2", "psycopg", "cvat_sdk", "jsonschema", "ruff")


def _copy(source: Path, target: Path, parts: tuple[str, ...] | None = None) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build", ".venv")
    target.mkdir(parents=True)
    for name in parts or tuple(p.name for p in source.iterdir()):
        path = source / name
        if path.is_dir():
            shutil.copytree(path, target / name, ignore=ignore)
        else:
            shutil.copy2(path, target / name)
    return target


def _run(args: list[str], cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CVATCORE_", "VIRTUAL_ENV", "PYTHONPATH"))}
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_thirdparty_plugin_passes_the_contracts_in_a_fresh_environment(tmp_path: Path) -> None:
    started = time.monotonic()
    cvatcore = _copy(REPO, tmp_path / "cvatcore", CVATCORE_PARTS)
    plugin = _copy(PLUGIN, tmp_path / "cvatcore-folderstore")
    venv = tmp_path / "venv"
    made = _run([sys.executable, "-m", "venv", str(venv)], tmp_path, 120)
    assert made.returncode == 0, made.stderr
    python = str(venv / "bin" / "python")
    pip = [python, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    # The build backend once, into the venv, instead of an isolated build environment per
    # distribution (each a round of index look-ups): half the time of this test.
    tools = _run([*pip, "setuptools>=77"], tmp_path, 300)
    assert tools.returncode == 0, tools.stderr[-4000:]
    installed = _run([*pip, "--no-build-isolation", str(cvatcore), str(plugin), "pytest"],
                     tmp_path, 600)
    assert installed.returncode == 0, installed.stdout + installed.stderr[-4000:]

    listed = _run([python, "-c", "import importlib.util as u; print([m for m in "
                   f"{OPTIONAL!r} if u.find_spec(m)])"], tmp_path, 60)
    assert listed.stdout.strip() == "[]", f"test extras leaked in: {listed.stdout}"

    done = _run([python, "-m", "pytest", "-q", "-rA"], plugin, 300)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-6000:]
    assert "TestFolderStoreContract::test_symlinks_out_of_the_root_are_refused" in output
    assert "TestFolderStoreContract::test_large_object_streams_in_bounded_memory" in output
    assert " passed" in output and "skipped" not in output and "error" not in output.lower()
    print(f"fresh environment: {time.monotonic() - started:.0f} s; {output.splitlines()[-1]}")
