"""The S3 provider passes the storage contract every provider passes, on a lenient moto and
on one that checks every signature against IAM."""

from __future__ import annotations

import pytest
from cvatcore_s3.testing import unique_bucket_name

from cvatcore.hooks.testing.contracts import (
    ForbiddenStorageContract,
    MissingStorageContract,
    StorageProviderContract,
)


class TestS3Contract(StorageProviderContract, MissingStorageContract):
    @pytest.fixture
    def storage_provider(self, moto, bucket, make_storage):
        return make_storage(moto, bucket)

    @pytest.fixture
    def missing_storage_provider(self, moto, make_storage):
        return make_storage(moto, unique_bucket_name())


class TestS3ContractWithIam(
    StorageProviderContract, MissingStorageContract, ForbiddenStorageContract
):
    @pytest.fixture
    def storage_provider(self, strict_moto, make_storage):
        name = unique_bucket_name()
        strict_moto.client(strict_moto.iam["key"], strict_moto.iam["secret"]).create_bucket(
            Bucket=name)
        return make_storage(strict_moto, name)

    @pytest.fixture
    def missing_storage_provider(self, strict_moto, make_storage):
        return make_storage(strict_moto, unique_bucket_name())

    @pytest.fixture
    def forbidden_storage_provider(self, strict_moto, make_storage, storage_provider):
        return make_storage(strict_moto, storage_provider.bucket,
                            credentials_type="KEY_SECRET_KEY_PAIR",
                            key=strict_moto.iam["key"], secret_key=self.WRONG_SECRET)

    @pytest.fixture
    def storage_secrets(self, strict_moto):
        return [self.WRONG_SECRET, strict_moto.iam["secret"]]

    WRONG_SECRET = "wrong/secret+key-that-must-never-be-shown"


class TestS3ContractUnderPrefix(StorageProviderContract):
    """With ``prefix``, the storage is a folder of the bucket and sees nothing else."""

    @pytest.fixture
    def storage_provider(self, moto, bucket, make_storage):
        moto.client().put_object(Bucket=bucket, Key="elsewhere.txt", Body=b"not mine")
        moto.client().put_object(Bucket=bucket, Key="media/cvat/", Body=b"")  # folder marker
        return make_storage(moto, bucket, prefix="media/cvat")
