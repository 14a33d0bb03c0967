"""The built-in providers pass the same contract tests external plugins run."""

from __future__ import annotations

import json
import logging
import uuid

import pytest
from fsspec.implementations.local import LocalFileSystem
from fsspec.implementations.memory import MemoryFileSystem

from cvatcore.core.builtin.auth_local import LocalAccounts
from cvatcore.core.builtin.events_log import LogSink
from cvatcore.core.builtin.events_sql import SqlSink, SqlSinkConfig
from cvatcore.core.builtin.storage_local import LocalStorage, LocalStorageConfig
from cvatcore.core.builtin.webhooks_http import HttpTransport
from cvatcore.core.services.accounts import LocalAccountStore, create_user
from cvatcore.core.services.caller import Caller
from cvatcore.hooks import EmptyConfig, FsspecStorage
from cvatcore.hooks.testing.contracts import (
    AuthBackendContract,
    EventSinkContract,
    LocalDirectoryContract,
    MissingStorageContract,
    StorageProviderContract,
    StoresEachEventOnceContract,
    WebhookTransportContract,
)


class TestLocalStorage(StorageProviderContract, LocalDirectoryContract, MissingStorageContract):
    @pytest.fixture
    def storage_provider(self, tmp_path):
        return LocalStorage(LocalStorageConfig(root=tmp_path))

    @pytest.fixture
    def missing_storage_provider(self, tmp_path):
        return LocalStorage(LocalStorageConfig(root=tmp_path / "absent"))

    @pytest.mark.parametrize("path", ["../outside.txt", "a/../../outside.txt", "/../../etc/passwd"])
    def test_paths_cannot_leave_the_root(self, tmp_path, path):
        root = tmp_path / "root"
        root.mkdir()
        (tmp_path / "outside.txt").write_text("secret")
        storage = LocalStorage(LocalStorageConfig(root=root))
        with pytest.raises(PermissionError):
            storage.read(path)

    def test_symlink_out_of_the_root_is_refused(self, tmp_path):
        root = tmp_path / "root"
        root.mkdir()
        (tmp_path / "outside.txt").write_text("secret")
        (root / "link.txt").symlink_to(tmp_path / "outside.txt")
        with pytest.raises(PermissionError):
            LocalStorage(LocalStorageConfig(root=root)).read("link.txt")

    def test_symlinked_folder_out_of_the_root_is_refused_and_not_listed(self, tmp_path):
        root, outside = tmp_path / "root", tmp_path / "outside"
        root.mkdir()
        outside.mkdir()
        (outside / "secret.txt").write_text("secret")
        (root / "inside.txt").write_text("ok")
        (root / "escape").symlink_to(outside, target_is_directory=True)
        (root / "alias.txt").symlink_to(root / "inside.txt")  # stays inside: allowed
        storage = LocalStorage(LocalStorageConfig(root=root))
        for call in (lambda: storage.read("escape/secret.txt"),
                     lambda: storage.write("escape/new.txt", b"x"),
                     lambda: storage.list_page("escape/", None, 10)):
            with pytest.raises(PermissionError):
                call()
        assert not (outside / "new.txt").exists()
        names = [e.name for e in storage.list_page("", None, 10).entries]
        assert names == ["alias.txt", "inside.txt"]
        assert storage.read("alias.txt") == b"ok"

    def test_root_given_through_a_symlink_works(self, tmp_path):
        (tmp_path / "real").mkdir()
        (tmp_path / "link").symlink_to(tmp_path / "real", target_is_directory=True)
        storage = LocalStorage(LocalStorageConfig(root=tmp_path / "link"))
        storage.write("a/b.txt", b"x")
        assert (tmp_path / "real" / "a" / "b.txt").read_bytes() == b"x"

    def test_large_folder_pages_are_bounded(self, tmp_path):
        for i in range(2500):
            (tmp_path / f"{i:05d}.jpg").write_bytes(b"")
        storage = LocalStorage(LocalStorageConfig(root=tmp_path))
        first = storage.list_page("", None, 100)
        assert [e.name for e in first.entries] == [f"{i:05d}.jpg" for i in range(100)]
        second = storage.list_page("", first.next, 100)
        assert second.entries[0].name == "00100.jpg"
        with pytest.raises(ValueError):
            storage.list_page("", None, 0)


class TestFsspecStorageOverMemory(StorageProviderContract, MissingStorageContract):
    """The base class alone, with its generic listing, over fsspec's in-memory filesystem:
    what a plug-in gets before it overrides anything."""

    @pytest.fixture
    def storage_provider(self):
        root = f"/contract-{uuid.uuid4().hex}"
        fs = MemoryFileSystem()
        fs.mkdir(root)
        yield FsspecStorage(fs, root, label="memory")
        fs.rm(root, recursive=True)

    @pytest.fixture
    def missing_storage_provider(self):
        return FsspecStorage(MemoryFileSystem(), f"/absent-{uuid.uuid4().hex}")


class TestFsspecStorageOverLocalDirectory(StorageProviderContract, LocalDirectoryContract):
    """The base class alone over a local directory: it refuses symlinks out of the root by
    itself, so a plug-in author who points it at a directory gets the rule for free."""

    @pytest.fixture
    def storage_provider(self, tmp_path):
        return FsspecStorage(LocalFileSystem(auto_mkdir=True), str(tmp_path), label="dir")


class TestLocalAccounts(AuthBackendContract):
    @pytest.fixture
    def account_store(self, cvatcore_app):
        with cvatcore_app.state.cvatcore.db.unit_of_work() as session:
            caller = Caller.system(cvatcore_app.state.cvatcore, session)
            create_user(caller, "carol", "carol-password")
            yield LocalAccountStore(session)

    @pytest.fixture
    def auth_backend(self):
        return LocalAccounts(EmptyConfig())

    @pytest.fixture
    def valid_credentials(self):
        return ("carol", "carol-password")


class TestLogSink(EventSinkContract):
    @pytest.fixture
    def event_sink(self, caplog):
        caplog.set_level(logging.INFO, logger="cvatcore.events")
        return LogSink(EmptyConfig())

    @pytest.fixture
    def read_events(self, caplog):
        return lambda: [
            json.loads(r.getMessage()) for r in caplog.records if r.name == "cvatcore.events"
        ]


class TestSqlSink(StoresEachEventOnceContract):
    @pytest.fixture
    def event_sink(self, tmp_path):
        from sqlalchemy import create_engine

        from cvatcore.core.models import StoredEvent

        engine = create_engine(f"sqlite:///{tmp_path / 'events.db'}")
        StoredEvent.__table__.create(engine)
        sink = SqlSink(SqlSinkConfig())
        sink.use_main_database(engine)
        yield sink
        engine.dispose()

    @pytest.fixture
    def read_events(self, event_sink):
        from datetime import UTC, datetime

        from cvatcore.hooks import EventQuery

        everything = EventQuery(datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
        return lambda: list(event_sink.read(everything))


class TestHttpTransport(WebhookTransportContract):
    @pytest.fixture
    def webhook_transport(self):
        return HttpTransport(EmptyConfig())
