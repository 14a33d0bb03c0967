"""The ``example-memory`` storage provider: fsspec's in-memory filesystem behind cvatcore's
``StorageProvider`` interface.

It is a ``cvatcore.hooks.FsspecStorage``: the base class does path checks (no ``..``, no
absolute paths), error mapping, paging and status. Swap ``MemoryFileSystem`` for
``s3fs.S3FileSystem`` (or any other fsspec filesystem) and the options in
``MemoryStorageConfig`` for that service's, override ``list_native`` with the service's own
paged listing, and you have a real provider (plugins/s3 does exactly that).
"""

from __future__ import annotations

from fsspec.implementations.memory import MemoryFileSystem
from pydantic import field_validator

from cvatcore.hooks import FsspecStorage, ProviderConfig


class MemoryStorageConfig(ProviderConfig):
    """Options under ``[storage.options.example-memory]``; unknown keys stop start-up."""

    #: Where in the process-wide memory filesystem this provider keeps its objects.
    root: str = "/cvatcore-example"

    @field_validator("root")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith("/") or value.rstrip("/") == "":
            raise ValueError("must be an absolute path below /, such as /my-bucket")
        return value.rstrip("/")


class MemoryStorage(FsspecStorage):
    """Objects live under ``config.root`` of the process-wide memory filesystem."""

    def __init__(self, config: MemoryStorageConfig) -> None:
        fs = MemoryFileSystem()
        fs.makedirs(config.root, exist_ok=True)  # the "bucket" exists once configured
        super().__init__(fs, config.root, label=f"memory://{config.root}")
