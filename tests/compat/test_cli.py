"""cvat-cli 2.80 against a real ``cvatcore serve``.

Every cvat-cli command that signs in with ``--auth user:pass`` works on tasks, projects or
functions, which cvatcore does not serve yet; ``profile create`` is the one command that only
needs the auth endpoints: it signs in with a personal access token and reads
``GET /api/auth/access_tokens/self`` to name the profile.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from cvat_sdk import make_client, models

CVAT_CLI = Path(sys.executable).parent / "cvat-cli"


def cvat_cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the ``cvat-cli`` console script with its profile store under ``home``."""
    env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / "config")}
    env.pop("CVAT_ACCESS_TOKEN", None)
    env.pop("PASS", None)
    return subprocess.run([str(CVAT_CLI), *args], env=env, capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL)


def test_profile_create_reads_the_token_name_from_the_server(live_server, tmp_path):
    with make_client(live_server.host, port=live_server.port,
                     credentials=live_server.credentials) as admin:
        token, _ = admin.api_client.auth_api.create_access_tokens(
            models.AccessTokenWriteRequest(name="cli-profile"))
    result = cvat_cli(tmp_path, "--server-host", live_server.host,
                      "--server-port", str(live_server.port),
                      "profile", "create", token.value, "--set-default")
    assert result.returncode == 0, result.stderr
    assert f"Saved profile 'cli-profile' for {live_server.url} (set as default)." in result.stdout
    listed = cvat_cli(tmp_path, "profile", "list", "--names-only")
    assert listed.returncode == 0 and listed.stdout.split() == ["cli-profile"]
    store = json.loads(next((tmp_path / "config").rglob("auth.json")).read_text())
    assert token.value in json.dumps(store)


def test_profile_create_refuses_an_unknown_token(live_server, tmp_path):
    result = cvat_cli(tmp_path, "--server-host", live_server.host,
                      "--server-port", str(live_server.port),
                      "profile", "create", "not-a-real-token")
    assert result.returncode != 0
    assert "401" in result.stderr or "Unauthorized" in result.stderr
