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


def cloud_storage_options(spec: Any) -> dict[str, Any]:
    """CVAT's cloud-storage fields (``/api/cloudstorages``) as ``S3Config`` options.

    The provider sees the whole bucket: CVAT's ``prefix`` attribute is a listing filter that
    the API applies itself. ``region`` and ``endpoint_url`` come from the attributes; a
    keyless storage uses the default credential chain.
    """
    creds, attrs = spec.credentials, spec.specific_attributes
    options: dict[str, Any] = {"bucket": spec.resource, "region": attrs.get("region"),
                               "endpoint_url": attrs.get("endpoint_url")}
    if spec.keyless:
        options["credentials_type"] = "DEFAULT_CREDENTIALS"
    elif spec.credentials_type == "KEY_SECRET_KEY_PAIR":
        if not (creds.get("key") and creds.get("secret_key")):
            raise ValueError("Insufficient data for authentication: "
                             "both key and secret_key are needed.")
        options.update(credentials_type="KEY_SECRET_KEY_PAIR", key=creds["key"],
                       secret_key=creds["secret_key"],
                       session_token=creds.get("session_token") or None)
    elif spec.credentials_type == "ANONYMOUS_ACCESS":
        options["credentials_type"] = "ANONYMOUS_ACCESS"
    else:
        raise ValueError(f"S3 buckets do not take {spec.credentials_type} credentials.")
    return {k: v for k, v in options.items() if v is not None}


@hookimpl
def register_cloud_storage_types(register: Register) -> None:
    register("AWS_S3_BUCKET", cloud_storage_options, provider="s3",
             credentials_types=("KEY_SECRET_KEY_PAIR", "ANONYMOUS_ACCESS"))
