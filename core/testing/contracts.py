"""Contract tests every provider of a kind must pass, built-in or third-party.

Subclass the class for your provider's kind in your plugin's tests and define the fixtures
its docstring names; pytest collects the inherited tests (the classes' names start with
``Test`` only in your subclass, so they are not collected here)::

    from cvatcore.core.testing.contracts import StorageProviderContract

    class TestS3Contract(StorageProviderContract):
        @pytest.fixture
        def storage_provider(self, moto_server):
            return S3Storage(S3Config(bucket="test", endpoint_url=moto_server))
"""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest

from cvatcore.core.testing.receiver import http_receiver
from cvatcore.hooks import Identity, OutboundRequest, StorageStatus


class StorageProviderContract:
    """Fixture: ``storage_provider``, a provider over an empty, writable location."""

    def test_write_then_read(self, storage_provider: Any) -> None:
        storage_provider.write("dir/a.bin", b"0123456789")
        assert storage_provider.read("dir/a.bin") == b"0123456789"

    def test_read_range(self, storage_provider: Any) -> None:
        storage_provider.write("r.bin", b"0123456789")
        assert storage_provider.read("r.bin", 2, 5) == b"234"

    def test_stat_reports_size_and_type(self, storage_provider: Any) -> None:
        storage_provider.write("s/x.txt", b"hello")
        info = storage_provider.stat("s/x.txt")
        assert (info.size, info.type) == (5, "REG")

    def test_missing_object_is_file_not_found(self, storage_provider: Any) -> None:
        with pytest.raises(FileNotFoundError):
            storage_provider.stat("no/such/object")
        with pytest.raises(FileNotFoundError):
            storage_provider.read("no/such/object")

    def test_list_pages_with_cursor_cover_everything_once(self, storage_provider: Any) -> None:
        names = {f"p/{i:02d}.txt" for i in range(7)}
        for name in names:
            storage_provider.write(name, b"x")
        storage_provider.write("p/sub/inner.txt", b"x")
        seen, cursor, pages = [], None, 0
        while True:
            page = storage_provider.list_page("p/", cursor, 3)
            assert len(page.entries) <= 3
            seen.extend(page.entries)
            pages += 1
            cursor = page.next
            if cursor is None:
                break
        files = sorted(e.name.rsplit("/", 1)[-1] for e in seen if e.type == "REG")
        dirs = [e.name.rstrip("/").rsplit("/", 1)[-1] for e in seen if e.type == "DIR"]
        assert files == sorted(n.rsplit("/", 1)[-1] for n in names)
        assert dirs == ["sub"] and pages >= 3

    def test_delete(self, storage_provider: Any) -> None:
        storage_provider.write("d.txt", b"x")
        storage_provider.delete("d.txt")
        with pytest.raises(FileNotFoundError):
            storage_provider.stat("d.txt")

    def test_status_available(self, storage_provider: Any) -> None:
        assert storage_provider.status() == StorageStatus.AVAILABLE


class AuthBackendContract:
    """Fixtures: ``auth_backend``; ``valid_credentials`` (username, password) that it accepts;
    ``account_store``, the ``AccountStore`` to pass it."""

    def test_valid_credentials_give_identity(
        self, auth_backend: Any, valid_credentials: tuple[str, str], account_store: Any
    ) -> None:
        identity = auth_backend.authenticate(*valid_credentials, account_store)
        assert isinstance(identity, Identity)
        assert identity.username == valid_credentials[0]
        assert identity.backend

    def test_wrong_password_gives_none(
        self, auth_backend: Any, valid_credentials: tuple[str, str], account_store: Any
    ) -> None:
        username, password = valid_credentials
        assert auth_backend.authenticate(username, password + "x", account_store) is None

    def test_empty_password_gives_none(
        self, auth_backend: Any, valid_credentials: tuple[str, str], account_store: Any
    ) -> None:
        # LDAP servers treat a bind with a DN and no password as an anonymous success.
        assert auth_backend.authenticate(valid_credentials[0], "", account_store) is None

    def test_unknown_user_gives_none(self, auth_backend: Any, account_store: Any) -> None:
        assert auth_backend.authenticate("nobody-here", "whatever1", account_store) is None

    @pytest.mark.parametrize("username", ["*", ")(uid=*", "a\x00b", "admin' --"])
    def test_hostile_usernames_give_none(
        self, auth_backend: Any, account_store: Any, username: str
    ) -> None:
        assert auth_backend.authenticate(username, "whatever1", account_store) is None


class EventSinkContract:
    """Fixtures: ``event_sink``; ``read_events``, a callable returning what the sink stored
    (a list of dicts with at least ``scope`` and ``obj_id``)."""

    def test_written_events_can_be_read_back(self, event_sink: Any, read_events: Any) -> None:
        batch = [
            {"scope": "create:task", "obj_id": i, "source": "server",
             "timestamp": "2026-01-01T00:00:00Z", "payload": json.dumps({"n": i})}
            for i in range(3)
        ]
        event_sink.write(batch)
        stored = read_events()
        assert sorted((e["scope"], int(e["obj_id"])) for e in stored) == [
            ("create:task", 0), ("create:task", 1), ("create:task", 2)
        ]

    def test_empty_batch_is_fine(self, event_sink: Any, read_events: Any) -> None:
        event_sink.write([])
        assert read_events() == []


class WebhookTransportContract:
    """Fixture: ``webhook_transport``."""

    def test_delivers_body_and_headers(self, webhook_transport: Any) -> None:
        with http_receiver() as receiver:
            result = webhook_transport.send(
                OutboundRequest(receiver.url + "/hook", b'{"event":"ping"}',
                                {"Content-Type": "application/json", "X-Signature-256": "sha256=1"})
            )
        assert result.status_code == 200 and result.body == '{"ok": true}'
        (got,) = receiver.requests
        assert got.body == b'{"event":"ping"}' and got.headers["X-Signature-256"] == "sha256=1"

    def test_receiver_error_status_is_reported(self, webhook_transport: Any) -> None:
        with http_receiver() as receiver:
            receiver.status = 500
            result = webhook_transport.send(OutboundRequest(receiver.url, b"{}", {}))
        assert result.status_code == 500

    def test_unreachable_target_is_502(self, webhook_transport: Any) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]  # bound but not listening: connection refused
            result = webhook_transport.send(
                OutboundRequest(f"http://127.0.0.1:{port}/", b"{}", {}, timeout=2)
            )
        assert result.status_code == 502


class InferenceBackendContract:
    """Fixtures: ``inference_backend``; ``function_id`` of a detector it serves; ``image_b64``."""

    def test_lists_functions_in_cvat_shape(self, inference_backend: Any) -> None:
        functions = inference_backend.list_functions()
        assert functions and all({"id", "kind", "labels_v2"} <= set(f) for f in functions)

    def test_invoke_detector(
        self, inference_backend: Any, function_id: str, image_b64: str
    ) -> None:
        result = inference_backend.invoke(function_id, {"image": image_b64})
        assert isinstance(result, list)
