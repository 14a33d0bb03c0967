"""Tests for cvatcore-example, written the way any plugin's tests are.

They use only the plugin itself and cvatcore's testing kit (``cvatcore.hooks.testing``, whose
fixtures pytest loads automatically once cvatcore is installed).
"""

from __future__ import annotations

import uuid
from pathlib import Path

import cvatcore_example
import pytest
import sqlalchemy as sa
from cvatcore_example.storage import MemoryStorage, MemoryStorageConfig
from fsspec.implementations.memory import MemoryFileSystem
from starlette.testclient import TestClient

from cvatcore.hooks.testing import invoke_cli, test_settings
from cvatcore.hooks.testing.contracts import StorageProviderContract

PLUGIN = (cvatcore_example, "example")


@pytest.fixture
def memory_root():
    """A fresh place in the process-wide memory filesystem, removed afterwards."""
    root = f"/test-{uuid.uuid4().hex}"
    yield root
    fs = MemoryFileSystem()
    if fs.exists(root):
        fs.rm(root, recursive=True)


class TestExampleMemoryContract(StorageProviderContract):
    @pytest.fixture
    def storage_provider(self, memory_root):
        return MemoryStorage(MemoryStorageConfig(root=memory_root))


def test_paths_cannot_leave_the_root(memory_root):
    MemoryStorage(MemoryStorageConfig(root=memory_root + "-other")).write("x.txt", b"secret")
    storage = MemoryStorage(MemoryStorageConfig(root=memory_root))
    with pytest.raises(PermissionError):
        storage.read("../" + memory_root.lstrip("/") + "-other/x.txt")


def test_objects_outlive_the_provider_instance(memory_root):
    MemoryStorage(MemoryStorageConfig(root=memory_root)).write("a.txt", b"kept")
    assert MemoryStorage(MemoryStorageConfig(root=memory_root)).read("a.txt") == b"kept"


@pytest.mark.parametrize("root", ["relative", "/", ""])
def test_root_must_be_an_absolute_folder(root):
    with pytest.raises(ValueError, match="absolute path"):
        MemoryStorageConfig(root=root)


def test_unknown_option_is_rejected():
    with pytest.raises(ValueError, match="bucket"):
        MemoryStorageConfig(bucket="x")


def test_provider_is_usable_from_the_settings(register_plugin, tmp_path, memory_root):
    settings = test_settings(
        tmp_path, storage={"default": "example-memory",
                           "options": {"example-memory": {"root": memory_root}}}
    )
    with register_plugin(cvatcore_example, "example", settings=settings) as app:
        entry = app.state.cvatcore.registries.storage["example-memory"]
        storage = entry.build(settings.storage.options["example-memory"])
    storage.write("f.bin", b"abc")
    assert storage.read("f.bin") == b"abc"
    assert MemoryFileSystem().cat_file(f"{memory_root}/f.bin") == b"abc"


def test_hello_route(register_plugin):
    with register_plugin(*PLUGIN) as app, TestClient(app) as client:
        response = client.get("/api/example/hello", params={"name": "Ann"})
    assert response.status_code == 200
    assert response.json() == {"message": "Hello, Ann!", "plugin": "cvatcore-example"}


def test_example_hello_command(tmp_path):
    config = tmp_path / "cvatcore.toml"
    config.write_text(f'[server]\ndata_dir = "{tmp_path}"\n')
    result = invoke_cli(
        ["example-hello", "--name", "Ann"], plugins=[PLUGIN],
        env={"CVATCORE_CONFIG": str(config)},
    )
    assert (result.exit_code, result.stdout) == (0, "Hello, Ann!\n")


def test_settings_section_reaches_route_and_command(register_plugin, tmp_path):
    settings = test_settings(tmp_path, plugins={"example": {"greeting": "Ahoy"}})
    with register_plugin(*PLUGIN, settings=settings) as app, TestClient(app) as client:
        response = client.get("/api/example/hello", params={"name": "Ann"})
    assert response.json()["message"] == "Ahoy, Ann!"
    config = tmp_path / "cvatcore.toml"
    config.write_text(f'[server]\ndata_dir = "{tmp_path}"\n[plugins.example]\ngreeting = "Hi"\n')
    result = invoke_cli(["example-hello", "--name", "Ann"], plugins=[PLUGIN],
                        env={"CVATCORE_CONFIG": str(config)})
    assert (result.exit_code, result.stdout) == (0, "Hi, Ann!\n")


def test_settings_section_is_validated(tmp_path):
    config = tmp_path / "cvatcore.toml"
    config.write_text(f'[server]\ndata_dir = "{tmp_path}"\n[plugins.example]\ngreting = "Hi"\n')
    result = invoke_cli(["example-hello"], plugins=[PLUGIN], env={"CVATCORE_CONFIG": str(config)})
    assert result.exit_code == 1
    assert "[plugins.example] (plugin example): greting: Extra inputs are not permitted" in (
        result.stderr)
    checked = invoke_cli(["config", "check"], plugins=[PLUGIN],
                         env={"CVATCORE_CONFIG": str(config)})
    assert checked.exit_code == 1 and "[plugins.example]" in checked.stderr


def test_migration_creates_the_greetings_table(register_plugin, tmp_path):
    with register_plugin(*PLUGIN):  # building the app runs every migration branch
        pass
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'cvatcore.db'}")
    try:
        inspector = sa.inspect(engine)
        columns = {c["name"] for c in inspector.get_columns("example_greetings")}
        with engine.connect() as conn:
            versions = set(conn.scalars(sa.text("SELECT version_num FROM alembic_version")))
    finally:
        engine.dispose()
    assert columns == {"id", "name", "created_by", "created_at"}
    assert "example_0001" in versions


def test_migrations_folder_ships_with_the_package():
    folder = Path(cvatcore_example.__file__).parent / "migrations"
    assert [p.name for p in folder.glob("*.py")] == ["example_0001_greetings.py"]
