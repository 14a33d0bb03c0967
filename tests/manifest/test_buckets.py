"""Manifests straight from a bucket URL, through fsspec.

The S3 case against a moto server waits for ``cvatcore_s3.testing`` (the S3 plugin's test kit);
until then fsspec's ``memory://`` filesystem stands in for a bucket: same code path (listing,
concurrent reads, bytes sent to the workers, upload of the result), no network.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import fsspec
import pytest

from cvatcore.core.manifest import create as create_module
from cvatcore.core.manifest.create import ManifestError, create_manifest
from cvatcore.core.manifest.validate import validate_manifest


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
