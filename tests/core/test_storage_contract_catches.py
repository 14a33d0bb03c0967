"""The storage contract catches providers that break its rules: the classes are run here
against deliberately bad providers, and must fail them (a good provider passes the same)."""

from __future__ import annotations

import io
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, BinaryIO

import pytest
from fsspec.implementations.local import LocalFileSystem

from cvatcore.core.builtin.storage_local import LocalStorage, LocalStorageConfig
from cvatcore.hooks import FsspecStorage
from cvatcore.hooks.testing.contracts import LocalDirectoryContract, StorageProviderContract

CONTRACT = StorageProviderContract()


class SymlinkFollowingStorage(FsspecStorage):
    """Checks ``..`` and absolute paths (the base class does) but joins paths to the root
    without resolving symlinks, as a naive local provider would."""

    def __init__(self, root: Path) -> None:
        super().__init__(LocalFileSystem(auto_mkdir=True), str(root), label="naive")

    def full_path(self, key: str) -> str:
        return os.path.join(self.root, key) if key else self.root

    def is_local(self) -> bool:
        return False  # skips the base class's own symlink checks


class BufferingStorage(FsspecStorage):
    """Passes every functional test, but holds whole objects in memory to stream them."""

    def __init__(self, root: Path) -> None:
        super().__init__(LocalFileSystem(auto_mkdir=True), str(root), label="buffering")

    def open_read(self, path: str) -> BinaryIO:
        return io.BytesIO(self.read(path))

    def write_stream(self, path: str, source: BinaryIO | Iterable[bytes]) -> int:
        data = source.read() if hasattr(source, "read") else b"".join(source)  # type: ignore
        self.write(path, data)
        return len(data)


def run_symlink_check(provider: Any, root: Path, factory: pytest.TempPathFactory) -> None:
    LocalDirectoryContract().test_symlinks_out_of_the_root_are_refused(provider, root, factory)


def test_symlink_check_fails_a_provider_that_follows_links(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    provider = SymlinkFollowingStorage(tmp_path)
    with pytest.raises(pytest.fail.Exception, match="followed a symlink out of the storage root"):
        run_symlink_check(provider, tmp_path, tmp_path_factory)
    # ...and it really did: the naive provider reads the file the link points to.
    assert provider.read("filelink.txt") == b"outside"


def test_symlink_check_passes_the_builtin_local_storage(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    run_symlink_check(LocalStorage(LocalStorageConfig(root=tmp_path)), tmp_path,
                      tmp_path_factory)


def test_default_local_root_is_found_for_a_local_fsspec_provider(tmp_path: Path) -> None:
    """The symlink check runs for such providers without the author defining a fixture."""
    fixture = StorageProviderContract.storage_local_root.__wrapped__  # type: ignore[attr-defined]
    provider = FsspecStorage(LocalFileSystem(), str(tmp_path))
    assert fixture(CONTRACT, provider) == tmp_path


def test_streaming_check_fails_a_provider_that_buffers_whole_objects(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match="MiB of memory"):
        CONTRACT.test_large_object_streams_in_bounded_memory(BufferingStorage(tmp_path))


def test_streaming_check_passes_the_builtin_local_storage(tmp_path: Path) -> None:
    CONTRACT.test_large_object_streams_in_bounded_memory(
        LocalStorage(LocalStorageConfig(root=tmp_path)))


def test_a_local_provider_without_the_symlink_contract_fails(tmp_path: Path) -> None:
    """A provider whose objects live in a local folder cannot pass the storage contract while
    leaving the symlink checks out."""
    with pytest.raises(AssertionError, match="add LocalDirectoryContract"):
        CONTRACT.test_a_provider_over_a_local_directory_takes_the_symlink_contract(tmp_path)
