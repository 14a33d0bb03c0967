"""A real ``cvatcore serve`` with one extra plugin whose route fails on purpose (so the
last-resort handler can be watched on the wire), and an administrator on it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from cvatcore.hooks.testing.live import LiveServer, serve_with_admin

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


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    root = tmp_path_factory.mktemp("hardening-live")
    path = os.pathsep.join(filter(None, [str(faulty_plugin_path(root)),
                                         os.environ.get("PYTHONPATH")]))
    with serve_with_admin(root, env={"PYTHONPATH": path}) as live:
        yield live
