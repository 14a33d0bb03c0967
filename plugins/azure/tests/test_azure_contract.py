"""The shared storage-provider contract, against Azurite, for each way of signing in."""

from __future__ import annotations

import uuid

import pytest
from cvatcore_azure.testing import ACCOUNT, ACCOUNT_KEY

from cvatcore.hooks.testing.contracts import (
    ForbiddenStorageContract,
    MissingStorageContract,
    StorageProviderContract,
)

WRONG_SAS = "sv=2023-01-03&se=2099-01-01T00%3A00%3A00Z&sr=c&sp=rl&sig=Wr0ngS1gnatureWr0ngS1gn%3D"


class TestAzureSasContract(
    StorageProviderContract, MissingStorageContract, ForbiddenStorageContract
):
    """Account name + SAS token (CVAT's ACCOUNT_NAME_TOKEN_PAIR)."""

    @pytest.fixture
    def storage_provider(self, sas_options, make_storage):
        return make_storage(**sas_options)

    @pytest.fixture
    def missing_storage_provider(self, azurite, make_storage):
        return make_storage(container="no-such-container", credentials_type="CONNECTION_STRING",
                            connection_string=azurite.connection_string)

    @pytest.fixture
    def forbidden_storage_provider(self, container, make_storage):
        return make_storage(container=container, account_name=ACCOUNT, sas_token=WRONG_SAS)

    @pytest.fixture
    def storage_secrets(self):
        return [WRONG_SAS, "Wr0ngS1gnatureWr0ngS1gn", ACCOUNT_KEY]


class TestAzureConnectionStringPrefixContract(
    StorageProviderContract, MissingStorageContract, ForbiddenStorageContract
):
    """A connection string (CVAT's CONNECTION_STRING), rooted at a prefix in the container."""

    @pytest.fixture
    def storage_provider(self, azurite, container, make_storage):
        return make_storage(container=container, prefix=f"under/{uuid.uuid4().hex[:8]}/",
                            credentials_type="CONNECTION_STRING",
                            connection_string=azurite.connection_string)

    @pytest.fixture
    def missing_storage_provider(self, azurite, make_storage):
        return make_storage(container="no-such-container", prefix="a/",
                            credentials_type="CONNECTION_STRING",
                            connection_string=azurite.connection_string)

    @pytest.fixture
    def forbidden_storage_provider(self, azurite, container, make_storage):
        wrong = azurite.connection_string.replace(ACCOUNT_KEY, "V3JvbmdLZXk=" * 8)
        return make_storage(container=container, credentials_type="CONNECTION_STRING",
                            connection_string=wrong)

    @pytest.fixture
    def storage_secrets(self):
        return [ACCOUNT_KEY, "V3JvbmdLZXk=" * 8]
