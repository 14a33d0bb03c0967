"""OpenAPI component schemas of ``/api/cloudstorages`` (see ``openapi_components``)."""

from __future__ import annotations

from cvatcore.core.api.openapi_components import (
    DATE_TIME,
    INTEGER,
    STRING,
    Schema,
    array,
    enum,
    nullable,
    obj,
    ref,
    string,
)
from cvatcore.core.cloud_types import CREDENTIALS_TYPES, PROVIDER_TYPES

_WRITE = {
    "provider_type": ref("ProviderTypeEnum"),
    "resource": string(maxLength=222),
    "display_name": string(maxLength=63),
    "credentials_type": ref("CredentialsTypeEnum"),
    "session_token": string(maxLength=4096, writeOnly=True),
    "account_name": string(maxLength=24, writeOnly=True),
    "key": string(maxLength=128, writeOnly=True),
    "secret_key": string(maxLength=128, writeOnly=True),
    "connection_string": string(maxLength=1024, writeOnly=True),
    "key_file": string(writeOnly=True, description="A service-account key (JSON text)."),
    "specific_attributes": string(maxLength=1024),
    "description": STRING,
    "manifests": array(string(maxLength=1024)),
    "use_default_credentials": {"type": "boolean", "writeOnly": True,
                                "description": "Use the server's own cloud identity "
                                               "(only where the operator allows it)."},
}

SCHEMAS: dict[str, Schema] = {
    "ProviderTypeEnum": enum(PROVIDER_TYPES),
    "CredentialsTypeEnum": enum(CREDENTIALS_TYPES),
    "CloudStorageRead": obj(
        {
            "id": INTEGER,
            "provider_type": ref("ProviderTypeEnum"),
            "resource": STRING,
            "display_name": STRING,
            "owner": nullable(ref("BasicUser")),
            "credentials_type": ref("CredentialsTypeEnum"),
            "specific_attributes": STRING,
            "description": STRING,
            "created_date": DATE_TIME,
            "updated_date": DATE_TIME,
            "organization": nullable(INTEGER),
            "manifests": array(STRING),
        },
        required="all",
    ),
    "CloudStorageWriteRequest": obj(
        _WRITE, required=("provider_type", "resource", "display_name", "credentials_type")),
    "PatchedCloudStorageWriteRequest": obj(_WRITE),
    "FileInfo": obj({"name": STRING, "type": enum(("REG", "DIR")), "mime_type": STRING},
                    required="all"),
    "CloudStorageContent": obj({"content": array(ref("FileInfo")), "next": nullable(STRING)},
                               required=("content",)),
}
