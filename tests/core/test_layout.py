"""The checkout's shape: fixed top-level folders, one import namespace, and guards against
importing the folders by their bare names."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FOLDERS = {"core", "plugins", "hooks", "cli", "deploy", "tests", "bench", ".ci"}
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())


def test_top_level_folders_are_exactly_the_fixed_ones():
    folders = sorted(p.name for p in REPO.iterdir() if p.is_dir() and p.name != ".git")
    ignored = subprocess.run(
        ["git", "check-ignore", "--no-index", "--stdin"], cwd=REPO, input="\n".join(folders),
        capture_output=True, text=True, check=False,
    ).stdout.split()
    assert set(folders) - set(ignored) == FOLDERS  # .venv, *.egg-info... are git-ignored


def test_bare_folder_names_do_not_import_outside_the_checkout(tmp_path):
    probe = """
import importlib, json
result = {}
for name in ("core", "hooks", "cli", "cvatcore.core", "cvatcore.hooks", "cvatcore.cli"):
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError:
        result[name] = None
    else:
        result[name] = module.__file__
print(json.dumps(result))
"""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True,
        check=True, timeout=60,
    )
    found = json.loads(done.stdout)
    assert (found["core"], found["hooks"], found["cli"]) == (None, None, None)
    assert Path(found["cvatcore.core"]) == REPO / "core" / "__init__.py"
    assert Path(found["cvatcore.hooks"]) == REPO / "hooks" / "__init__.py"
    assert Path(found["cvatcore.cli"]) == REPO / "cli" / "__init__.py"


def test_ruff_bans_the_bare_folder_names():
    lint = PYPROJECT["tool"]["ruff"]["lint"]
    assert "TID" in lint["select"]
    assert set(lint["flake8-tidy-imports"]["banned-api"]) == {"core", "hooks", "cli"}
    ruff = Path(sys.executable).parent / "ruff"
    done = subprocess.run(
        [str(ruff), "check", "--no-cache", "--select", "TID251", "--stdin-filename",
         str(REPO / "tests" / "core" / "probe.py"), "-"],
        cwd=REPO, input="import core.plugins\nfrom hooks import hookimpl\nimport cvatcore.core\n",
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 1
    assert done.stdout.count("TID251") == 2
    assert "import cvatcore.core, never the bare folder name" in done.stdout


def test_pytest_imports_by_path_and_never_puts_the_checkout_on_sys_path():
    options = PYPROJECT["tool"]["pytest"]["ini_options"]
    assert "--import-mode=importlib" in options["addopts"].split()
    assert "pythonpath" not in options
    assert "filterwarnings" in options and options["filterwarnings"][0] == "error"
