"""The storage contract every cvatcore storage provider passes, run against this plugin."""

from __future__ import annotations

from pathlib import Path

import cvatcore_folderstore
import pytest
from cvatcore_folderstore import FolderConfig, FolderStorage

from cvatcore.hooks.testing import invoke_cli
from cvatcore.hooks.testing.contracts import (
    LocalDirectoryContract,
    MissingStorageContract,
    StorageProviderContract,
)


class TestFolderStoreContract(StorageProviderContract, LocalDirectoryContract,
                              MissingStorageContract):
    @pytest.fixture
    def storage_provider(self, tmp_path):
        (tmp_path / "store").mkdir()
        return FolderStorage(FolderConfig(root=tmp_path / "store"))

    @pytest.fixture
    def storage_local_root(self, storage_provider):
        return Path(storage_provider.root)  # not an FsspecStorage: say where objects live

    @pytest.fixture
    def missing_storage_provider(self, tmp_path):
        return FolderStorage(FolderConfig(root=tmp_path / "absent"))


def test_registered_as_folderstore(tmp_path):
    config = tmp_path / "cvatcore.toml"
    config.write_text(f'[server]\ndata_dir = "{tmp_path}"\n'
                      f'[storage.options.folderstore]\nroot = "{tmp_path}"\n')
    result = invoke_cli(["plugins"], plugins=[(cvatcore_folderstore, "folderstore")],
                        env={"CVATCORE_CONFIG": str(config)})
    assert result.exit_code == 0, result.output
    assert "providers: storage: folderstore" in result.stdout
