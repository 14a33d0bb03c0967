"""``cvatcore serve`` pointed at a PostgreSQL port where nothing listens: one line per
attempt naming the setting and the address, no traceback, never the password."""

from __future__ import annotations

import os
import subprocess
import time

from cvatcore.hooks.testing.live import BIN, free_port


def test_dead_database_is_one_line_without_password(tmp_path):
    port = free_port()
    config = tmp_path / "cvatcore.toml"
    config.write_text(
        f'[server]\ndata_dir = "{tmp_path / "data"}"\n[database]\n'
        f'url = "postgresql+psycopg://cvat:s3cret-pw@127.0.0.1:{port}/cvat"\n'
        "connect_retry_seconds = 1.5\n")
    started = time.monotonic()
    result = subprocess.run([str(BIN / "cvatcore"), "serve"], capture_output=True, text=True,
                            env={**os.environ, "CVATCORE_CONFIG": str(config)}, timeout=60)
    took = time.monotonic() - started
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert 2 <= len(lines) <= 4, result.stderr  # retried for ~1.5 s, then gave up
    assert 1.4 < took < 30
    for line in lines:
        assert "[database] url" in line and f"127.0.0.1:{port}" in line, line
    assert "s3cret-pw" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def test_a_missing_database_driver_is_one_line(tmp_path):
    """A fresh ``pip install -e .`` has no PostgreSQL driver (it is the ``postgres`` extra):
    pointed at PostgreSQL, the server says so in one line, not a 40-line traceback."""
    config = tmp_path / "cvatcore.toml"
    config.write_text(
        f'[server]\ndata_dir = "{tmp_path / "data"}"\n[database]\n'
        'url = "postgresql+pg8000://cvat:s3cret-pw@127.0.0.1:5432/cvat"\n')
    result = subprocess.run([str(BIN / "cvatcore"), "serve"], capture_output=True, text=True,
                            env={**os.environ, "CVATCORE_CONFIG": str(config)}, timeout=60)
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "[database] url" in lines[0] and "pg8000" in lines[0]
    assert "cvatcore[postgres]" in lines[0]
    assert "s3cret-pw" not in result.stderr + result.stdout
