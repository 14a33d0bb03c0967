"""Who may do what: roles on the folder, refused or unreadable credentials, an unreachable
Drive; statuses and exceptions a user can act on, and never a secret in them."""

from __future__ import annotations

import json
import socket
import time
import uuid

import pytest

from cvatcore.hooks import StorageStatus, StorageUnavailableError
from cvatcore.hooks.testing.contracts import assert_no_secret

SA_EMAIL = "cvat-reader@standin-project.iam.gserviceaccount.com"


def test_reader_role_reads_but_cannot_write_or_delete(standin, make_storage):
    shared = standin.folder(f"r-{uuid.uuid4().hex[:6]}", {SA_EMAIL: "reader"})
    standin.seed(shared, {"img/0001.jpg": "jpeg"})
    storage = make_storage(folder_id=shared)
    assert storage.status() == StorageStatus.AVAILABLE
    assert storage.read("img/0001.jpg") == b"jpeg"
    assert [e.name for e in storage.list_page("img/", None, 5).entries] == ["img/0001.jpg"]
    for call in (lambda: storage.write("img/0002.jpg", b"x"),
                 lambda: storage.delete("img/0001.jpg")):
        with pytest.raises(PermissionError, match="insufficientFilePermissions"):
            call()


def test_folder_not_shared_with_the_account_is_not_found(standin, make_storage):
    # Drive answers 404 for items the caller cannot see, as for missing ones.
    private = standin.folder(f"p-{uuid.uuid4().hex[:6]}", {"someone@example.com": "owner"})
    storage = make_storage(folder_id=private)
    assert storage.status() == StorageStatus.NOT_FOUND
    with pytest.raises(FileNotFoundError):
        storage.read("a.txt")


def test_a_file_is_not_a_storage_folder(standin, folder, make_storage):
    ids = standin.seed(folder, {"plain.txt": "x"})
    assert make_storage(folder_id=ids["plain.txt"]).status() == StorageStatus.NOT_FOUND


def test_key_file_on_disk(tmp_path, folder, make_storage, sa_key):
    key_file = tmp_path / "key.json"
    key_file.write_text(json.dumps(sa_key))
    storage = make_storage(folder_id=folder, key_file=key_file)
    storage.write("k.txt", b"from a key file")
    assert storage.read("k.txt") == b"from a key file"


def test_missing_key_file_is_forbidden_and_named(tmp_path, folder, make_storage):
    storage = make_storage(folder_id=folder, key_file=tmp_path / "nope.json")
    assert storage.status() == StorageStatus.FORBIDDEN
    with pytest.raises(PermissionError, match="nope.json"):
        storage.read("a.txt")


def test_unknown_service_account_is_forbidden(standin, folder, make_storage):
    from cvatcore_gdrive.testing import make_service_account
    stranger, _ = make_service_account("stranger@elsewhere.iam.gserviceaccount.com",
                                       standin.token_uri)
    storage = make_storage(folder_id=folder, service_account_key=json.dumps(stranger))
    assert storage.status() == StorageStatus.FORBIDDEN
    with pytest.raises(PermissionError, match="invalid_client") as caught:
        storage.list_page("", None, 5)
    assert_no_secret(caught.value, [stranger["private_key"].splitlines()[3]])


def test_wrong_oauth_client_secret_is_forbidden(folder, make_storage, oauth_user):
    wrong = {**oauth_user, "client_secret": "GOCSPX-not-the-secret-000"}
    storage = make_storage(folder_id=folder, **wrong)
    assert storage.status() == StorageStatus.FORBIDDEN
    with pytest.raises(PermissionError) as caught:
        storage.write("a.txt", b"x")
    assert_no_secret(caught.value, ["GOCSPX-not-the-secret-000", oauth_user["refresh_token"]])


@pytest.fixture
def dead_url():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"  # bound, not listening


def test_unreachable_drive_is_unavailable_and_quick(dead_url, folder, make_storage, oauth_user):
    storage = make_storage(folder_id=folder, api_base_url=dead_url, max_retries=1,
                           **{**oauth_user, "token_uri": dead_url + "/token"})
    started = time.monotonic()
    assert storage.status() == StorageStatus.NOT_FOUND
    for call in (lambda: storage.read("a.txt"), lambda: storage.write("a.txt", b"x"),
                 lambda: storage.list_page("", None, 5)):
        with pytest.raises(StorageUnavailableError, match="cannot reach") as caught:
            call()
        assert_no_secret(caught.value, [oauth_user["client_secret"],
                                        oauth_user["refresh_token"]])
    assert time.monotonic() - started < 5


def test_drive_unreachable_after_sign_in(dead_url, folder, make_storage):
    storage = make_storage(folder_id=folder, api_base_url=dead_url, max_retries=0)
    assert storage.status() == StorageStatus.NOT_FOUND
    with pytest.raises(StorageUnavailableError, match="cannot reach Google Drive"):
        storage.stat("a.txt")


def test_upload_address_on_another_host_is_refused(make_storage, folder):
    from cvatcore_gdrive.errors import DriveRequestError
    client = make_storage(folder_id=folder).fs.client
    client.check_same_host(client.url("/upload/drive/v3/files?upload_id=1"))
    with pytest.raises(DriveRequestError, match="another host"):
        client.check_same_host("http://169.254.169.254/latest/meta-data?upload_id=1")
