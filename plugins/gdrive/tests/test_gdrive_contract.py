"""The shared storage-provider contract against the Drive stand-in, for both ways of signing
in: a service account (JWT-bearer grant) and an OAuth refresh token."""

from __future__ import annotations

import json
import uuid

import pytest
from cvatcore_gdrive.testing import make_service_account

from cvatcore.hooks.testing.contracts import (
    ForbiddenStorageContract,
    MissingStorageContract,
    StorageProviderContract,
)

SA_EMAIL = "cvat-reader@standin-project.iam.gserviceaccount.com"


class TestDriveServiceAccountContract(
    StorageProviderContract, MissingStorageContract, ForbiddenStorageContract
):
    @pytest.fixture
    def storage_provider(self, folder, make_storage):
        return make_storage(folder_id=folder)

    @pytest.fixture
    def missing_storage_provider(self, make_storage):
        return make_storage(folder_id="1NoSuchFolderAnywhere0")

    @pytest.fixture
    def wrong_key(self, standin):
        # The right account's e-mail with a key Google never issued for it.
        return make_service_account(SA_EMAIL, standin.token_uri)[0]

    @pytest.fixture
    def forbidden_storage_provider(self, folder, make_storage, wrong_key):
        return make_storage(folder_id=folder, service_account_key=json.dumps(wrong_key))

    @pytest.fixture
    def storage_secrets(self, wrong_key):
        return [wrong_key["private_key"].splitlines()[5]]


class TestDriveOAuthPrefixContract(
    StorageProviderContract, MissingStorageContract, ForbiddenStorageContract
):
    """A person's Drive through OAuth, rooted at a sub-folder path of the shared folder."""

    @pytest.fixture
    def storage_provider(self, folder, make_storage, oauth_user):
        return make_storage(folder_id=folder, prefix=f"under/{uuid.uuid4().hex[:6]}",
                            **oauth_user)

    @pytest.fixture
    def missing_storage_provider(self, make_storage, oauth_user):
        return make_storage(folder_id="1NoSuchFolderAnywhere0", prefix="a/b", **oauth_user)

    @pytest.fixture
    def forbidden_storage_provider(self, folder, make_storage, oauth_user):
        revoked = {**oauth_user, "refresh_token": "1//revoked-refresh-token-000"}
        return make_storage(folder_id=folder, **revoked)

    @pytest.fixture
    def storage_secrets(self, oauth_user):
        return [oauth_user["client_secret"], "1//revoked-refresh-token-000"]
