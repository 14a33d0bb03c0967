"""cvatcore-folderstore: the storage provider ``folderstore``, a folder on this machine."""

from __future__ import annotations

from cvatcore.hooks import Register, hookimpl
from cvatcore_folderstore.storage import FolderConfig, FolderStorage

__all__ = ["FolderConfig", "FolderStorage"]


@hookimpl
def register_storage_providers(register: Register) -> None:
    register("folderstore", FolderStorage, config_model=FolderConfig,
             description="A folder on this machine (os and pathlib, no fsspec)")
