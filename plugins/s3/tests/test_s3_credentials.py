"""Every way to authenticate, against moto: keys, temporary credentials, anonymous access,
and the keyless default chain (environment variables, the shared credentials file)."""

from __future__ import annotations

import pytest
from cvatcore_s3.testing import unique_bucket_name

from cvatcore.hooks import StorageStatus
from cvatcore.hooks.testing.contracts import assert_no_secret


@pytest.fixture
def public_bucket(moto):
    name = unique_bucket_name()
    client = moto.client()
    client.create_bucket(Bucket=name, ACL="public-read")
    client.put_object(Bucket=name, Key="img/1.jpg", Body=b"jpeg", ACL="public-read")
    return name


@pytest.fixture
def strict_bucket(strict_moto):
    name = unique_bucket_name()
    client = strict_moto.client(strict_moto.iam["key"], strict_moto.iam["secret"])
    client.create_bucket(Bucket=name)
    client.put_object(Bucket=name, Key="a.txt", Body=b"private data")
    return name


def test_anonymous_reads_a_public_bucket(moto, public_bucket, make_storage):
    storage = make_storage(moto, public_bucket, credentials_type="ANONYMOUS_ACCESS")
    assert storage.status() == StorageStatus.AVAILABLE
    assert storage.read("img/1.jpg") == b"jpeg"
    assert storage.read("img/1.jpg", 1, 3) == b"pe"
    assert [e.name for e in storage.list_page("img/", None, 10).entries] == ["img/1.jpg"]
    # (moto does not refuse anonymous writes to a public-read bucket, so that is not tested)


def test_anonymous_on_a_private_bucket_is_forbidden(moto, bucket, make_storage):
    moto.client().put_object(Bucket=bucket, Key="a.txt", Body=b"private")
    storage = make_storage(moto, bucket, credentials_type="ANONYMOUS_ACCESS")
    assert storage.status() == StorageStatus.FORBIDDEN
    with pytest.raises(PermissionError, match="access denied"):
        storage.read("a.txt")


def test_unknown_access_key_is_forbidden(strict_moto, strict_bucket, make_storage):
    storage = make_storage(strict_moto, strict_bucket, credentials_type="KEY_SECRET_KEY_PAIR",
                           key="AKIANOTAREALKEY00000", secret_key="not-the-secret-123")
    assert storage.status() == StorageStatus.FORBIDDEN
    with pytest.raises(PermissionError, match="access key id is not known") as caught:
        storage.read("a.txt")
    assert_no_secret(caught.value, ["not-the-secret-123"])


def test_temporary_credentials_with_session_token(strict_moto, strict_bucket, make_storage):
    sts = strict_moto.service("sts", strict_moto.iam["key"], strict_moto.iam["secret"])
    creds = sts.assume_role(RoleArn=strict_moto.iam["role_arn"],
                            RoleSessionName="cvat")["Credentials"]
    good = make_storage(strict_moto, strict_bucket, credentials_type="KEY_SECRET_KEY_PAIR",
                        key=creds["AccessKeyId"], secret_key=creds["SecretAccessKey"],
                        session_token=creds["SessionToken"])
    assert good.status() == StorageStatus.AVAILABLE
    assert good.read("a.txt") == b"private data"
    forged = "F" * 16 + creds["SessionToken"][16:]
    bad = make_storage(strict_moto, strict_bucket, credentials_type="KEY_SECRET_KEY_PAIR",
                       key=creds["AccessKeyId"], secret_key=creds["SecretAccessKey"],
                       session_token=forged)
    assert bad.status() == StorageStatus.FORBIDDEN
    with pytest.raises(PermissionError, match="session token") as caught:
        bad.read("a.txt")
    assert_no_secret(caught.value, [forged, creds["SecretAccessKey"]])


def test_default_chain_uses_environment_variables(strict_moto, strict_bucket, make_storage,
                                                  monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", strict_moto.iam["key"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", strict_moto.iam["secret"])
    storage = make_storage(strict_moto, strict_bucket, credentials_type="DEFAULT_CREDENTIALS")
    assert storage.status() == StorageStatus.AVAILABLE
    assert storage.read("a.txt") == b"private data"


def test_default_chain_uses_the_shared_credentials_file(strict_moto, strict_bucket,
                                                        make_storage, monkeypatch, tmp_path):
    path = tmp_path / "credentials"
    path.write_text(f"[default]\naws_access_key_id = {strict_moto.iam['key']}\n"
                    f"aws_secret_access_key = {strict_moto.iam['secret']}\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(path))
    storage = make_storage(strict_moto, strict_bucket, credentials_type="DEFAULT_CREDENTIALS")
    assert storage.read("a.txt") == b"private data"


def test_default_chain_with_a_wrong_secret_is_forbidden(strict_moto, strict_bucket,
                                                        make_storage, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", strict_moto.iam["key"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong-environment-secret")
    storage = make_storage(strict_moto, strict_bucket, credentials_type="DEFAULT_CREDENTIALS")
    assert storage.status() == StorageStatus.FORBIDDEN
    with pytest.raises(PermissionError, match="secret key does not match") as caught:
        storage.read("a.txt")
    assert_no_secret(caught.value, ["wrong-environment-secret"])


def test_default_chain_without_any_credentials_is_forbidden(strict_moto, strict_bucket,
                                                            make_storage):
    # conftest removed every AWS_* variable and disabled the EC2 metadata look-up.
    storage = make_storage(strict_moto, strict_bucket, credentials_type="DEFAULT_CREDENTIALS")
    assert storage.status() == StorageStatus.FORBIDDEN
    with pytest.raises(PermissionError, match="no AWS credentials were found"):
        storage.read("a.txt")


def test_bucket_in_another_region(moto, make_storage):
    name = unique_bucket_name()
    moto.client().create_bucket(
        Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
    storage = make_storage(moto, name, region="eu-central-1")
    storage.write("x.txt", b"in Frankfurt")
    assert storage.read("x.txt") == b"in Frankfurt"
    assert moto.client().get_bucket_location(Bucket=name)["LocationConstraint"] == "eu-central-1"


@pytest.mark.parametrize("style", ["path", "virtual", "auto"])
def test_custom_endpoint_with_each_addressing_style(moto, bucket, make_storage, style):
    # moto, like MinIO and Ceph, is a custom endpoint; "virtual" puts the bucket in the
    # host name (bucket.127.0.0.1:port), which moto's server also understands.
    storage = make_storage(moto, bucket, addressing_style=style)
    storage.write("e.txt", b"through " + style.encode())
    assert moto.client().get_object(Bucket=bucket, Key="e.txt")["Body"].read() == (
        b"through " + style.encode())
