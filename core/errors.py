"""Errors services raise and the API turns into 4xx answers with a JSON body."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """A client-visible error. ``detail`` is a string or a DRF-style ``{field: [msg]}`` dict."""

    status = 400
    #: Response headers the answer carries (``Retry-After``), besides the usual ones.
    headers: dict[str, str] | None = None

    def __init__(self, detail: Any = None, status: int | None = None) -> None:
        if status is not None:
            self.status = status
        self.detail = detail if detail is not None else self.default_detail()
        super().__init__(str(self.detail))

    def default_detail(self) -> Any:
        return "Bad request."

    def body(self) -> Any:
        return self.detail if isinstance(self.detail, dict | list) else {"detail": self.detail}

    def message(self) -> str:
        """The error as one line of text (a background job's failure reason)."""
        detail = self.detail
        if isinstance(detail, dict) and "detail" in detail:
            return str(detail["detail"])
        return str(detail)


class ValidationFailed(ApiError):
    status = 400

    @classmethod
    def field(cls, name: str, message: str) -> ValidationFailed:
        return cls({name: [message]})


class NotAuthenticated(ApiError):
    status = 401

    def default_detail(self) -> str:
        return "Authentication credentials were not provided."


class AuthenticationFailed(ApiError):
    status = 401

    def default_detail(self) -> str:
        return "Invalid credentials."


class PermissionDenied(ApiError):
    status = 403

    def default_detail(self) -> str:
        return "You do not have permission to perform this action."


class NotFound(ApiError):
    status = 404

    def default_detail(self) -> str:
        return "Not found."


class Conflict(ApiError):
    status = 409


class PayloadTooLarge(ApiError):
    status = 413

    def default_detail(self) -> str:
        return "The request body is too large."


class Throttled(ApiError):
    """429 with ``Retry-After``, in DRF's words (what CVAT answers when it throttles)."""

    status = 429

    def __init__(self, wait: int, reason: str = "") -> None:
        wait = max(1, wait)
        unit = "second" if wait == 1 else "seconds"
        super().__init__(f"Request was throttled.{reason} Expected available in {wait} {unit}.")
        self.wait = wait
        self.headers = {"Retry-After": str(wait)}


class ServiceUnavailable(ApiError):
    status = 503

    def default_detail(self) -> str:
        return "A backend this request needs is unavailable; try again later."
