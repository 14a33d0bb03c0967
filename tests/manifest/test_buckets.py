"""Manifests straight from a bucket URL, through fsspec: ``s3://`` against a real moto server
(started by the S3 plugin's test kit, ``cvatcore_s3.testing``), and fsspec's ``memory://`` for
the rest of the code path (listing, concurrent reads, bytes sent to the workers, upload)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fsspec
import pytest
from click.testing import CliRunner

from cvatcore.cli.manifest import manifest as manifest_cli
from cvatcore.core.manifest import create as create_module
from cvatcore.core.manifest.create import ManifestError, create_manifest
from cvatcore.core.manifest.validate import validate_manifest


@pytest.fixture(scope="module")
def moto() -> Iterator[Any]:
    """A moto S3 server; a missing moto or S3 plugin fails the tests, never skips them."""
    try:
        from cvatcore_s3.testing import MotoError, start_moto
    except ImportError as exc:
        pytest.fail(f"the S3 tests need cvatcore-s3[test] installed: {exc}", pytrace=False)
    try:
        server = start_moto()
    except MotoError as exc:
        pytest.fail(f"cannot start moto: {exc}", pytrace=False)
    yield server
    server.stop()


@pytest.fixture
def s3_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No credentials or instance metadata from the machine running the tests."""
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                 "AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")


def test_s3_bucket_manifest_is_byte_identical(dataset, moto, s3_env, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch):
    from cvatcore_s3.testing import DUMMY_KEY, unique_bucket_name

    bucket = unique_bucket_name()
    client = moto.client()
    client.create_bucket(Bucket=bucket)
    for path in sorted(dataset.root.rglob("*")):
        if path.is_file():
            key = f"data/{path.relative_to(dataset.root).as_posix()}"
            client.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())
    options = {"key": DUMMY_KEY[0], "secret": DUMMY_KEY[1], "endpoint_url": moto.endpoint_url}

    create_manifest(f"s3://{bucket}/data", str(tmp_path / "one"), jobs=1,
                    storage_options=options)
    assert (tmp_path / "one" / "manifest.jsonl").read_bytes() == dataset.expected_manifest()
    assert (tmp_path / "one" / "index.json").read_bytes() == dataset.expected_index()

    # s3fs runs an event-loop thread, so the workers are spawned rather than forked here.
    monkeypatch.setattr(create_module, "BATCH_COUNT", {False: 3, True: 3})
    result = CliRunner().invoke(manifest_cli, [
        "create", f"s3://{bucket}/data", "--output-dir", f"s3://{bucket}/manifests",
        "--jobs", "2", "--no-progress", "-o", f"key={DUMMY_KEY[0]}",
        "-o", f"secret={DUMMY_KEY[1]}", "-o", f"endpoint_url={moto.endpoint_url}",
    ])
    assert result.exit_code == 0, result.output
    uploaded = client.get_object(Bucket=bucket, Key="manifests/manifest.jsonl")["Body"].read()
    assert uploaded == dataset.expected_manifest()
    assert validate_manifest(f"s3://{bucket}/manifests/manifest.jsonl", options).ok


def test_s3_errors_are_clear_and_keep_the_secret(moto, s3_env, tmp_path: Path):
    from cvatcore_s3.testing import unique_bucket_name

    bucket = unique_bucket_name()
    moto.client().create_bucket(Bucket=bucket)
    moto.client().put_object(Bucket=bucket, Key="data/a.jpg", Body=b"x")
    secret = "very-secret-value"
    options = {"key": "k", "secret": secret, "endpoint_url": moto.endpoint_url}
    with pytest.raises(ManifestError, match="no such object or prefix") as missing:
        create_manifest(f"s3://{bucket}/nothing", str(tmp_path), storage_options=options)
    anonymous = {"anon": True, "endpoint_url": moto.endpoint_url}
    with pytest.raises(ManifestError, match="access denied") as denied:
        create_manifest(f"s3://{bucket}/data", str(tmp_path), storage_options=anonymous)
    assert secret not in str(missing.value) + str(denied.value)


@pytest.fixture
def bucket() -> Iterator[str]:
    """A fresh ``memory://`` bucket, emptied afterwards (the memory store is process-wide)."""
    fs = fsspec.filesystem("memory")
    name = f"/bucket-{uuid.uuid4().hex[:8]}"
    fs.mkdir(name)
    yield name
    fs.rm(name, recursive=True)


def upload(local: Path, bucket: str) -> str:
    fs = fsspec.filesystem("memory")
    for path in sorted(local.rglob("*")):
        if path.is_file():
            fs.pipe_file(f"{bucket}/data/{path.relative_to(local).as_posix()}", path.read_bytes())
    return f"memory://{bucket}/data"


def test_bucket_manifest_is_identical_to_the_local_one(dataset, bucket: str, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch):
    url = upload(dataset.root, bucket)
    create_manifest(url, str(tmp_path / "one"), jobs=1, readers=3)
    assert (tmp_path / "one" / "manifest.jsonl").read_bytes() == dataset.expected_manifest()
    assert (tmp_path / "one" / "index.json").read_bytes() == dataset.expected_index()

    monkeypatch.setattr(create_module, "BATCH_COUNT", {False: 2, True: 2})
    create_manifest(url, str(tmp_path / "two"), jobs=2, readers=4)  # bytes go to the workers
    assert (tmp_path / "two" / "manifest.jsonl").read_bytes() == dataset.expected_manifest()


def test_bucket_glob_and_output_to_the_bucket(dataset, bucket: str):
    url = upload(dataset.root, bucket)
    result = create_manifest(f"{url}/sub/**/*.bmp", f"memory://{bucket}/manifests", jobs=1)

    fs = fsspec.filesystem("memory")
    assert result.path == f"memory://{bucket}/manifests/manifest.jsonl"
    lines = fs.cat_file(f"{bucket}/manifests/manifest.jsonl").decode().splitlines()
    assert lines[2].startswith(
        '{"name":"x","extension":".bmp","width":3,"height":5,'
        '"meta":{"related_images":["related_images/x_bmp/c.png"]},"checksum":"'
    )
    assert fs.cat_file(f"{bucket}/manifests/index.json") == b'{"0":36}'
    assert validate_manifest(result.path).ok


def test_bucket_video(bucket: str, tmp_path: Path, kit):
    kit.make_video(tmp_path / "clip.mp4", frames=30, gop=10)
    fsspec.filesystem("memory").pipe_file(f"{bucket}/clip.mp4",
                                          (tmp_path / "clip.mp4").read_bytes())
    create_manifest(f"memory://{bucket}/clip.mp4", str(tmp_path / "remote"))
    create_manifest(str(tmp_path / "clip.mp4"), str(tmp_path / "local"))
    assert (tmp_path / "remote" / "manifest.jsonl").read_bytes() == (
        tmp_path / "local" / "manifest.jsonl"
    ).read_bytes()


def test_missing_prefix_and_unknown_protocol(bucket: str, tmp_path: Path):
    with pytest.raises(ManifestError, match="no such object or prefix"):
        create_manifest(f"memory://{bucket}/nothing-here", str(tmp_path))
    with pytest.raises(ManifestError, match=r"nosuchproto:// is not available here"):
        create_manifest("nosuchproto://bucket/data", str(tmp_path))


def test_credentials_in_a_url_stay_out_of_messages(tmp_path: Path):
    with pytest.raises(ManifestError) as failed:
        create_manifest("nosuchproto://user:hunter2@host/data", str(tmp_path))
    assert "hunter2" not in str(failed.value)
    assert str(failed.value).startswith("nosuchproto://host/data: ")
