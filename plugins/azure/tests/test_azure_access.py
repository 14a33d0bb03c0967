"""Each way of signing in against Azurite, and what a user sees when access is refused or the
service is down: a clear FORBIDDEN/NOT_FOUND status or exception, never the secret."""

from __future__ import annotations

import socket
import time
import uuid

import pytest
from cvatcore_azure.testing import ACCOUNT, ACCOUNT_KEY

from cvatcore.hooks import StorageStatus, StorageUnavailableError
from cvatcore.hooks.testing.contracts import assert_no_secret


def test_read_only_sas_reads_and_lists_but_cannot_write(azurite, container, make_storage):
    with azurite.service().get_container_client(container) as seeder:
        seeder.upload_blob("img/a.jpg", b"jpeg bytes")
    sas = azurite.container_sas(container, write=False)
    storage = make_storage(container=container, account_name=ACCOUNT, sas_token=sas)
    assert storage.status() == StorageStatus.AVAILABLE
    assert storage.read("img/a.jpg", 0, 4) == b"jpeg"
    assert [e.name for e in storage.list_page("img/", None, 10).entries] == ["img/a.jpg"]
    for call in (lambda: storage.write("img/b.jpg", b"x"), lambda: storage.delete("img/a.jpg")):
        with pytest.raises(PermissionError) as caught:
            call()
        assert "access denied" in str(caught.value)
        assert_no_secret(caught.value, [sas, sas.split("sig=")[1]])
    assert storage.read("img/a.jpg") == b"jpeg bytes"


def test_sas_given_with_a_leading_question_mark(azurite, container, make_storage):
    storage = make_storage(container=container, account_name=ACCOUNT,
                           sas_token="?" + azurite.container_sas(container))
    storage.write("q.txt", b"ok")
    assert storage.read("q.txt") == b"ok"


def test_expired_sas_is_forbidden(azurite, container, make_storage):
    sas = azurite.container_sas(container, hours=-1)
    storage = make_storage(container=container, account_name=ACCOUNT, sas_token=sas)
    assert storage.status() == StorageStatus.FORBIDDEN
    with pytest.raises(PermissionError) as caught:
        storage.stat("a.txt")
    assert_no_secret(caught.value, [sas, sas.split("sig=")[1]])


def test_sas_of_another_container_is_forbidden(azurite, container, make_storage):
    other = f"o-{uuid.uuid4().hex[:12]}"
    azurite.create_container(other)
    storage = make_storage(container=container, account_name=ACCOUNT,
                           sas_token=azurite.container_sas(other))
    assert storage.status() == StorageStatus.FORBIDDEN


def test_anonymous_access_to_a_public_container(azurite, make_storage):
    name = f"pub-{uuid.uuid4().hex[:12]}"
    azurite.create_container(name, public=True)
    with azurite.service().get_container_client(name) as seeder:
        seeder.upload_blob("frames/0001.png", b"png")
        seeder.upload_blob("frames/0002.png", b"png2")
    storage = make_storage(container=name, credentials_type="ANONYMOUS_ACCESS",
                           account_name=ACCOUNT)
    assert storage.status() == StorageStatus.AVAILABLE
    page = storage.list_page("frames/", None, 1)
    assert [e.name for e in page.entries] == ["frames/0001.png"] and page.next
    assert storage.read("frames/0002.png") == b"png2"
    assert storage.stat("frames/0002.png").size == 4
    with pytest.raises(PermissionError):
        storage.write("frames/0003.png", b"x")


def test_anonymous_access_to_a_private_container_is_refused(container, make_storage):
    storage = make_storage(container=container, credentials_type="ANONYMOUS_ACCESS",
                           account_name=ACCOUNT)
    assert storage.status() != StorageStatus.AVAILABLE
    with pytest.raises((PermissionError, FileNotFoundError)):
        storage.list_page("", None, 10)


def test_connection_string_with_account_key(azurite, container, make_storage):
    storage = make_storage(container=container, credentials_type="CONNECTION_STRING",
                           connection_string=azurite.connection_string)
    storage.write("k.txt", b"key")
    assert storage.status() == StorageStatus.AVAILABLE
    with azurite.service().get_container_client(container) as check:
        assert check.download_blob("k.txt").readall() == b"key"


@pytest.mark.parametrize("kind", ["sas", "connection_string"])
def test_missing_container_is_not_found(azurite, make_storage, kind):
    name = f"gone-{uuid.uuid4().hex[:12]}"
    if kind == "sas":
        storage = make_storage(container=name, account_name=ACCOUNT,
                               sas_token=azurite.container_sas(name))
    else:
        storage = make_storage(container=name, credentials_type="CONNECTION_STRING",
                               connection_string=azurite.connection_string)
    assert storage.status() == StorageStatus.NOT_FOUND
    with pytest.raises(FileNotFoundError) as caught:
        storage.read("a.txt")
    assert "not found" in str(caught.value)


@pytest.fixture
def dead_url():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: connection refused
        yield f"http://127.0.0.1:{port}/{ACCOUNT}"


def test_unreachable_service_is_unavailable_and_quick(azurite, dead_url, make_storage):
    conn = azurite.connection_string.replace(azurite.account_url, dead_url)
    storage = make_storage(container="anything", credentials_type="CONNECTION_STRING",
                           connection_string=conn, account_url=None, max_retries=0)
    started = time.monotonic()
    assert storage.status() == StorageStatus.NOT_FOUND
    for call in (lambda: storage.read("a.txt"), lambda: storage.list_page("", None, 5),
                 lambda: storage.write("a.txt", b"x")):
        with pytest.raises(StorageUnavailableError) as caught:
            call()
        assert "cannot reach" in str(caught.value)
        assert_no_secret(caught.value, [ACCOUNT_KEY])
    assert time.monotonic() - started < 5


def test_foreign_cursor_is_a_value_error(sas_options, make_storage):
    storage = make_storage(**sas_options)
    for name in ("a/1", "a/2", "b/1", "b/2"):
        storage.write(name, b"x")
    from_a = storage.list_page("a/", None, 1).next
    assert from_a and storage.list_page("a/", from_a, 1).entries[0].name == "a/2"
    for cursor in ("not-a-marker-azure-gave", from_a):
        with pytest.raises(ValueError):
            storage.list_page("b/", cursor, 1)
