"""``S3Storage``: one S3 bucket (or a folder in it) as a cvatcore storage provider, over s3fs.

Listing goes straight to ``ListObjectsV2`` with ``MaxKeys``, ``Delimiter="/"`` and the
``ContinuationToken`` as the cursor, so a page costs one request whatever the bucket holds.
``status`` lists one key (see ``check_status``). Errors are read from the S3 error code (which
s3fs keeps as the cause of the exception it raises) and from botocore's connection errors.
"""

from __future__ import annotations

from typing import Any

import aiobotocore.session
import aiohttp
import botocore.exceptions as boto
from fsspec.asyn import sync
from s3fs import S3FileSystem

from cvatcore.hooks import (
    FsspecStorage,
    ListingPage,
    ObjectInfo,
    StorageStatus,
    StorageUnavailableError,
)
from cvatcore.hooks.fsspec_storage import Classified, modified_time, sort_key
from cvatcore.hooks.outbound import guarded_resolver, refusal_in
from cvatcore_s3.config import S3Config

#: S3 error codes that mean "these credentials are not good enough here".
CREDENTIAL_ERRORS = {
    "AccessDenied": "access denied",
    "AllAccessDisabled": "all access to this bucket is disabled",
    "AccountProblem": "the account has a problem",
    "InvalidAccessKeyId": "the access key id is not known to the server",
    "SignatureDoesNotMatch": "the secret key does not match the access key id",
    "InvalidToken": "the session token is malformed or not valid",
    "ExpiredToken": "the session token has expired",
    "TokenRefreshRequired": "the session token must be refreshed",
    "InvalidSecurity": "the security credentials are not valid",
    "403": "access denied",
}
#: Codes after which trying later may work (botocore already retried them).
BUSY_ERRORS = {
    "SlowDown": "the service asks to slow down (throttled)",
    "Throttling": "throttled",
    "ThrottlingException": "throttled",
    "RequestLimitExceeded": "throttled",
    "TooManyRequestsException": "throttled",
    "ServiceUnavailable": "the service is unavailable",
    "503": "the service is unavailable",
    "InternalError": "the service reported an internal error",
    "500": "the service reported an internal error",
    "RequestTimeout": "the request timed out",
}
MISSING_ERRORS = {
    "NoSuchBucket": "the bucket does not exist",
    "NoSuchKey": "not found",
    "404": "not found",
}


_shared_session: aiobotocore.session.AioSession | None = None


def botocore_session(default_chain: bool) -> aiobotocore.session.AioSession:
    """A botocore session: one shared by every provider that brings its own keys (building a
    client then costs ~50 ms instead of ~300 ms of loading service models), a new one with
    the shared model loader for the default chain (its resolved credentials stay its own)."""
    global _shared_session
    if _shared_session is None:
        _shared_session = aiobotocore.session.AioSession()
    if not default_chain:
        return _shared_session
    session = aiobotocore.session.AioSession()
    session.register_component("data_loader", _shared_session.get_component("data_loader"))
    return session


def s3_error_code(exc: BaseException) -> str | None:
    """The S3 error code of a botocore ``ClientError``, found on ``exc`` or its causes."""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return None
        response = getattr(seen, "response", None)
        if isinstance(response, dict) and isinstance(response.get("Error"), dict):
            return str(response["Error"].get("Code") or "") or None
        seen = seen.__cause__ or seen.__context__
    return None


class S3Storage(FsspecStorage):
    """An S3 bucket, optionally narrowed to ``prefix``, as a ``StorageProvider``."""

    def __init__(self, config: S3Config) -> None:
        self.config = config
        self.bucket = config.bucket
        self.key_prefix = config.prefix.rstrip("/") + "/" if config.prefix else ""
        root = self.bucket + ("/" + self.key_prefix.rstrip("/") if self.key_prefix else "")
        secrets = [s.get_secret_value() for s in (config.secret_key, config.session_token) if s]
        super().__init__(self._connect, root, label=f"s3://{root}", secrets=secrets)

    def _connect(self) -> S3FileSystem:
        """Build the s3fs filesystem for the configured credentials (no request yet)."""
        cfg = self.config
        options: dict[str, Any] = {}
        if cfg.credentials_type == "KEY_SECRET_KEY_PAIR":
            assert cfg.secret_key is not None
            options.update(key=cfg.key, secret=cfg.secret_key.get_secret_value(),
                           token=cfg.session_token.get_secret_value()
                           if cfg.session_token else None)
        elif cfg.credentials_type == "ANONYMOUS_ACCESS":
            options["anon"] = True
        # DEFAULT_CREDENTIALS: nothing here, botocore walks its default credential chain.
        config_kwargs: dict[str, Any] = {
            "connect_timeout": cfg.connect_timeout,
            "read_timeout": cfg.read_timeout,
            "retries": {"max_attempts": cfg.max_attempts, "mode": "standard"},
            "s3": {"addressing_style": cfg.addressing_style},
        }
        if cfg.outbound_allow is not None:  # a user's bucket: connect only where allowed
            config_kwargs["connector_args"] = {"resolver": guarded_resolver(cfg.outbound_allow)}
        fs = S3FileSystem(
            endpoint_url=cfg.endpoint_url,
            client_kwargs={"region_name": cfg.region} if cfg.region else {},
            config_kwargs=config_kwargs,
            session=botocore_session(cfg.credentials_type == "DEFAULT_CREDENTIALS"),
            skip_instance_cache=True,
            use_listings_cache=False,
            **options,
        )
        fs.retries = 1  # botocore's standard mode retries; s3fs's loop would multiply them
        return fs

    def list_native(self, prefix: str, cursor: str | None, page_size: int) -> ListingPage:
        full_prefix = self.key_prefix + prefix
        params: dict[str, Any] = {"Bucket": self.bucket, "Prefix": full_prefix,
                                  "Delimiter": "/", "MaxKeys": page_size}
        if cursor:
            params["ContinuationToken"] = cursor
        out = self.fs.call_s3("list_objects_v2", **params)
        strip = len(self.key_prefix)
        entries = [ObjectInfo(name=p["Prefix"][strip:].rstrip("/"), type="DIR")
                   for p in out.get("CommonPrefixes", [])]
        entries += [
            ObjectInfo(name=o["Key"][strip:], type="REG", size=o.get("Size"),
                       modified=modified_time(o))
            for o in out.get("Contents", [])
            if o["Key"] != full_prefix  # a zero-byte "folder/" marker is the folder itself
        ]
        entries.sort(key=sort_key)
        more = out.get("IsTruncated") and out.get("NextContinuationToken")
        return ListingPage(entries=entries, next=more or None)

    def read_native(self, key: str, start: int | None, end: int | None) -> bytes:
        """One ``GetObject`` (with a ``Range`` for a part): half the requests of s3fs's
        HEAD-then-GET, which matters when a task reads thousands of image headers."""
        return sync(self.fs.loop, self._get_object, self.key_prefix + key, start, end)

    async def _get_object(self, key: str, start: int | None, end: int | None) -> bytes:
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if start is not None or end is not None:
            params["Range"] = f"bytes={start or 0}-{'' if end is None else end - 1}"
        try:
            response = await self.fs._call_s3("get_object", **params)
        except OSError as exc:
            if s3_error_code(exc) in ("InvalidRange", "416"):
                return b""  # the range starts past the end of the object
            raise
        try:
            return await response["Body"].read()
        finally:
            response["Body"].close()

    def check_status(self) -> str:
        """A one-key ``ListObjectsV2``. It needs the same permission as CVAT's ``HeadBucket``
        (``s3:ListBucket``), but its answer has a body, so the error code says *why* (an
        unknown key, a bad signature, an expired token, no such bucket) where HEAD only
        gives a bare 403 or 404."""
        out = self.fs.call_s3("list_objects_v2", Bucket=self.bucket, Prefix=self.key_prefix,
                              MaxKeys=1)
        if self.config.credentials_type == "ANONYMOUS_ACCESS" and out.get("Contents"):
            # Without credentials, being allowed to list does not mean being allowed to
            # read (object ACLs); one HEAD of the first object tells.
            self.fs.call_s3("head_object", Bucket=self.bucket, Key=out["Contents"][0]["Key"])
        return StorageStatus.AVAILABLE

    def classify(self, exc: BaseException) -> Classified | None:
        code = s3_error_code(exc)
        if code in CREDENTIAL_ERRORS:
            return PermissionError, f"{CREDENTIAL_ERRORS[code]} ({code})"
        if code in MISSING_ERRORS:
            return FileNotFoundError, MISSING_ERRORS[code]
        if code in BUSY_ERRORS:
            return StorageUnavailableError, f"{BUSY_ERRORS[code]} ({code})"
        if code == "InvalidArgument":
            return ValueError, "the server refused an argument (a cursor from elsewhere?)"
        if isinstance(exc, (boto.NoCredentialsError, boto.PartialCredentialsError,
                            boto.CredentialRetrievalError)):
            return PermissionError, "no AWS credentials were found (DEFAULT_CREDENTIALS)"
        if isinstance(exc, (boto.ConnectionError, boto.HTTPClientError, aiohttp.ClientError)):
            return StorageUnavailableError, self._unreachable(exc)
        if isinstance(exc, boto.ParamValidationError):
            return ValueError, "invalid request parameters"
        return super().classify(exc)

    def _unreachable(self, exc: BaseException) -> str:
        where = self.config.endpoint_url or "the S3 endpoint"
        refused = refusal_in(exc)
        if refused is not None:
            return f"cannot connect to {where}: {refused}"
        if isinstance(exc, (boto.ConnectTimeoutError, boto.ReadTimeoutError)):
            what = "timed out"
        elif isinstance(exc, boto.ConnectionClosedError) or "closed" in str(exc).lower():
            what = "the connection was dropped"
        elif isinstance(exc, boto.EndpointConnectionError):
            what = "could not connect (refused or unreachable)"
        else:
            what = f"connection failed ({type(exc).__name__})"
        return f"cannot reach {where}: {what} after {self.config.max_attempts} attempt(s)"

