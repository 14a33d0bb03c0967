"""Meta-tests (datasette's idea): every hook is documented in its docstring and has a test.

The hook specs' docstrings are the plugin authors' reference, so they must say when the hook
is called, what each argument is and what it returns.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from pathlib import Path

import pytest

from cvatcore.core.plugins import BUILTIN_PLUGINS, make_plugin_manager
from cvatcore.hooks import SPEC_MODULES

REPO = Path(__file__).resolve().parents[2]
SECTIONS = ("Called:", "Arguments:", "Returns:")


def _hookspecs() -> list[tuple[str, object]]:
    specs = []
    for module_name in SPEC_MODULES:
        module = importlib.import_module(module_name)
        for name, value in vars(module).items():
            if hasattr(value, "cvatcore_spec"):
                specs.append((name, value))
    return specs


HOOKSPECS = _hookspecs()
HOOK_NAMES = [name for name, _ in HOOKSPECS]


def test_there_are_hookspecs_and_every_one_is_known_to_the_plugin_manager():
    assert len(HOOK_NAMES) == len(set(HOOK_NAMES)) >= 10
    pm = make_plugin_manager()
    for name in HOOK_NAMES:
        assert getattr(pm.hook, name).has_spec(), name


@pytest.mark.parametrize(("name", "spec"), HOOKSPECS, ids=HOOK_NAMES)
def test_hookspec_docstring_has_the_sections(name, spec):
    doc = inspect.getdoc(spec) or ""
    positions = [doc.find(section) for section in SECTIONS]
    assert -1 not in positions, f"{name}: the docstring needs {', '.join(SECTIONS)}"
    assert positions == sorted(positions), f"{name}: sections out of order"
    summary = doc.split("\n", 1)[0]
    assert summary.endswith(".") and len(summary) > 15, f"{name}: needs a one-line summary"


@pytest.mark.parametrize(("name", "spec"), HOOKSPECS, ids=HOOK_NAMES)
def test_hookspec_documents_every_argument(name, spec):
    doc = inspect.getdoc(spec) or ""
    arguments = doc.split("Arguments:", 1)[1].split("Returns:", 1)[0]
    documented = re.findall(r"^    (\w+):", arguments, flags=re.M)
    assert documented == list(inspect.signature(spec).parameters), name


def _test_function_names() -> set[str]:
    files = [*(REPO / "tests").rglob("test_*.py"), *(REPO / "plugins").glob("*/tests/**/test_*.py")]
    names = set()
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                names.add(node.name)
    return names


def test_every_hook_has_a_test():
    tests = _test_function_names()
    untested = [
        name for name in HOOK_NAMES
        if not any(re.fullmatch(rf"test_hook_{name}(_\w+)?", test) for test in tests)
    ]
    assert not untested, f"write a test_hook_<name> test for: {', '.join(untested)}"


@pytest.mark.parametrize("module_name", BUILTIN_PLUGINS)
def test_builtin_plugins_implement_only_known_hooks(module_name):
    module = importlib.import_module(module_name)
    impls = [n for n, v in vars(module).items() if hasattr(v, "cvatcore_impl")]
    assert impls and set(impls) <= set(HOOK_NAMES)
