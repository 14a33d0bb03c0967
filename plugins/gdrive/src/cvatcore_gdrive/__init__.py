"""cvatcore-gdrive: a Google Drive folder as a cvatcore storage (Drive v3 over httpx).

Registers the storage provider ``gdrive``; its options are ``cvatcore_gdrive.GDriveConfig``.
"""

from __future__ import annotations

from typing import Any

from cvatcore.hooks import Register, hookimpl
from cvatcore_gdrive.config import GDriveConfig

__all__ = ["DriveFileSystem", "GDriveConfig", "GDriveStorage"]


def build_storage(config: GDriveConfig) -> Any:
    """The provider; its HTTP stack is imported only when a storage is built."""
    from cvatcore_gdrive.storage import GDriveStorage

    return GDriveStorage(config)


def __getattr__(name: str) -> Any:
    if name == "GDriveStorage":
        from cvatcore_gdrive.storage import GDriveStorage

        return GDriveStorage
    if name == "DriveFileSystem":
        from cvatcore_gdrive.fs import DriveFileSystem

        return DriveFileSystem
    raise AttributeError(name)


@hookimpl
def register_storage_providers(register: Register) -> None:
    register("gdrive", build_storage, config_model=GDriveConfig,
             description="Google Drive folder (service account or OAuth refresh token)")


def cloud_storage_options(spec) -> dict:
    """CVAT's cloud-storage fields as ``GDriveConfig`` options: the resource is the folder id,
    ``KEY_FILE_PATH`` takes the service-account key JSON (``key_file``)."""
    if spec.credentials_type != "KEY_FILE_PATH" or not spec.credentials.get("key_file"):
        raise ValueError("Google Drive folders need a service-account key (KEY_FILE_PATH with "
                         "key_file).")
    attrs = spec.specific_attributes
    options: dict = {"folder_id": spec.resource, "prefix": attrs.get("prefix", ""),
                     "credentials_type": "KEY_FILE_PATH",
                     "service_account_key": spec.credentials["key_file"]}
    for name in ("api_base_url", "token_uri"):
        if attrs.get(name):
            options[name] = attrs[name]
    return options


@hookimpl
def register_cloud_storage_types(register: Register) -> None:
    register("GOOGLE_DRIVE", cloud_storage_options, provider="gdrive",
             credentials_types=("KEY_FILE_PATH",))
