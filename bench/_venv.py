"""Shared by the bench scripts: run them with the project's virtualenv."""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def reexec_in_venv(probe: str) -> None:
    """``python bench/x.py`` from outside the venv: run again with the project's venv,
    recognised by ``probe`` (a module only that venv has) being importable."""
    try:
        importlib.import_module(probe)
    except ImportError:
        venv_python = ROOT / ".venv" / "bin" / "python"
        if venv_python.exists() and Path(sys.executable) != venv_python:
            os.execv(venv_python, [str(venv_python), *sys.argv])
        raise
