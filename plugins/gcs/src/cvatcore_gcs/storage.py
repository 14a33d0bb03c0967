"""``GcsStorage``: one Google Cloud Storage bucket (or a folder in it) as a cvatcore storage
provider, over gcsfs.

Listing goes straight to ``objects.list`` with ``maxResults``, ``delimiter="/"`` and the
``pageToken`` as the cursor: one request per page whatever the bucket holds. gcsfs is used
through its plain ``GCSFileSystem`` (``gcsfs.core``), never the "extended" class that
``import gcsfs`` may pick, which probes every bucket over gRPC (and stalls against an
emulator). Its fixed six retries with up to 32 s pauses are replaced by ``max_attempts``.
"""

from __future__ import annotations

import asyncio
import json
import random
from typing import Any

import aiohttp
import google.auth
import google.auth.exceptions as gauth
import google.auth.transport.requests
import requests.exceptions
from gcsfs.core import GCSFileSystem
from gcsfs.retry import HttpError, NonRetryableError
from google.oauth2 import service_account

from cvatcore.hooks import (
    FsspecStorage,
    ListingPage,
    ObjectInfo,
    StorageStatus,
    StorageUnavailableError,
)
from cvatcore.hooks.fsspec_storage import (
    Classified,
    modified_time,
    pack_cursor,
    sort_key,
    unpack_cursor,
)
from cvatcore.hooks.outbound import guarded_requests_session, guarded_resolver, refusal_in
from cvatcore_gcs.config import GcsConfig

SCOPE = "https://www.googleapis.com/auth/devstorage.read_write"
TRANSIENT_CODES = {408, 429, 500, 502, 503, 504}


class _GCSFileSystem(GCSFileSystem):
    """gcsfs with a configurable number of attempts and short back-off, and for a user's
    bucket an aiohttp session that connects only where the outbound guard allows."""

    attempts = 3
    outbound_allow: list[str] | None = None

    async def _set_session(self) -> Any:
        if self._session is None and self.outbound_allow is not None:
            # Made here, inside the loop that uses it, as gcsfs makes its own session.
            self.session_kwargs = {**self.session_kwargs, "connector": aiohttp.TCPConnector(
                resolver=guarded_resolver(self.outbound_allow))}
        return await super()._set_session()

    async def _request(self, method: str, path: str, *args: Any, **kwargs: Any) -> Any:
        plain = GCSFileSystem._request.__wrapped__  # gcsfs's request without its retries
        for attempt in range(self.attempts):
            try:
                return await plain(self, method, path, *args, **kwargs)
            except Exception as exc:
                if attempt + 1 >= self.attempts or not is_transient(exc):
                    raise
                await asyncio.sleep(min(0.25 * 2**attempt, 8) * (0.5 + random.random()))
        raise AssertionError("unreachable")


def _guarded_refresh(refresh: Any, allow: list[str]) -> Any:
    """``credentials.refresh`` over a session that connects only where the guard allows
    (gcsfs passes a plain ``requests`` session of its own)."""
    session = guarded_requests_session(allow)

    def guarded(_request: Any) -> None:
        refresh(google.auth.transport.requests.Request(session))

    return guarded


def is_transient(exc: BaseException) -> bool:
    """Whether trying the same request again may work."""
    if isinstance(exc, HttpError):
        return exc.code in TRANSIENT_CODES
    return isinstance(exc, (aiohttp.ClientConnectionError, asyncio.TimeoutError,
                            requests.exceptions.ProxyError, gauth.TransportError))


class UnusableKeyError(PermissionError):
    """The configured service-account key cannot be used (its message says why)."""


def load_credentials(config: GcsConfig) -> tuple[Any, str]:
    """``(token for gcsfs, project)`` for the configured credentials.

    Called on first use, so a missing or bad key surfaces as ``PermissionError`` from the
    first operation (and ``FORBIDDEN`` from ``status``), not as a failed start-up.
    """
    project = config.project or ""
    if config.credentials_type == "ANONYMOUS_ACCESS":
        return "anon", project
    if config.credentials_type == "DEFAULT_CREDENTIALS":
        credentials, default_project = google.auth.default(scopes=[SCOPE])
        return credentials, project or default_project or ""
    try:
        if config.key_json is not None:
            info = json.loads(config.key_json.get_secret_value())
        else:
            assert config.key_file is not None
            info = json.loads(config.key_file.read_text())
        credentials = service_account.Credentials.from_service_account_info(
            info, scopes=[SCOPE])
    except OSError as exc:
        raise UnusableKeyError(f"the key file cannot be read ({type(exc).__name__})") from None
    except (ValueError, KeyError, TypeError):
        raise UnusableKeyError("the key is not a valid service-account key") from None
    return credentials, project or info.get("project_id", "")


class GcsStorage(FsspecStorage):
    """A GCS bucket, optionally narrowed to ``prefix``, as a ``StorageProvider``."""

    def __init__(self, config: GcsConfig) -> None:
        self.config = config
        self.bucket = config.bucket
        self.key_prefix = config.prefix.rstrip("/") + "/" if config.prefix else ""
        root = self.bucket + ("/" + self.key_prefix.rstrip("/") if self.key_prefix else "")
        secrets = [config.key_json.get_secret_value()] if config.key_json else []
        secrets += _private_parts(secrets)
        super().__init__(self._connect, root, label=f"gs://{root}", secrets=secrets)

    def _connect(self) -> GCSFileSystem:
        token, project = load_credentials(self.config)
        fs = _GCSFileSystem(
            project=project,
            token=token,
            endpoint_url=self.config.endpoint_url,
            requester_pays=project if self.config.requester_pays and project else False,
            requests_timeout=aiohttp.ClientTimeout(total=self.config.read_timeout,
                                                   sock_connect=self.config.connect_timeout),
            skip_instance_cache=True,
            use_listings_cache=False,
        )
        fs.attempts = self.config.max_attempts
        allow = self.config.outbound_allow
        if allow is not None:
            fs.outbound_allow = allow
            if hasattr(token, "refresh"):  # the key's token_uri is a user's URL too
                token.refresh = _guarded_refresh(token.refresh, allow)
        return fs

    def list_native(self, prefix: str, cursor: str | None, page_size: int) -> ListingPage:
        """One ``objects.list`` request, merged and cut to ``page_size``.

        GCS counts items and prefixes together in ``maxResults`` and may repeat a prefix on a
        later page; fake-gcs-server pages items only and repeats every prefix on every page.
        The cursor therefore carries the last name returned besides the page token: repeats
        are dropped, prefixes beyond the last item of a partial answer wait for a later
        page, and a page cut short resumes with ``startOffset`` from the last name returned.
        """
        after, token = decode_cursor(cursor)
        full_prefix = self.key_prefix + prefix
        params: dict[str, Any] = {"prefix": full_prefix, "delimiter": "/",
                                  "maxResults": page_size + 1}  # + the one at the offset
        if token:
            params["pageToken"] = token
        elif after:
            params["startOffset"] = self.key_prefix + resume_offset(after)
        out = self.fs.call("GET", "b/{}/o", self.bucket, json_out=True, **params)
        strip = len(self.key_prefix)
        folders = [ObjectInfo(name=p[strip:].rstrip("/"), type="DIR")
                   for p in out.get("prefixes", [])]
        files = [ObjectInfo(name=o["name"][strip:], type="REG", size=int(o.get("size", 0)),
                            modified=modified_time(o))
                 for o in out.get("items", [])
                 if o["name"] != full_prefix]  # a "folder/" marker is the folder itself
        server_token = out.get("nextPageToken")
        deferred = False
        if server_token and files:
            frontier = max(sort_key(f) for f in files)
            deferred = any(sort_key(f) > frontier for f in folders)
            folders = [f for f in folders if sort_key(f) <= frontier]
        entries = sorted((e for e in folders + files if after is None or sort_key(e) > after),
                         key=sort_key)
        page = entries[:page_size]
        last = sort_key(page[-1]) if page else after
        if len(entries) > page_size or deferred:
            return ListingPage(entries=page, next=encode_cursor(last, None))
        return ListingPage(entries=page,
                           next=encode_cursor(last, server_token) if server_token else None)

    def check_status(self) -> str:
        """A one-object ``objects.list``: it needs only what a reader has (CVAT's
        ``buckets.get`` also needs a bucket-level role) and 404s for a missing bucket."""
        self.fs.call("GET", "b/{}/o", self.bucket, json_out=True, prefix=self.key_prefix,
                     maxResults=1)
        return StorageStatus.AVAILABLE

    def classify(self, exc: BaseException) -> Classified | None:
        if isinstance(exc, UnusableKeyError):
            return PermissionError, str(exc)
        if isinstance(exc, HttpError):
            if exc.code == 401:
                return PermissionError, "the credentials were refused (401)"
            if exc.code in TRANSIENT_CODES:
                return StorageUnavailableError, f"the service is busy or failing ({exc.code})"
            return OSError, f"the service answered {exc.code}"
        if isinstance(exc, OSError) and str(exc).startswith("Forbidden"):
            return PermissionError, "access denied (403)"
        if isinstance(exc, gauth.DefaultCredentialsError):
            return PermissionError, "no application default credentials were found"
        if isinstance(exc, (gauth.RefreshError, NonRetryableError)):
            return PermissionError, "the key was refused by the token endpoint"
        if isinstance(exc, gauth.TransportError):
            refused = refusal_in(exc)
            return StorageUnavailableError, (f"cannot reach the token endpoint: {refused}"
                                             if refused else "cannot reach the token endpoint")
        if isinstance(exc, requests.exceptions.ProxyError):
            return StorageUnavailableError, "a gateway failed (502)"
        if isinstance(exc, (aiohttp.ClientError, asyncio.TimeoutError)):
            return StorageUnavailableError, self._unreachable(exc)
        if isinstance(exc, ValueError) and str(exc).startswith("Bad Request"):
            return ValueError, "the server refused an argument (a cursor from elsewhere?)"
        return super().classify(exc)

    def _unreachable(self, exc: BaseException) -> str:
        where = self.config.endpoint_url or "storage.googleapis.com"
        refused = refusal_in(exc)
        if refused is not None:
            return f"cannot connect to {where}: {refused}"
        if isinstance(exc, asyncio.TimeoutError):
            what = "timed out"
        elif isinstance(exc, aiohttp.ServerDisconnectedError):
            what = "the connection was dropped"
        elif isinstance(exc, aiohttp.ClientConnectorError):
            what = "could not connect (refused or unreachable)"
        else:
            what = f"connection failed ({type(exc).__name__})"
        return f"cannot reach {where}: {what} after {self.config.max_attempts} attempt(s)"


def encode_cursor(after: str | None, token: str | None) -> str:
    """An opaque cursor: the last sort key returned and the server's page token."""
    return pack_cursor({"a": after, "t": token})


def decode_cursor(cursor: str | None) -> tuple[str | None, str | None]:
    if not cursor:
        return None, None
    try:
        data = unpack_cursor(cursor)
        after, token = data["a"], data["t"]
        if not all(v is None or isinstance(v, str) for v in (after, token)):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise ValueError("the cursor was not made by this storage") from None
    return after, token


def resume_offset(after: str) -> str:
    """The ``startOffset`` that skips ``after``: past all of a folder ("dir/" -> "dir0",
    the next character after "/"), or from the name itself for a file (filtered out)."""
    return after[:-1] + "0" if after.endswith("/") else after


def _private_parts(secrets: list[str]) -> list[str]:
    """The private key inside a key JSON, so that it is scrubbed even when quoted alone."""
    parts = []
    for text in secrets:
        try:
            key = json.loads(text).get("private_key", "")
        except ValueError:
            continue
        parts += [line for line in key.splitlines() if len(line) > 16 and "-----" not in line]
    return parts
