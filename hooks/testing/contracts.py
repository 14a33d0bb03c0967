"""Contract tests every provider of a kind must pass, built-in or third-party.

Subclass the class for your provider's kind in your plugin's tests and define the fixtures
its docstring names; pytest collects the inherited tests (the classes' names start with
``Test`` only in your subclass, so they are not collected here)::

    from cvatcore.hooks.testing.contracts import StorageProviderContract

    class TestS3Contract(StorageProviderContract):
        @pytest.fixture
        def storage_provider(self, moto_server):
            return S3Storage(S3Config(bucket="test", endpoint_url=moto_server))
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import os
import socket
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cvatcore.hooks import (
    FsspecStorage,
    Identity,
    OutboundRequest,
    StoragePathError,
    StorageStatus,
)
from cvatcore.hooks.testing.inference_contracts import (  # noqa: F401 (public here too)
    InferenceBackendContract,
    UnreachableInferenceContract,
)
from cvatcore.hooks.testing.receiver import http_receiver


class StorageProviderContract:
    """What every storage provider must do (``cvatcore.hooks.StorageProvider``).

    Fixtures (define them in your subclass; only the first is required):

    ``storage_provider``
        A provider over an empty, writable location (a fresh bucket or directory).
    ``storage_local_root``
        The directory on this machine that holds the provider's objects, ``None`` for a
        provider that keeps none (a bucket). The default finds it for a
        ``cvatcore.hooks.FsspecStorage`` over a local filesystem; define it for any other
        provider that stores objects in a local directory, and add
        ``LocalDirectoryContract`` (links out of the root) to such a provider's test class.
    (``MissingStorageContract`` and ``ForbiddenStorageContract`` add the status cases for
    providers that can show them: a missing bucket, refused credentials.)
    ``storage_secrets``
        Strings that must never appear in an exception message (the wrong secret the
        forbidden provider holds, for example). Default: none.

    Rules held here: paths are relative and "/"-separated, ``..``/``.``/empty segments, a
    leading "/" and NUL raise ``cvatcore.hooks.StoragePathError`` (a ``PermissionError``);
    so does a path that a symlink leads out of the root, for every method, and listings
    leave such links out; ``list_page`` names entries by their full relative path, folders
    as ``DIR`` without a trailing "/", and its pages, followed by ``next``, list every entry
    exactly once; ``write_stream`` and ``open_read`` move ``stream_size`` bytes (64 MiB)
    while Python's traced memory grows by less than ``stream_memory_limit`` (32 MiB) over
    what the provider keeps afterwards (an in-memory provider keeps the object itself).
    """

    #: Size of the object the streaming test writes and reads back, and the most the test
    #: process's traced memory may grow while it does (over what stays allocated after):
    #: room for a few upload parts and their copies in the HTTP client (an S3 part is at
    #: least 5 MiB), while holding the whole object takes twice as much.
    stream_size = 64 * 2**20
    stream_memory_limit = 32 * 2**20

    @pytest.fixture
    def storage_secrets(self) -> list[str]:
        return []

    @pytest.fixture
    def storage_local_root(self, storage_provider: Any) -> Path | None:
        if isinstance(storage_provider, FsspecStorage) and storage_provider.is_local():
            return Path(storage_provider.root)
        return None

    def test_write_then_read(self, storage_provider: Any) -> None:
        storage_provider.write("dir/a.bin", b"0123456789")
        assert storage_provider.read("dir/a.bin") == b"0123456789"

    def test_write_replaces(self, storage_provider: Any) -> None:
        storage_provider.write("w.txt", b"first version")
        storage_provider.write("w.txt", b"second")
        assert storage_provider.read("w.txt") == b"second"
        assert storage_provider.stat("w.txt").size == 6

    def test_read_range(self, storage_provider: Any) -> None:
        storage_provider.write("r.bin", b"0123456789")
        assert storage_provider.read("r.bin", 2, 5) == b"234"
        assert storage_provider.read("r.bin", 7) == b"789"
        assert storage_provider.read("r.bin", 0, 1) == b"0"
        assert storage_provider.read("r.bin", 8, 100) == b"89"  # cut at the end

    def test_unusual_names_round_trip(self, storage_provider: Any) -> None:
        name = "u/ünï cödé +&=%#.txt"
        storage_provider.write(name, b"odd")
        assert storage_provider.read(name) == b"odd"
        page = storage_provider.list_page("u/", None, 10)
        assert [e.name for e in page.entries] == [name]

    def test_stat_reports_size_and_type(self, storage_provider: Any) -> None:
        storage_provider.write("s/x.txt", b"hello")
        info = storage_provider.stat("s/x.txt")
        assert (info.name, info.size, info.type) == ("s/x.txt", 5, "REG")
        assert storage_provider.stat("s").type == "DIR"

    def test_missing_object_is_file_not_found(self, storage_provider: Any) -> None:
        with pytest.raises(FileNotFoundError):
            storage_provider.stat("no/such/object")
        with pytest.raises(FileNotFoundError):
            storage_provider.read("no/such/object")
        with pytest.raises(FileNotFoundError):
            storage_provider.read("no/such/object", 0, 4)
        with pytest.raises(FileNotFoundError):
            storage_provider.delete("no/such/object")

    def test_list_pages_with_cursor_cover_everything_once(self, storage_provider: Any) -> None:
        names = {f"p/{i:02d}.txt" for i in range(7)}
        for name in names:
            storage_provider.write(name, b"x")
        storage_provider.write("p/sub/inner.txt", b"x")
        storage_provider.write("p/sub2/inner.txt", b"x")
        seen, cursor, pages = [], None, 0
        while True:
            page = storage_provider.list_page("p/", cursor, 3)
            assert len(page.entries) <= 3
            seen.extend(page.entries)
            pages += 1
            cursor = page.next
            if cursor is None:
                break
            assert pages < 20, "the cursor does not advance"
        assert sorted(e.name for e in seen if e.type == "REG") == sorted(names)
        assert sorted(e.name for e in seen if e.type == "DIR") == ["p/sub", "p/sub2"]
        assert len(seen) == 9 and pages >= 3
        assert all(e.size == 1 for e in seen if e.type == "REG")

    def test_list_root_and_name_prefix(self, storage_provider: Any) -> None:
        for name in ("img/a1.jpg", "img/a2.jpg", "img/b1.jpg", "img/al/x.jpg", "top.txt"):
            storage_provider.write(name, b"x")
        root = storage_provider.list_page("", None, 100)
        assert {(e.name, e.type) for e in root.entries} == {("img", "DIR"), ("top.txt", "REG")}
        assert root.next is None
        stem = storage_provider.list_page("img/a", None, 100)
        assert {(e.name, e.type) for e in stem.entries} == {
            ("img/a1.jpg", "REG"), ("img/a2.jpg", "REG"), ("img/al", "DIR")}

    def test_list_missing_prefix_is_empty(self, storage_provider: Any) -> None:
        page = storage_provider.list_page("nothing/here/", None, 10)
        assert (page.entries, page.next) == ([], None)

    def test_delete(self, storage_provider: Any) -> None:
        storage_provider.write("d.txt", b"x")
        storage_provider.write("keep.txt", b"y")
        storage_provider.delete("d.txt")
        with pytest.raises(FileNotFoundError):
            storage_provider.stat("d.txt")
        assert storage_provider.read("keep.txt") == b"y"

    def test_status_available(self, storage_provider: Any) -> None:
        assert storage_provider.status() == StorageStatus.AVAILABLE

    @pytest.mark.parametrize(
        "path", ["../outside.txt", "a/../../outside.txt", "/etc/passwd", "a/./b", "a//b",
                 "a\x00b", "..", "."],
    )
    def test_paths_that_leave_the_root_are_refused(self, storage_provider: Any, path: str
                                                   ) -> None:
        for call in (lambda: storage_provider.read(path), lambda: storage_provider.stat(path),
                     lambda: storage_provider.write(path, b"x"),
                     lambda: storage_provider.delete(path),
                     lambda: storage_provider.list_page(path + "/", None, 10)):
            with pytest.raises(StoragePathError):
                call()


    def test_stream_write_and_read_back(self, storage_provider: Any) -> None:
        storage_provider.write_stream("st/small.bin", iter([b"abc", b"", b"defg"]))
        assert storage_provider.read("st/small.bin") == b"abcdefg"
        with storage_provider.open_read("st/small.bin") as handle:
            assert handle.read(3) == b"abc"
            handle.seek(5)
            assert handle.read() == b"fg"
        with open(os.devnull, "rb") as empty:
            assert storage_provider.write_stream("st/empty.bin", empty) == 0
        assert storage_provider.stat("st/empty.bin").size == 0
        with pytest.raises(FileNotFoundError):
            storage_provider.open_read("st/missing.bin")

    def test_failed_stream_leaves_the_old_object(self, storage_provider: Any) -> None:
        """A source that fails half-way raises its own error; nothing half-written replaces
        the object (a local file may be removed, but is never left truncated)."""
        storage_provider.write("st/keep.bin", b"old contents")

        def broken() -> Iterator[bytes]:
            yield b"new" * 1000
            raise RuntimeError("the source broke")

        with pytest.raises(RuntimeError, match="the source broke"):
            storage_provider.write_stream("st/keep.bin", broken())
        with contextlib.suppress(FileNotFoundError):
            assert storage_provider.read("st/keep.bin") == b"old contents"

    def test_large_object_streams_in_bounded_memory(self, storage_provider: Any) -> None:
        size, piece = self.stream_size, 2**20
        block = bytes(range(256)) * (piece // 256)
        expected = hashlib.sha256()

        def pieces() -> Iterator[bytes]:
            for i in range(size // piece):
                data = i.to_bytes(8, "big") + block[8:]  # a fresh 1 MiB object each time
                expected.update(data)
                yield data

        gc.collect()
        tracemalloc.start()
        try:
            assert storage_provider.write_stream("big/object.bin", pieces()) == size
            gc.collect()
            kept, write_peak = tracemalloc.get_traced_memory()
            tracemalloc.reset_peak()
            got = hashlib.sha256()
            with storage_provider.open_read("big/object.bin") as handle:
                while data := handle.read(piece):
                    got.update(data)
                    del data
            gc.collect()
            kept_after_read, read_peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert got.hexdigest() == expected.hexdigest()
        assert storage_provider.stat("big/object.bin").size == size
        mib = 2**20
        assert write_peak - kept < self.stream_memory_limit, (
            f"writing {size // mib} MiB took {(write_peak - kept) / mib:.0f} MiB of memory")
        assert read_peak - max(kept, kept_after_read) < self.stream_memory_limit, (
            f"reading {size // mib} MiB took {(read_peak - kept) / mib:.0f} MiB of memory")

    def test_a_provider_over_a_local_directory_takes_the_symlink_contract(
        self, storage_local_root: Path | None
    ) -> None:
        """A provider whose objects live in a local directory must also pass
        ``LocalDirectoryContract`` (links out of the root); add it beside this class."""
        if storage_local_root is not None:
            assert isinstance(self, LocalDirectoryContract), (
                f"objects live in {storage_local_root}: add LocalDirectoryContract to "
                f"{type(self).__name__}'s bases")


class LocalDirectoryContract:
    """For providers that keep objects in a directory on this machine (a local folder, a
    mounted share): no symlink leads a path out of the root, for any method, and listings
    leave such links out. Fixture ``storage_local_root`` (the directory; found by itself
    for a ``cvatcore.hooks.FsspecStorage`` over a local filesystem). Add it beside
    ``StorageProviderContract``; that class fails a local provider that does not."""

    def test_symlinks_out_of_the_root_are_refused(
        self, storage_provider: Any, storage_local_root: Path | None,
        tmp_path_factory: pytest.TempPathFactory,
    ) -> None:
        assert storage_local_root is not None, "define the storage_local_root fixture"
        outside = tmp_path_factory.mktemp("outside-the-root")
        (outside / "secret.txt").write_bytes(b"outside")
        storage_provider.write("in/own.txt", b"inside")
        root = Path(storage_local_root)
        os.symlink(outside, root / "in" / "dirlink")
        os.symlink(outside / "secret.txt", root / "filelink.txt")
        os.symlink(outside / "new.txt", root / "dangling.txt")  # a write would create it
        p = storage_provider
        calls = {
            "read": lambda path: p.read(path),
            "read a range": lambda path: p.read(path, 0, 3),
            "stat": lambda path: p.stat(path),
            "open_read": lambda path: p.open_read(path).close(),
            "write": lambda path: p.write(path, b"x"),
            "write_stream": lambda path: p.write_stream(path, iter([b"x"])),
            "delete": lambda path: p.delete(path),
            "list_page": lambda path: p.list_page(path + "/", None, 10),
        }
        for path in ("filelink.txt", "in/dirlink/secret.txt", "dangling.txt", "in/dirlink"):
            for name, call in calls.items():
                try:
                    call(path)
                except StoragePathError:
                    continue
                except Exception as exc:
                    pytest.fail(f"{name}({path!r}) raised {type(exc).__name__}: {exc}, "
                                "not StoragePathError")
                pytest.fail(f"{name}({path!r}) followed a symlink out of the storage root")
        assert storage_provider.write_stream("in/dirlink2.txt", iter([b"fine"])) == 4
        assert (outside / "secret.txt").read_bytes() == b"outside"
        assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]
        listed = {e.name for e in storage_provider.list_page("", None, 100).entries}
        assert "filelink.txt" not in listed and "in" in listed
        inner = {e.name for e in storage_provider.list_page("in/", None, 100).entries}
        assert inner == {"in/own.txt", "in/dirlink2.txt"}


class MissingStorageContract:
    """For providers that can point at a bucket (or root) that does not exist. Fixture:
    ``missing_storage_provider``; ``status()`` must be ``NOT_FOUND`` and ``stat`` must raise
    ``FileNotFoundError``. Add it beside ``StorageProviderContract``."""

    def test_missing_bucket_is_not_found(self, missing_storage_provider: Any) -> None:
        assert missing_storage_provider.status() == StorageStatus.NOT_FOUND
        with pytest.raises(FileNotFoundError):
            missing_storage_provider.stat("a.txt")


class ForbiddenStorageContract:
    """For providers with credentials a server can refuse. Fixtures:
    ``forbidden_storage_provider`` (a wrong secret key, a bad token) and ``storage_secrets``
    (strings no message may show): ``status()`` must be ``FORBIDDEN`` and
    ``read``/``write``/``list_page`` must raise ``PermissionError`` without the secret."""

    @pytest.fixture
    def storage_secrets(self) -> list[str]:
        return []

    def test_refused_credentials_are_forbidden(
        self, forbidden_storage_provider: Any, storage_secrets: list[str]
    ) -> None:
        assert forbidden_storage_provider.status() == StorageStatus.FORBIDDEN
        for call in (lambda: forbidden_storage_provider.read("a.txt"),
                     lambda: forbidden_storage_provider.write("a.txt", b"x"),
                     lambda: forbidden_storage_provider.list_page("", None, 10)):
            with pytest.raises(PermissionError) as caught:
                call()
            assert_no_secret(caught.value, storage_secrets)


def assert_no_secret(exc: BaseException, secrets: list[str]) -> None:
    """Fail when any secret shows in the exception, its arguments or its chained causes."""
    seen: BaseException | None = exc
    while seen is not None:
        text = f"{seen!s} {seen!r}"
        leaked = [s for s in secrets if s and s in text]
        assert not leaked, f"a secret leaked into {type(seen).__name__}: {text[:200]}"
        seen = seen.__cause__ or seen.__context__


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


class StoresEachEventOnceContract(EventSinkContract):
    """For sinks that store by event id (``EventSink``'s promise for durable sinks): a batch
    handed again, whole or in part, adds nothing. Same fixtures as ``EventSinkContract``."""

    def test_a_batch_written_twice_is_stored_once(
        self, event_sink: Any, read_events: Any
    ) -> None:
        batch = [
            {"id": f"once-{i}", "scope": "update:job", "obj_id": i, "source": "server",
             "timestamp": f"2026-01-01T00:00:0{i}.500Z", "payload": None}
            for i in range(4)
        ]
        event_sink.write(batch[:2])
        event_sink.write(batch)
        event_sink.write(batch[1:3])
        stored = read_events()
        assert sorted(int(e["obj_id"]) for e in stored) == [0, 1, 2, 3]


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

    def test_connects_to_the_checked_address(self, webhook_transport: Any) -> None:
        """The URL's host does not resolve; the request still reaches the address the core
        checked (``connect_to``), with the host name kept in ``Host``."""
        with http_receiver() as receiver:
            port = receiver.url.rsplit(":", 1)[1]
            result = webhook_transport.send(OutboundRequest(
                f"http://hooks.invalid:{port}/x", b"{}", {}, connect_to="127.0.0.1"))
        assert result.status_code == 200
        assert receiver.requests[0].headers["Host"] == f"hooks.invalid:{port}"

    def test_redirects_are_not_followed(self, webhook_transport: Any) -> None:
        with http_receiver() as receiver:
            receiver.status = 302
            receiver.headers = {"Location": "http://169.254.169.254/latest/"}
            result = webhook_transport.send(OutboundRequest(receiver.url, b"{}", {}))
        assert result.status_code == 302 and len(receiver.requests) == 1

    def test_unreachable_target_is_502(self, webhook_transport: Any) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]  # bound but not listening: connection refused
            result = webhook_transport.send(
                OutboundRequest(f"http://127.0.0.1:{port}/", b"{}", {}, timeout=2)
            )
        assert result.status_code == 502
