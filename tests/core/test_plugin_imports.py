"""Plugins use cvatcore's public surface only: ``cvatcore.hooks`` (with its testing kit), never
``cvatcore.core`` or ``cvatcore.cli`` internals, so that the core can change beneath them."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PRIVATE = ("cvatcore.core", "cvatcore.cli")


def private_imports(source: str) -> list[tuple[int, str]]:
    """(line, module) of every import of a private cvatcore module, lazy ones included."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            if name in PRIVATE or name.startswith(tuple(p + "." for p in PRIVATE)):
                found.append((node.lineno, name))
                break
    return found


def plugin_sources() -> list[Path]:
    sources = sorted(REPO.glob("plugins/*/src/**/*.py"))
    sources += sorted(REPO.glob("tests/thirdparty/*/src/**/*.py"))
    return sources


def test_plugin_sources_import_no_core_internals():
    sources = plugin_sources()
    assert len(sources) > 20  # the glob found the plugins
    offenders = [f"{path.relative_to(REPO)}:{line}: {name}"
                 for path in sources for line, name in private_imports(path.read_text())]
    assert not offenders, "plugins import cvatcore internals:\n" + "\n".join(offenders)


def test_the_scan_sees_every_form_of_import():
    code = ("import cvatcore.core.config\n"
            "from cvatcore.core import config\n"
            "from cvatcore import core\n"
            "def f():\n    from cvatcore.cli.main import build_cli\n"
            "from cvatcore.hooks import hookimpl\n"
            "from cvatcore import hooks\n"
            "from cvatcore.hooks.testing import invoke_cli\n")
    assert [line for line, _ in private_imports(code)] == [1, 2, 3, 5]
