"""``cvatcore backup create|verify|restore``: a backup restored on a fresh data directory (and
a PostgreSQL database, from SQLite) serves the same API answers; a damaged, truncated or
foreign archive, or a non-empty target, is refused and changes nothing."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from PIL import Image

from cvatcore.core.services.admin_backup import BackupError, create_backup
from cvatcore.core.services.admin_restore import restore_backup
from cvatcore.core.state import AppState
from cvatcore.hooks.testing import ApiClient, build_test_app, invoke_cli, test_settings
from cvatcore.hooks.testing.databases import postgres_database, sqlite_url

FRAMES = 12


def _png(n: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (n * 20 % 256, 90, 10)).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def source(tmp_path: Path, make_user: Any, cvatcore_app: Any) -> Iterator[Any]:
    """A server with a user, an organization, a project and a task with frames and shapes."""
    make_user("ada", groups=["user"])
    with ApiClient(cvatcore_app) as client:
        client.login("ada", "ada-pass")
        org = client.post("/api/organizations", json={"slug": "engines", "name": "Engines"})
        assert org.status_code == 201, org.text
        project = client.post("/api/projects", json={"name": "P", "labels": [{"name": "car"}]})
        task_id = client.task_with_frames([_png(n) for n in range(FRAMES)], [], "T",
                                          image_quality=70, project_id=project.json()["id"],
                                          segment_size=5)
        label = client.get(f"/api/labels?task_id={task_id}").json()["results"][0]["id"]
        shapes = [{"type": "rectangle", "frame": n, "label_id": label,
                   "points": [1, 2, 3 + n, 4], "attributes": []} for n in range(FRAMES)]
        put = client.put(f"/api/tasks/{task_id}/annotations",
                         json={"version": 0, "tags": [], "shapes": shapes, "tracks": []})
        assert put.status_code == 200, put.text
    yield cvatcore_app


def _answers(app: Any) -> dict[str, Any]:
    """What a user sees of the server's content."""
    with ApiClient(app) as client:
        client.login("ada", "ada-pass")
        task = client.get("/api/tasks").json()["results"][0]
        tid = task["id"]
        frames = [client.get(f"/api/tasks/{tid}/data?type=frame&number={n}&quality=original")
                  for n in range(FRAMES)]
        annotations = client.get(f"/api/tasks/{tid}/annotations").json()
        return {
            "orgs": [(o["id"], o["slug"]) for o in client.get("/api/organizations").json()[
                "results"]],
            "projects": [(p["id"], p["name"]) for p in client.get("/api/projects").json()[
                "results"]],
            "task": {k: task[k] for k in ("id", "name", "size", "project_id", "status")},
            "jobs": sorted(j["id"] for j in client.get(f"/api/jobs?task_id={tid}").json()[
                "results"]),
            "meta": client.get(f"/api/tasks/{tid}/data/meta").json()["frames"],
            "frames": [(f.status_code, f.content) for f in frames],
            "shapes": sorted((s["frame"], tuple(s["points"])) for s in annotations["shapes"]),
        }


def _fresh_state(data_dir: Path, url: str | None) -> AppState:
    from cvatcore.core.plugins import make_plugin_manager
    from cvatcore.hooks.testing.env import no_plugin_autoload

    settings = test_settings(data_dir, url)
    with no_plugin_autoload():
        pm = make_plugin_manager()
    return AppState.build(settings, pm)


@pytest.mark.parametrize("target", [
    "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_backup_restores_on_a_fresh_server(source, tmp_path, target):
    before = _answers(source)
    archive = tmp_path / "backup.tar.gz"
    manifest = create_backup(source.state.cvatcore, archive)
    assert manifest["database"]["rows"]["frames"] == FRAMES
    assert any(name.startswith("data/media/") for name in manifest["files"])

    fresh = tmp_path / "restored"
    with (postgres_database(migrated=False) if target == "postgresql"
          else _nothing(sqlite_url(fresh))) as url:
        state = _fresh_state(fresh, url)
        restore_backup(state, archive)
        state.db.dispose()
        app = build_test_app(test_settings(fresh, url))
        try:
            assert _answers(app) == before
            with ApiClient(app) as client:  # new rows get new ids after the restored ones
                client.login("ada", "ada-pass")
                again = client.post("/api/projects", json={"name": "after"})
            assert again.status_code == 201, again.text
            assert again.json()["id"] > before["projects"][0][0]
        finally:
            app.state.cvatcore.db.dispose()


class _nothing:
    def __init__(self, value: str) -> None:
        self.value = value

    def __enter__(self) -> str:
        return self.value

    def __exit__(self, *exc: object) -> None:
        return None


def _tampered(archive: Path, out: Path, member_prefix: str) -> Path:
    """A copy of an uncompressed archive with one byte of a member changed."""
    data = bytearray(archive.read_bytes())
    with tarfile.open(archive) as tar:
        member = next(m for m in tar.getmembers() if m.name.startswith(member_prefix))
    data[member.offset_data + member.size // 2] ^= 0xFF
    out.write_bytes(bytes(data))
    return out


def _table_rows(url: str) -> int:
    engine = sa.create_engine(url)
    try:
        meta = sa.MetaData()
        meta.reflect(engine)
        with engine.connect() as conn:
            return sum(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar()
                       for t in meta.sorted_tables if t.name != "alembic_version")
    finally:
        engine.dispose()


@pytest.mark.parametrize("damage", ["database/", "data/media/", "truncated", "foreign"])
def test_a_damaged_archive_is_refused_and_creates_nothing(source, tmp_path, damage):
    archive = tmp_path / "backup.tar"
    create_backup(source.state.cvatcore, archive)
    bad = tmp_path / "bad.tar"
    if damage == "truncated":
        bad.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
        expected = "truncated|cannot be read|damaged"
    elif damage == "foreign":
        with tarfile.open(bad, "w") as tar:
            tar.add(Path(__file__), arcname="hello.py")
        expected = "is not a cvatcore backup"
    else:
        _tampered(archive, bad, damage)
        expected = "does not match its checksum"

    fresh = tmp_path / "restored"
    state = _fresh_state(fresh, sqlite_url(fresh))
    with pytest.raises(BackupError, match=expected):
        restore_backup(state, bad)
    state.db.dispose()
    assert _table_rows(sqlite_url(fresh)) == 0
    assert not (fresh / "media").exists() or not any((fresh / "media").iterdir())


def test_cli_refuses_a_database_that_holds_data(source, tmp_path):
    settings = source.state.cvatcore.settings
    config = tmp_path / "cvatcore.toml"
    url = settings.database.url
    database = f'[database]\nurl = "{url.get_secret_value()}"\n' if url else ""
    config.write_text(f'[server]\ndata_dir = "{settings.server.data_dir}"\n{database}')
    env = {"CVATCORE_CONFIG": str(config)}
    archive = tmp_path / "b.tar"
    made = invoke_cli(["backup", "create", str(archive)], env=env)
    assert made.exit_code == 0, made.stderr
    assert f"{archive}: " in made.stdout and "rows" in made.stdout
    verified = invoke_cli(["backup", "verify", str(archive)], env=env)
    assert verified.exit_code == 0 and "intact" in verified.stdout, verified.stderr

    refused = invoke_cli(["backup", "restore", str(archive)], env=env)
    assert refused.exit_code == 1
    assert "the database already holds data" in refused.stderr
