"""cvatcore-gdrive: a Google Drive folder as a cvatcore storage (Drive v3 over httpx).

Registers the storage provider ``gdrive``; its options are ``cvatcore_gdrive.GDriveConfig``.
"""

from __future__ import annotations

from cvatcore.hooks import Register, hookimpl
from cvatcore_gdrive.config import GDriveConfig
from cvatcore_gdrive.fs import DriveFileSystem
from cvatcore_gdrive.storage import GDriveStorage

__all__ = ["DriveFileSystem", "GDriveConfig", "GDriveStorage"]


@hookimpl
def register_storage_providers(register: Register) -> None:
    register("gdrive", GDriveStorage, config_model=GDriveConfig,
             description="Google Drive folder (service account or OAuth refresh token)")
