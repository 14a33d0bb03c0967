"""cvatcore-azure: Azure Blob Storage containers as cvatcore storages (over adlfs).

Registers the storage provider ``azure``; its options are ``cvatcore_azure.AzureConfig``.
"""

from __future__ import annotations

from typing import Any

from cvatcore.hooks import Register, hookimpl
from cvatcore_azure.config import AzureConfig

__all__ = ["AzureConfig", "AzureStorage"]


def build_storage(config: AzureConfig) -> Any:
    """The provider; the Azure SDK is imported only when a storage is built, so that loading
    the plugin (every ``cvatcore`` command) stays quick."""
    from cvatcore_azure.storage import AzureStorage

    return AzureStorage(config)


def __getattr__(name: str) -> Any:
    if name == "AzureStorage":
        from cvatcore_azure.storage import AzureStorage

        return AzureStorage
    raise AttributeError(name)


@hookimpl
def register_storage_providers(register: Register) -> None:
    register("azure", build_storage, config_model=AzureConfig,
             description="Azure Blob Storage container (SAS token, connection string,"
                         " anonymous, or keyless DefaultAzureCredential)")


def cloud_storage_options(spec) -> dict:
    """CVAT's cloud-storage fields as ``AzureConfig`` options (``/api/cloudstorages``)."""
    creds, attrs = spec.credentials, spec.specific_attributes
    options: dict = {"container": spec.resource, "prefix": attrs.get("prefix", "")}
    if attrs.get("account_url"):
        options["account_url"] = attrs["account_url"]
    if spec.keyless:
        options.update(credentials_type="DEFAULT_AZURE_CREDENTIAL",
                       account_name=creds.get("account_name"))
    elif spec.credentials_type == "CONNECTION_STRING":
        options.update(credentials_type="CONNECTION_STRING",
                       connection_string=creds.get("connection_string"))
    elif spec.credentials_type == "ACCOUNT_NAME_TOKEN_PAIR":
        options.update(credentials_type="ACCOUNT_NAME_TOKEN_PAIR",
                       account_name=creds.get("account_name"), sas_token=creds.get("session_token"))
    elif spec.credentials_type == "ANONYMOUS_ACCESS":
        options.update(credentials_type="ANONYMOUS_ACCESS", account_name=creds.get("account_name"))
    else:
        raise ValueError(f"Azure containers do not take {spec.credentials_type} credentials.")
    return {k: v for k, v in options.items() if v is not None}


@hookimpl
def register_cloud_storage_types(register: Register) -> None:
    register("AZURE_CONTAINER", cloud_storage_options, provider="azure",
             credentials_types=("ACCOUNT_NAME_TOKEN_PAIR", "CONNECTION_STRING",
                                "ANONYMOUS_ACCESS"))
