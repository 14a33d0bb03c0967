"""DNS rebinding against a user's container: a connection string whose ``BlobEndpoint`` host
answers a public address first and ``127.0.0.1`` (Azurite) next. With ``outbound_allow`` set,
as the core sets it for cloud storages users create, neither the sync listing client nor
adlfs reaches Azurite (issue 16, item 6)."""

from __future__ import annotations

import pytest
from cvatcore_azure import AzureConfig, AzureStorage
from cvatcore_azure.testing import ACCOUNT, ACCOUNT_KEY

from cvatcore.hooks import StorageStatus, StorageUnavailableError
from cvatcore.hooks.outbound import checked_addresses
from cvatcore.hooks.testing import dns


def container_behind_rebinding_dns(azurite, container, allow):
    # Production-style URL (account as the first label): Azurite reads the account from it.
    host = f"{ACCOUNT}.{dns.DOMAIN}"
    assert checked_addresses(host, azurite.port, []) == [dns.PUBLIC]  # what the core saw
    conn = (f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
            f"BlobEndpoint=http://{host}:{azurite.port};")
    return AzureStorage(AzureConfig(container=container, credentials_type="CONNECTION_STRING",
                                    connection_string=conn, max_retries=0,
                                    outbound_allow=allow))


@pytest.fixture
def filled(azurite, container):
    with azurite.service().get_container_client(container) as seeder:
        seeder.upload_blob("a.txt", b"internal data")
    return container


def test_both_clients_refuse_the_second_answer(azurite, filled, monkeypatch):
    asked = dns.rebinding_dns(monkeypatch)
    storage = container_behind_rebinding_dns(azurite, filled, allow=[])
    try:
        with pytest.raises(StorageUnavailableError) as read:
            storage.read("a.txt")  # adlfs, over aiohttp
        with pytest.raises(StorageUnavailableError) as listed:
            storage.list_page("", None, 10)  # the SDK's sync client, over requests
        for caught in (read, listed):
            assert "outbound guard" in str(caught.value)
            assert "127.0.0.1, an internal address" in str(caught.value)
        assert storage.status() == StorageStatus.NOT_FOUND
    finally:
        storage.close()
    assert len(asked) >= 3


def test_the_same_answers_reach_azurite_without_the_guard(azurite, filled, monkeypatch):
    dns.rebinding_dns(monkeypatch)
    storage = container_behind_rebinding_dns(azurite, filled, allow=None)
    try:
        assert storage.read("a.txt") == b"internal data"
        assert [e.name for e in storage.list_page("", None, 10).entries] == ["a.txt"]
    finally:
        storage.close()


def test_allowed_targets_pass_through_the_guarded_clients(azurite, filled, monkeypatch):
    dns.rebinding_dns(monkeypatch)
    storage = container_behind_rebinding_dns(azurite, filled, allow=["127.0.0.1"])
    try:
        assert storage.read("a.txt") == b"internal data"
        assert [e.name for e in storage.list_page("", None, 10).entries] == ["a.txt"]
    finally:
        storage.close()


@pytest.fixture
def ann(tmp_path, cvatcore_database_url):
    import cvatcore_azure

    from cvatcore.hooks.testing.harness import build_test_app, signed_in, test_settings

    # No internal targets allowed: Azurite's loopback is off limits, as for a real user.
    app = build_test_app(test_settings(tmp_path, cvatcore_database_url, outbound={"allow": []}),
                         plugins=[(cvatcore_azure, "azure")])
    with signed_in(app) as client:
        yield client


def test_a_connection_string_cannot_point_a_cloud_storage_inside(ann, azurite, filled):
    """A connection string's ``BlobEndpoint`` is a URL too: the guarded clients refuse
    Azurite's loopback address, so the storage is not created (it would be without them)."""
    created = ann.post("/api/cloudstorages", json={
        "provider_type": "AZURE_CONTAINER", "resource": filled, "display_name": "inside",
        "credentials_type": "CONNECTION_STRING", "connection_string": azurite.connection_string})
    assert created.status_code == 400, created.text
    assert ACCOUNT_KEY not in created.text
    assert ann.get("/api/cloudstorages").json()["count"] == 0
