"""The testing kit as a plugin author meets it: a separate pytest run of a small plugin suite,
outside cvatcore's own settings (no ``cvatcore_postgres``, no cheap hashes)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

# Packages of cvatcore's extras (``test``, ``postgres``) that a plugin's environment may lack.
OPTIONAL = ("httpx2", "httpx", "psycopg", "cvat_sdk", "cvat_cli", "jsonschema", "moto")

# Runs pytest as if those packages were not installed (an import of one fails).
BLOCKING_RUNNER = (
    "import sys\n"
    f"for name in {OPTIONAL!r}:\n"
    "    sys.modules[name] = None\n"
    "import pytest\n"
    "sys.exit(pytest.main(sys.argv[1:]))\n"
)


def run_suite(folder: Path, *args: str, block_optional: bool = False,
              env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``pytest`` in ``folder`` with an empty ini of its own (not cvatcore's pyproject)."""
    if not (folder / "pytest.ini").exists():
        (folder / "pytest.ini").write_text("[pytest]\n")
    runner = ["-c", BLOCKING_RUNNER] if block_optional else ["-m", "pytest"]
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CVATCORE_")}
    return subprocess.run(
        [sys.executable, *runner, "-q", "-p", "no:cacheprovider", *args],
        cwd=folder, env={**clean, **(env or {})}, capture_output=True, text=True, timeout=300,
    )


def test_kit_loads_and_contracts_run_without_optional_packages(tmp_path: Path) -> None:
    (tmp_path / "test_plugin.py").write_text(textwrap.dedent("""
        import pytest
        from cvatcore.hooks.testing.contracts import (
            LocalDirectoryContract, StorageProviderContract)
        from cvatcore.core.builtin.storage_local import LocalStorage, LocalStorageConfig

        class TestLocal(StorageProviderContract, LocalDirectoryContract):
            @pytest.fixture
            def storage_provider(self, tmp_path):
                (tmp_path / "root").mkdir()
                return LocalStorage(LocalStorageConfig(root=tmp_path / "root"))
    """))
    done = run_suite(tmp_path, block_optional=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert " passed" in done.stdout and "error" not in done.stdout


def test_loading_the_kit_changes_nothing_process_wide(tmp_path: Path) -> None:
    """Environment, logging, warnings filters and password-hash cost are the same with and
    without the kit; cheap hashes only with the ini key."""
    (tmp_path / "test_globals.py").write_text(textwrap.dedent("""
        import json, logging, os, warnings
        from cvatcore.core.services import passwords

        def test_record():
            state = {"env": sorted(os.environ), "factory": repr(logging.getLogRecordFactory()),
                     "handlers": len(logging.getLogger().handlers),
                     "level": logging.getLogger().level,
                     "hash_cost": passwords._hasher.time_cost}
            with open(os.environ["RECORD_TO"], "w") as out:
                json.dump(state, out)
    """))

    def record(name: str, *args: str) -> dict[str, object]:
        path = tmp_path / f"{name}.json"
        done = run_suite(tmp_path, *args, env={"RECORD_TO": str(path)})
        assert done.returncode == 0, done.stdout + done.stderr
        import json

        return json.loads(path.read_text())

    without_kit = record("without", "-p", "no:cvatcore")
    with_kit = record("with")
    assert with_kit == without_kit
    assert with_kit["hash_cost"] > 1
    cheap = record("cheap", "-o", "cvatcore_cheap_password_hashes=true")
    assert cheap["hash_cost"] == 1


DATABASE_SUITE = """
def test_uses_a_database(cvatcore_settings):
    assert cvatcore_settings.database_url()
"""


def test_postgres_cases_run_only_when_asked(tmp_path: Path) -> None:
    (tmp_path / "test_db.py").write_text(DATABASE_SUITE)
    done = run_suite(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed, 1 deselected" in done.stdout
    asked = run_suite(tmp_path, "--cvatcore-postgres")
    assert asked.returncode == 0, asked.stdout + asked.stderr
    assert "2 passed" in asked.stdout and "deselected" not in asked.stdout
    by_ini = run_suite(tmp_path, "-o", "cvatcore_postgres=true")
    assert "2 passed" in by_ini.stdout, by_ini.stdout + by_ini.stderr


def test_unreachable_postgres_fails_when_asked(tmp_path: Path) -> None:
    (tmp_path / "test_db.py").write_text(DATABASE_SUITE)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: connection refused
        done = run_suite(tmp_path, "--cvatcore-postgres", env={
            "CVATCORE_TEST_POSTGRES": f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"})
    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 passed" in done.stdout and "skipped" not in done.stdout
    assert "PostgreSQL cases were asked for" in done.stdout
    assert f"127.0.0.1:{port}" in done.stdout


def test_settings_env_writes_the_settings_and_leaves_this_process_out(
    tmp_path: Path, monkeypatch
) -> None:
    """``live.settings_env``: the file holds what it was given, and no CVATCORE_* variable of
    the test process reaches the server (its settings come from the file alone)."""
    from cvatcore.core.config import load_settings
    from cvatcore.hooks.testing.live import settings_env

    monkeypatch.setenv("CVATCORE_JOBS__POLL_SECONDS", "7")
    monkeypatch.setenv("KIT_KEPT", "1")
    monkeypatch.setenv("KIT_DROPPED", "1")
    env = settings_env(tmp_path / "node", 'log_format = "json"\n[jobs]\npoll_seconds = 0.5\n',
                       env={"KIT_ADDED": "2", "KIT_DROPPED": None},
                       database_url="sqlite:////nowhere/cvatcore.db")
    config = tmp_path / "node" / "cvatcore.toml"
    assert env["CVATCORE_CONFIG"] == str(config)
    assert [k for k in env if k.startswith("CVATCORE_")] == ["CVATCORE_CONFIG"]
    assert (env["KIT_KEPT"], env["KIT_ADDED"], "KIT_DROPPED" in env) == ("1", "2", False)
    monkeypatch.delenv("CVATCORE_JOBS__POLL_SECONDS")
    settings = load_settings(config)
    assert settings.server.data_dir == tmp_path / "node" / "data"
    assert (settings.server.host, settings.server.log_format) == ("127.0.0.1", "json")
    assert settings.jobs.poll_seconds == 0.5
    assert settings.database.url.get_secret_value() == "sqlite:////nowhere/cvatcore.db"


def test_serve_with_admin_wants_a_shared_database_for_replicas(tmp_path: Path) -> None:
    from cvatcore.hooks.testing.live import serve_with_admin

    with pytest.raises(ValueError, match="database_url"), serve_with_admin(tmp_path, replicas=2):
        pass
    assert not list(tmp_path.iterdir())  # nothing written, nothing started


def test_serve_with_admin_makes_ordinary_users_and_signs_in_sdk_clients(tmp_path: Path) -> None:
    """``users=``: ordinary accounts (the ``user`` role only) beside the administrator, in the
    database :meth:`LiveServer.state` opens; ``sdk_client`` signs in as the administrator
    unless told otherwise; ``pids`` are the servers' processes."""
    from cvatcore.hooks.testing.live import sdk_client, serve_with_admin

    with serve_with_admin(tmp_path, users={"ann": "ann-pass-123"}) as live:
        with sdk_client(live) as admin:
            me = admin.users.retrieve_current_user()
            assert (me.username, me.is_superuser) == (live.username, True)
            assert admin.config.status_check_period == 0.05
        with sdk_client(live.url, ("ann", "ann-pass-123"), status_check_period=0.2) as ann:
            me = ann.users.retrieve_current_user()
            assert (me.username, me.email, me.groups, me.is_superuser) == (
                "ann", "ann@example.com", ["user"], False)
            assert ann.config.status_check_period == 0.2
        assert live.add_users({"bob": "bob-pass-123"})["bob"] > me.id
        cmdline = Path(f"/proc/{live.pids[0]}/cmdline").read_bytes().split(b"\0")
        assert b"serve" in cmdline and str(live.port).encode() in cmdline
        assert live.settings().server.data_dir == tmp_path / "data"


def test_serve_http_serves_a_handler_until_the_block_ends() -> None:
    import urllib.error
    import urllib.request
    from http.server import BaseHTTPRequestHandler

    from cvatcore.hooks.testing.httpd import serve_http

    class Hello(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the standard library's naming)
            self.send_response(200)
            self.send_header("content-length", "5")
            self.end_headers()
            self.wfile.write(b"hello")

        def log_message(self, *args: object) -> None:
            pass

    with serve_http(Hello) as url:
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(url + "/", timeout=5) as response:
            assert response.read() == b"hello"
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url + "/", timeout=5)
