"""HTTP calls to Drive v3 with sign-in, retries and error mapping, over one ``httpx.Client``.

Retried: connection failures, 429, 5xx and 403 rate-limit answers, with exponential back-off
(``Retry-After`` when given), and a 401 once with a fresh token. Requests that could create
a duplicate when repeated (a multipart create) are not retried after the request was sent;
the caller decides (see ``DriveFileSystem._upload``).
"""

from __future__ import annotations

import random
import time
from typing import Any
from urllib.parse import urlsplit

import httpx

from cvatcore_gdrive.auth import TokenSource
from cvatcore_gdrive.errors import (
    DriveNotFoundError,
    DrivePermissionError,
    DriveRequestError,
    DriveUnavailableError,
)

_RATE_REASONS = {"rateLimitExceeded", "userRateLimitExceeded", "backendError"}
FILE_FIELDS = "id,name,mimeType,size,modifiedTime,md5Checksum,trashed"


def _error_detail(response: httpx.Response) -> tuple[str, str]:
    """(reason, message) from Google's ``{"error": {"errors": [{"reason"}], "message"}}``."""
    try:
        error = response.json().get("error", {})
    except ValueError:
        return f"HTTP {response.status_code}", ""
    if not isinstance(error, dict):
        return str(error)[:60], ""
    details = error.get("errors") or [{}]
    reason = str(details[0].get("reason") or error.get("status") or f"HTTP {response.status_code}")
    return reason[:60], str(error.get("message") or "")[:200]


class DriveClient:
    """One signed-in connection to Drive (thread-safe: ``httpx.Client`` pools connections)."""

    def __init__(self, api_base_url: str, tokens: TokenSource, http: httpx.Client,
                 max_retries: int = 5) -> None:
        self.base = api_base_url.rstrip("/")
        self.tokens = tokens
        self.http = http
        self.max_retries = max_retries

    def url(self, path: str) -> str:
        return self.base + path

    def check_same_host(self, url: str) -> None:
        """Refuse an upload ``Location`` on another host than the API (an SSRF guard)."""
        ours, theirs = urlsplit(self.base), urlsplit(url)
        if (theirs.scheme, theirs.netloc) != (ours.scheme, ours.netloc):
            raise DriveRequestError("Drive sent an upload address on another host",
                                    reason="foreign upload address")

    def request(self, method: str, url: str, *, ok: tuple[int, ...] = (200,),
                retry_sent: bool = True, **kwargs: Any) -> httpx.Response:
        """Send one request; return the response when its status is in ``ok``.

        ``retry_sent=False`` retries only failures where nothing reached Drive (connect
        errors): a request that may have been carried out is not sent twice.
        """
        refreshed = False
        base_headers = kwargs.pop("headers", None) or {}
        for attempt in range(self.max_retries + 1):
            try:
                token = self.tokens.token()
            except DriveUnavailableError:
                if attempt < self.max_retries:
                    self._sleep(attempt, None)
                    continue
                raise
            headers = {**base_headers, "Authorization": f"Bearer {token}"}
            try:
                response = self.http.request(method, url, headers=headers, **kwargs)
            except httpx.TransportError as exc:
                if attempt < self.max_retries and (retry_sent or _not_sent(exc)):
                    self._sleep(attempt, None)
                    continue
                raise DriveUnavailableError(f"cannot reach Google Drive ({type(exc).__name__})",
                                            reason="cannot reach Google Drive") from None
            if response.status_code in ok:
                return _released(response)
            reason, message = _error_detail(response)
            status = response.status_code
            if status == 401 and not refreshed:
                self.tokens.invalidate(token)
                refreshed = True
                continue
            busy = status in (429, 500, 502, 503, 504) or (
                status == 403 and reason in _RATE_REASONS)
            if busy and retry_sent and attempt < self.max_retries:
                self._sleep(attempt, response.headers.get("Retry-After"))
                continue
            raise _mapped(status, reason, message)
        raise DriveUnavailableError("Google Drive kept failing", reason="retries exhausted")

    def _sleep(self, attempt: int, retry_after: str | None) -> None:
        delay = min(0.2 * 2**attempt, 10.0) * (0.5 + random.random())
        if retry_after and retry_after.isdigit():
            delay = min(float(retry_after), 30.0)
        time.sleep(delay)

    def close(self) -> None:
        self.http.close()


def _released(response: httpx.Response) -> httpx.Response:
    """The response with its (already read) body stream detached. httpx keeps a response and
    its stream in a reference cycle, so each downloaded block (8 MiB of a streamed read)
    would wait for the cyclic garbage collector: a 64 MiB read held all of it at once."""
    response.stream = httpx.ByteStream(response.content)
    return response


def _not_sent(exc: httpx.TransportError) -> bool:
    return isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))


def _mapped(status: int, reason: str, message: str) -> Exception:
    text = f"Drive answered HTTP {status} ({reason}){': ' + message if message else ''}"
    if status == 404:
        return DriveNotFoundError(text, reason="not found")
    if status in (401, 403):
        return DrivePermissionError(text, reason=f"access denied ({reason})")
    if status == 429 or status >= 500 or reason in _RATE_REASONS:
        return DriveUnavailableError(text, reason=f"Drive is busy (HTTP {status}, {reason})")
    return DriveRequestError(text, reason=f"Drive refused the request (HTTP {status}, {reason})")
