"""The ``azure`` storage provider: one Azure Blob container (or a prefix in it).

Reads, writes, stat and delete go through adlfs (``FsspecStorage``); listing uses the SDK's
own paginated ``walk_blobs`` with a delimiter, so a page costs one request however large the
container is, and the cursor is Azure's continuation marker.
"""

from __future__ import annotations

import re
import threading
from urllib.parse import quote, unquote

from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.storage.blob import BlobPrefix, ContainerClient

from cvatcore.hooks import (
    FsspecStorage,
    ListingPage,
    ObjectInfo,
    StorageStatus,
    StorageUnavailableError,
)
from cvatcore.hooks.fsspec_storage import Classified, bound_cursor, bound_token
from cvatcore.hooks.outbound import refusal_in
from cvatcore_azure.clients import container_client, make_filesystem
from cvatcore_azure.config import AzureConfig

# Secrets that can hide in any text the SDK produces: a SAS signature in a URL, a key or a
# SAS inside a connection string.
_SECRET_PARTS = re.compile(r"(?i)\b(sig|AccountKey|SharedAccessSignature|SharedAccessKey)="
                           r"[^&;\s'\"<>]+")
_BUSY = {429, 500, 502, 503, 504}


def _secrets(config: AzureConfig) -> list[str]:
    """Every form in which this config's secrets could appear in a message."""
    found: list[str] = []
    for secret in (config.sas_token, config.connection_string):
        if secret is None:
            continue
        text = secret.get_secret_value()
        found.append(text)
        for match in _SECRET_PARTS.finditer(text):
            value = match.group(0).split("=", 1)[1]
            found += [value, unquote(value), quote(unquote(value), safe="")]
    return found


class AzureStorage(FsspecStorage):
    """A container (and optional prefix) of an Azure storage account, or of Azurite."""

    def __init__(self, config: AzureConfig) -> None:
        self.config = config
        prefix = config.prefix.strip("/")
        self.key_prefix = f"{prefix}/" if prefix else ""
        root = f"{config.container}/{prefix}" if prefix else config.container
        super().__init__(lambda: make_filesystem(config), root,
                         label=f"az://{root}", secrets=_secrets(config))
        self._client: ContainerClient | None = None
        self._client_lock = threading.Lock()

    @property
    def container(self) -> ContainerClient:
        """The SDK's sync container client, built on first use."""
        if self._client is None:
            with self._client_lock:
                if self._client is None:
                    self._client = container_client(self.config)
        return self._client

    def close(self) -> None:
        """Close the SDK client's connections (the filesystem closes itself when collected)."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def redact(self, text: str) -> str:
        return _SECRET_PARTS.sub(lambda m: m.group(1) + "=***", super().redact(text))

    def classify(self, exc: BaseException) -> Classified | None:
        if isinstance(exc, ResourceNotFoundError):
            code = getattr(exc, "error_code", None)
            return FileNotFoundError, "container not found" if code == "ContainerNotFound" else (
                "not found")
        if isinstance(exc, ClientAuthenticationError):
            if exc.status_code is None:  # raised by azure-identity before any request
                return PermissionError, "access denied (the credential could not get a token)"
            return PermissionError, f"access denied ({_code(exc)})"
        if isinstance(exc, (ServiceRequestError, ServiceResponseError)):
            return StorageUnavailableError, (
                f"cannot connect: {refusal_in(exc)}" if refusal_in(exc)
                else "cannot reach Azure Blob Storage")
        if isinstance(exc, HttpResponseError):
            status = exc.status_code or 0
            if status in (401, 403):
                return PermissionError, f"access denied ({_code(exc)})"
            if status == 404:
                return FileNotFoundError, "not found"
            if status in _BUSY:
                return StorageUnavailableError, f"Azure answered HTTP {status} ({_code(exc)})"
            return OSError, f"Azure answered HTTP {status} ({_code(exc)})"
        return super().classify(exc)

    def list_native(self, prefix: str, cursor: str | None, page_size: int) -> ListingPage:
        """One ``List Blobs`` call with ``delimiter=/`` (``maxresults`` counts folders too)."""
        wanted = self.key_prefix + prefix
        marker = bound_token(cursor, prefix)
        pages = self.container.walk_blobs(
            name_starts_with=wanted or None, delimiter="/", results_per_page=page_size
        ).by_page(continuation_token=marker)
        try:
            items = list(next(pages, []))
        except HttpResponseError as exc:
            if cursor and exc.status_code == 400:
                raise ValueError("the listing cursor is not one this storage gave out") from None
            raise
        entries = []
        for item in items:
            name = item.name[len(self.key_prefix):]
            if isinstance(item, BlobPrefix):
                entries.append(ObjectInfo(name=name.rstrip("/"), type="DIR"))
            elif not name.endswith("/"):  # a zero-byte "folder/" marker is not a file
                modified = item.last_modified.timestamp() if item.last_modified else None
                entries.append(ObjectInfo(name=name, type="REG", size=item.size,
                                          modified=modified))
        return ListingPage(entries=entries, next=bound_cursor(pages.continuation_token, prefix))

    def check_status(self) -> str:
        """List one blob: that works with a container SAS (``rl``) and with anonymous access to
        a public container, where ``Get Container Properties`` is refused; fall back to the
        properties call for credentials that may not list."""
        try:
            pages = self.container.list_blobs(name_starts_with=self.key_prefix or None,
                                              results_per_page=1).by_page()
            list(next(pages, []))
        except HttpResponseError as exc:
            if exc.status_code != 403:
                raise
            self.container.get_container_properties()
        return StorageStatus.AVAILABLE


def _code(exc: HttpResponseError) -> str:
    """Azure's error code (``AuthorizationFailure``), never the message (it may quote URLs)."""
    code = getattr(exc, "error_code", None)
    return str(getattr(code, "value", code) or f"HTTP {exc.status_code}")
