"""cvatcore-azure: Azure Blob Storage containers as cvatcore storages (over adlfs).

Registers the storage provider ``azure``; its options are ``cvatcore_azure.AzureConfig``.
"""

from __future__ import annotations

from cvatcore.hooks import Register, hookimpl
from cvatcore_azure.config import AzureConfig
from cvatcore_azure.storage import AzureStorage

__all__ = ["AzureConfig", "AzureStorage"]


@hookimpl
def register_storage_providers(register: Register) -> None:
    register("azure", AzureStorage, config_model=AzureConfig,
             description="Azure Blob Storage container (SAS token, connection string,"
                         " anonymous, or keyless DefaultAzureCredential)")
