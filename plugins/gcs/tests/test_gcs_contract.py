"""The GCS provider passes the storage contract every provider passes, on fake-gcs-server."""

from __future__ import annotations

import json

import pytest
from cvatcore_gcs.testing import make_service_account_key, unique_bucket_name

from cvatcore.hooks.testing.contracts import (
    ForbiddenStorageContract,
    MissingStorageContract,
    StorageProviderContract,
)


class TestGcsContract(StorageProviderContract, MissingStorageContract, ForbiddenStorageContract):
    @pytest.fixture
    def storage_provider(self, bucket, make_storage):
        return make_storage(bucket)

    @pytest.fixture
    def missing_storage_provider(self, make_storage):
        return make_storage(unique_bucket_name())

    @pytest.fixture
    def untrusted_key(self, tokens):
        return make_service_account_key(tokens.url, email="intruder@test-project.iam")

    @pytest.fixture
    def forbidden_storage_provider(self, bucket, make_storage, untrusted_key):
        # A key the token endpoint does not know: Google answers invalid_grant.
        return make_storage(bucket, credentials_type="KEY_FILE_PATH",
                            key_json=json.dumps(untrusted_key))

    @pytest.fixture
    def storage_secrets(self, untrusted_key):
        body = untrusted_key["private_key"].splitlines()[1:-1]
        return [json.dumps(untrusted_key), *body]


class TestGcsContractUnderPrefix(StorageProviderContract):
    @pytest.fixture
    def storage_provider(self, fake_gcs, bucket, make_storage):
        fake_gcs.put(bucket, "elsewhere.txt", b"not mine")
        fake_gcs.put(bucket, "media/cvat/", b"")  # a folder marker
        return make_storage(bucket, prefix="media/cvat")
