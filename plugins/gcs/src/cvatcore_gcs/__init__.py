"""cvatcore-gcs: Google Cloud Storage buckets as cvatcore storage.

Registers the storage provider ``gcs``. Configure it under its name with the options of
``GcsConfig`` (bucket, prefix, project, endpoint_url, credentials_type and the key).
gcsfs and Google's libraries are imported only when a provider is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cvatcore.hooks import Register, hookimpl
from cvatcore_gcs.config import GcsConfig

if TYPE_CHECKING:
    from cvatcore_gcs.storage import GcsStorage

__all__ = ["GcsConfig", "GcsStorage"]


def build_storage(config: GcsConfig) -> GcsStorage:
    """The provider factory: imports gcsfs on first use."""
    from cvatcore_gcs.storage import GcsStorage

    return GcsStorage(config)


def __getattr__(name: str) -> Any:
    if name == "GcsStorage":
        from cvatcore_gcs.storage import GcsStorage

        return GcsStorage
    raise AttributeError(name)


@hookimpl
def register_storage_providers(register: Register) -> None:
    register("gcs", build_storage, config_model=GcsConfig,
             description="Google Cloud Storage, over gcsfs")
