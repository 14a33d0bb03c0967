"""The ``azure`` provider's options: what is refused, with messages that never echo a secret,
and how the plug-in registers itself."""

from __future__ import annotations

from importlib.metadata import entry_points

import cvatcore_azure
import pytest
from cvatcore_azure import AzureConfig, AzureStorage
from pydantic import ValidationError

from cvatcore.hooks import StorageStatus
from cvatcore.hooks.testing import invoke_cli

SAS = "sv=2023-01-03&sr=c&sp=rl&sig=T0pS3cretS1gnature%3D"
CONN = "AccountName=acc1;AccountKey=U3VwZXJTZWNyZXRLZXk=;EndpointSuffix=core.windows.net"


def refused(**options: object) -> str:
    with pytest.raises(ValidationError) as caught:
        AzureConfig(**options)
    text = str(caught.value)
    assert "T0pS3cretS1gnature" not in text and "U3VwZXJTZWNyZXRLZXk" not in text
    return text


def test_cvat_credential_types_are_accepted():
    sas = AzureConfig(container="frames", account_name="acc1", sas_token="?" + SAS)
    assert sas.sas_token.get_secret_value() == SAS  # the leading "?" is dropped
    assert sas.endpoint() == "https://acc1.blob.core.windows.net"
    AzureConfig(container="frames", credentials_type="CONNECTION_STRING", connection_string=CONN)
    AzureConfig(container="frames", credentials_type="ANONYMOUS_ACCESS", account_name="acc1")
    AzureConfig(container="frames", credentials_type="DEFAULT_AZURE_CREDENTIAL",
                account_name="acc1")


@pytest.mark.parametrize("options, complaint", [
    ({"container": "frames", "account_name": "acc1"}, "needs sas_token"),
    ({"container": "frames", "credentials_type": "CONNECTION_STRING"}, "needs connection_string"),
    ({"container": "frames", "sas_token": SAS}, "needs account_name or account_url"),
    ({"container": "frames", "account_name": "acc1", "credentials_type": "ANONYMOUS_ACCESS",
      "sas_token": SAS}, "sas_token is not used"),
    ({"container": "frames", "credentials_type": "CONNECTION_STRING", "connection_string": CONN,
      "sas_token": SAS}, "sas_token is not used"),
    ({"container": "frames", "credentials_type": "CONNECTION_STRING",
      "connection_string": "U3VwZXJTZWNyZXRLZXk="}, "not an Azure Storage connection string"),
    ({"container": "Frames", "account_name": "acc1", "sas_token": SAS}, "lowercase"),
    ({"container": "a--b", "account_name": "acc1", "sas_token": SAS}, "single hyphens"),
    ({"container": "frames", "account_name": "Acc_1", "sas_token": SAS}, "account name"),
    ({"container": "frames", "account_name": "acc1", "sas_token": "sv=2023&sp=r"}, "sig="),
    ({"container": "frames", "account_name": "acc1", "sas_token": SAS, "prefix": "/abs"},
     "prefix"),
    ({"container": "frames", "account_name": "acc1", "sas_token": SAS, "prefix": "a/../b"},
     "'..'"),
    ({"container": "frames", "account_url": "http://127.0.0.1:1/acc?" + SAS,
      "sas_token": SAS}, "must not carry a query"),
    ({"container": "frames", "credentials_type": "DEFAULT_AZURE_CREDENTIAL",
      "account_url": "http://127.0.0.1:10000/devstoreaccount1"}, "https"),
    ({"container": "frames", "account_name": "acc1", "sas_token": SAS, "region": "x"},
     "Extra inputs"),
])
def test_bad_options_are_refused_without_echoing_secrets(options, complaint):
    assert complaint in refused(**options)


def test_secrets_are_masked_in_the_config_repr():
    config = AzureConfig(container="frames", credentials_type="CONNECTION_STRING",
                         connection_string=CONN)
    assert "U3VwZXJTZWNyZXRLZXk" not in repr(config) + str(config.model_dump())
    storage = AzureStorage(config)
    assert "U3VwZXJTZWNyZXRLZXk" not in repr(storage)
    assert storage.redact(f"GET https://x/?{SAS} failed; {CONN}").count("***") == 2


def test_keyless_credential_without_an_identity_is_forbidden(monkeypatch):
    # DefaultAzureCredential finds nothing on a test machine (no environment variables, no
    # managed identity, no az login): FORBIDDEN, and a message that says so.
    for name in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET",
                 "AZURE_FEDERATED_TOKEN_FILE", "IDENTITY_ENDPOINT", "MSI_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AZURE_IDENTITY_DISABLE_MULTITENANTAUTH", "1")
    storage = AzureStorage(AzureConfig(
        container="frames", credentials_type="DEFAULT_AZURE_CREDENTIAL",
        account_url="https://127.0.0.1:1/acc1", max_retries=0))
    assert storage.status() == StorageStatus.FORBIDDEN
    with pytest.raises(PermissionError, match="could not get a token"):
        storage.read("a.jpg")
    storage.close()


def test_registers_the_azure_provider():
    registered = {}
    cvatcore_azure.register_storage_providers(
        lambda name, factory, **kw: registered.update({name: (factory, kw["config_model"])}))
    factory, config_model = registered["azure"]
    assert set(registered) == {"azure"} and config_model is AzureConfig
    assert factory.__module__ == "cvatcore_azure"  # builds lazily: the SDK loads on first use
    found = [ep for ep in entry_points(group="cvatcore") if ep.name == "azure"]
    assert [ep.value for ep in found] == ["cvatcore_azure"]
    result = invoke_cli(["plugins"], plugins=[(cvatcore_azure, "azure")])
    assert result.exit_code == 0 and "azure" in result.stdout
