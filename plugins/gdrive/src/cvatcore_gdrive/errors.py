"""The exceptions the Drive filesystem raises: the standard ones callers already catch
(``FileNotFoundError``, ``PermissionError``, ``StorageUnavailableError``), each with a short
``reason`` taken from Drive's answer (``insufficientFilePermissions``, ``invalid_grant``).
Messages are built here from Drive's error reason and message, never from a request, so no
token or key can end up in them."""

from __future__ import annotations

from cvatcore.hooks import StorageUnavailableError


class _Reason:
    reason: str

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason or message


class DriveNotFoundError(_Reason, FileNotFoundError):
    """No such file or folder (Drive also says this for items shared with someone else)."""


class DrivePermissionError(_Reason, PermissionError):
    """Drive or its token endpoint refused the credentials, or the role is too low."""


class DriveUnavailableError(_Reason, StorageUnavailableError):
    """Drive could not be reached, or kept failing or throttling after every retry."""


class DriveRequestError(_Reason, OSError):
    """Drive refused the request itself (HTTP 400 and the like)."""
