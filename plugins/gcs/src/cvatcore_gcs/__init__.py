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


def cloud_storage_options(spec: Any) -> dict[str, Any]:
    """CVAT's cloud-storage fields (``/api/cloudstorages``) as ``GcsConfig`` options.

    The provider sees the whole bucket (the API applies CVAT's ``prefix`` filter). CVAT's
    ``project`` attribute is the billing project of requester-pays buckets; ``location``
    only matters when creating buckets and is ignored; ``endpoint_url`` (not CVAT's) points
    at an emulator. ``KEY_FILE_PATH``'s ``key_file`` is the key's JSON text.
    """
    creds, attrs = spec.credentials, spec.specific_attributes
    options: dict[str, Any] = {"bucket": spec.resource, "project": attrs.get("project"),
                               "requester_pays": bool(attrs.get("project")),
                               "endpoint_url": attrs.get("endpoint_url")}
    if spec.keyless:
        options["credentials_type"] = "DEFAULT_CREDENTIALS"
    elif spec.credentials_type == "KEY_FILE_PATH":
        if not creds.get("key_file"):
            raise ValueError("KEY_FILE_PATH needs a service-account key file (key_file).")
        options.update(credentials_type="KEY_FILE_PATH", key_json=creds["key_file"])
    elif spec.credentials_type == "ANONYMOUS_ACCESS":
        options["credentials_type"] = "ANONYMOUS_ACCESS"
    else:
        raise ValueError(f"Google Cloud Storage does not take {spec.credentials_type} "
                         "credentials.")
    return {k: v for k, v in options.items() if v is not None}


@hookimpl
def register_cloud_storage_types(register: Register) -> None:
    register("GOOGLE_CLOUD_STORAGE", cloud_storage_options, provider="gcs",
             credentials_types=("KEY_FILE_PATH", "ANONYMOUS_ACCESS"))
