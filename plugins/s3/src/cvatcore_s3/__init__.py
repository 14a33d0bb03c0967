"""cvatcore-s3: Amazon S3 and S3-compatible buckets (MinIO, Ceph, ...) as cvatcore storage.

Registers the storage provider ``s3``. Configure it under its name with the options of
``S3Config`` (bucket, prefix, region, endpoint_url, credentials_type and the key fields).
s3fs and botocore are imported only when a provider is built, so installing the plug-in
costs an application that never uses S3 nothing at start-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cvatcore.hooks import Register, hookimpl
from cvatcore_s3.config import S3Config

if TYPE_CHECKING:
    from cvatcore_s3.storage import S3Storage

__all__ = ["S3Config", "S3Storage"]


def build_storage(config: S3Config) -> S3Storage:
    """The provider factory: imports s3fs on first use."""
    from cvatcore_s3.storage import S3Storage

    return S3Storage(config)


def __getattr__(name: str) -> Any:
    if name == "S3Storage":
        from cvatcore_s3.storage import S3Storage

        return S3Storage
    raise AttributeError(name)


@hookimpl
def register_storage_providers(register: Register) -> None:
    register("s3", build_storage, config_model=S3Config,
             description="Amazon S3 and S3-compatible servers (MinIO, Ceph), over s3fs")
