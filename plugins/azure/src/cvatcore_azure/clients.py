"""Azure clients built from one ``AzureConfig``: the sync container client (listing, status)
and the adlfs filesystem (reads, writes, deletes), with the same credentials and retries.

Every way of signing in except ``DEFAULT_AZURE_CREDENTIAL`` is expressed as a connection
string, so that adlfs never falls back to ``AZURE_STORAGE_*`` environment variables (adlfs
reads them whenever an argument is missing) and its own file objects sign in the same way.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import aiohttp
from adlfs import AzureBlobFileSystem
from azure.core.exceptions import HttpResponseError
from azure.core.pipeline.transport import AioHttpTransport, RequestsTransport
from azure.storage.blob import ContainerClient
from azure.storage.blob.aio import BlobServiceClient as AioBlobServiceClient

from cvatcore.hooks.outbound import guarded_requests_session, guarded_resolver
from cvatcore_azure.config import AzureConfig

IDENTITY_HINT = "pip install 'cvatcore-azure[identity]' (azure-identity)"


def connection_string(config: AzureConfig) -> str | None:
    """The connection string that signs in as ``config`` says; ``None`` for keyless sign-in."""
    kind = config.credentials_type
    if kind == "CONNECTION_STRING":
        assert config.connection_string is not None
        return config.connection_string.get_secret_value()
    if kind == "ACCOUNT_NAME_TOKEN_PAIR":
        assert config.sas_token is not None
        return f"BlobEndpoint={config.endpoint()};SharedAccessSignature=" + (
            config.sas_token.get_secret_value())
    if kind == "ANONYMOUS_ACCESS":
        return f"BlobEndpoint={config.endpoint()};"
    return None


def client_options(config: AzureConfig, aio: bool = False) -> dict[str, Any]:
    """Retries and timeouts for both SDK clients, and for a user's container a transport
    that connects only where the outbound guard allows.

    The SDK's storage default waits 18 s, 24 s and 42 s between tries (well over a minute
    before a dead endpoint is reported); here the waits are about 1.9 s, 2.8 s and 4.4 s
    (``0.25 + 1.6**n``), still enough to ride out a throttled or dropped connection.
    """
    guarded: dict[str, Any] = {}
    if config.outbound_allow is not None:
        timeouts = {"connection_timeout": min(config.timeout, 10.0),
                    "read_timeout": config.timeout}
        guarded["transport"] = (
            GuardedAioTransport(config.outbound_allow, **timeouts) if aio else
            RequestsTransport(session=guarded_requests_session(config.outbound_allow),
                              **timeouts))
    return {**guarded,
        "retry_total": config.max_retries,
        "initial_backoff": 0.25,
        "increment_base": 1.6,
        "random_jitter_range": 0.5,
        "connection_timeout": min(config.timeout, 10.0),
        "read_timeout": config.timeout,
    }


class GuardedAioTransport(AioHttpTransport):
    """azure-core's aiohttp transport with a session whose resolver is the outbound guard's
    (the session is made in ``open``, inside the event loop that uses it, as the SDK does)."""

    def __init__(self, allow: list[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._allow = allow

    async def open(self) -> None:
        if self.session is None and self._session_owner:
            self.session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(resolver=guarded_resolver(self._allow)),
                cookie_jar=aiohttp.DummyCookieJar(), auto_decompress=False, trust_env=False)
        await super().open()


def _identity_credential(aio: bool) -> Any:
    try:
        if aio:
            from azure.identity.aio import DefaultAzureCredential
        else:
            from azure.identity import DefaultAzureCredential
    except ImportError:
        raise PermissionError(
            f"credentials_type DEFAULT_AZURE_CREDENTIAL needs azure-identity: {IDENTITY_HINT}"
        ) from None
    return DefaultAzureCredential()


def container_client(config: AzureConfig) -> ContainerClient:
    """A sync ``ContainerClient`` (the SDK's paginated listing and container calls)."""
    conn = connection_string(config)
    if conn is not None:
        return ContainerClient.from_connection_string(conn, config.container,
                                                      **client_options(config))
    return ContainerClient(config.endpoint(), config.container,
                           credential=_identity_credential(aio=False), **client_options(config))


class AzureFileSystem(AzureBlobFileSystem):
    """adlfs with the service client built from our config (retries, no environment lookups)
    and a read past the end of a blob answered with no bytes instead of HTTP 416."""

    def __init__(self, config: AzureConfig, **kwargs: Any) -> None:
        self._config = config
        super().__init__(**kwargs)

    def do_connect(self) -> None:
        config, conn = self._config, connection_string(self._config)
        if conn is not None:
            self.service_client = AioBlobServiceClient.from_connection_string(
                conn, **client_options(config, aio=True))
        else:
            self.service_client = AioBlobServiceClient(
                config.endpoint(), credential=self.credential,
                **client_options(config, aio=True))

    async def _cat_file(self, path: str, start: int | None = None, end: int | None = None,
                        **kwargs: Any) -> bytes:
        try:
            return await super()._cat_file(path, start=start, end=end, **kwargs)
        except HttpResponseError as exc:
            if exc.status_code == 416 and start:
                return b""  # the range starts at or after the end of the blob
            raise


def make_filesystem(config: AzureConfig) -> AzureFileSystem:
    """The adlfs filesystem for ``config`` (no instance or listings cache: every call asks
    Azure, so that changes made elsewhere are seen at once)."""
    common: dict[str, Any] = {"skip_instance_cache": True, "use_listings_cache": False,
                              "timeout": int(config.timeout)}
    conn = connection_string(config)
    if conn is not None:
        return AzureFileSystem(config, connection_string=conn,
                               anon=config.credentials_type == "ANONYMOUS_ACCESS", **common)
    host = urlsplit(config.endpoint()).netloc
    return AzureFileSystem(config, account_name=config.account_name or host.split(".")[0],
                           account_host=host, credential=_identity_credential(aio=True),
                           anon=False, **common)
