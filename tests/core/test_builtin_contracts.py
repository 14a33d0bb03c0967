"""The built-in providers pass the same contract tests external plugins run."""

from __future__ import annotations

import json
import logging

import pytest

from cvatcore.core.builtin.auth_local import LocalAccounts
from cvatcore.core.builtin.events_log import LogSink
from cvatcore.core.builtin.storage_local import LocalStorage, LocalStorageConfig
from cvatcore.core.builtin.webhooks_http import HttpTransport
from cvatcore.core.services.accounts import LocalAccountStore, create_user
from cvatcore.core.testing.contracts import (
    AuthBackendContract,
    EventSinkContract,
    StorageProviderContract,
    WebhookTransportContract,
)
from cvatcore.hooks import EmptyConfig


class TestLocalStorage(StorageProviderContract):
    @pytest.fixture
    def storage_provider(self, tmp_path):
        return LocalStorage(LocalStorageConfig(root=tmp_path))

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

    def test_missing_root_is_not_found(self, tmp_path):
        storage = LocalStorage(LocalStorageConfig(root=tmp_path / "absent"))
        assert storage.status() == "NOT_FOUND"


class TestLocalAccounts(AuthBackendContract):
    @pytest.fixture
    def account_store(self, cvatcore_app):
        with cvatcore_app.state.cvatcore.db.unit_of_work() as session:
            create_user(session, "carol", "carol-password")
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


class TestHttpTransport(WebhookTransportContract):
    @pytest.fixture
    def webhook_transport(self):
        return HttpTransport(EmptyConfig())
