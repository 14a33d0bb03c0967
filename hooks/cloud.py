"""What a cloud-storage type's ``build_options`` receives (``register_cloud_storage_types``)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class CloudStorageSpec:
    """A cloud storage as CVAT's API describes it, with its credentials decrypted.

    ``credentials`` holds the fields of ``credentials_type`` that were given: ``key``,
    ``secret_key``, ``session_token``, ``account_name``, ``connection_string``, ``key_file``
    (the JSON text of a service-account key). ``specific_attributes`` is the parsed
    ``region=...&prefix=...`` string. ``keyless`` is true when the storage uses the server's own
    identity (environment, instance role, workload identity) instead of stored credentials;
    only operators can allow that (``[storage] allow_keyless_cloud_credentials``).
    """

    provider_type: str
    resource: str
    credentials_type: str
    credentials: dict[str, str] = field(default_factory=dict)
    specific_attributes: dict[str, str] = field(default_factory=dict)
    keyless: bool = False

    def __repr__(self) -> str:  # never print credentials
        return (f"CloudStorageSpec({self.provider_type}, {self.resource!r}, "
                f"{self.credentials_type}, attributes={self.specific_attributes})")
