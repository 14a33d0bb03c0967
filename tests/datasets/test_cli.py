"""cvat-cli 2.80, unchanged: ``task export-dataset`` into a directory (the file is named by
the server's Content-Disposition) and ``task import-dataset`` back into a fresh task."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from cvatcore.hooks.testing.live import ADMIN

from .support import assert_same, boxes

CVAT_CLI = Path(sys.executable).parent / "cvat-cli"


def cvat_cli(server: str, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    host, port = server.rsplit(":", 1)
    env = {**os.environ, "HOME": str(home), "PASS": ADMIN[1]}
    env.pop("CVAT_ACCESS_TOKEN", None)
    return subprocess.run([str(CVAT_CLI), "--server-host", host, "--server-port", port,
                           "--auth", ADMIN[0], *args], env=env, capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)


def test_cli_exports_and_imports_a_dataset(server: str, sdk: Any, make_task: Any,
                                           tmp_path: Path) -> None:
    source = make_task("cli source")
    source.set_annotations(boxes(source))
    out = tmp_path / "out"
    result = cvat_cli(server, tmp_path, "task", "export-dataset", str(source.id), f"{out}/",
                      "--format", "CVAT for images 1.1",
                      "--completion_verification_period", "0.1")
    assert result.returncode == 0, result.stderr
    [archive] = list(out.iterdir())
    assert archive.name.startswith("task_cli_source_annotations_") and archive.suffix == ".zip"
    target = make_task("cli target")
    result = cvat_cli(server, tmp_path, "task", "import-dataset", str(target.id), str(archive),
                      "--format", "CVAT 1.1")
    assert result.returncode == 0, result.stderr
    assert_same(target, source)
