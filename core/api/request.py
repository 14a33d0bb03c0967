"""One request as handlers see it (``Ctx``): its HTTP parts and the caller value services take.

Kept apart from the endpoint wrapper (``core/api/context.py``) so that the authentication
module, which fills in a ``Ctx``, and the wrapper, which calls it, import it without a cycle.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, BinaryIO
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response

from cvatcore.core.api.body_bounds import check_body
from cvatcore.core.api.bounds import (
    NUL_MESSAGE,
    check_json,
    int_bounds,
    parse_depth_error,
    strict_constant,
)
from cvatcore.core.db.engine import Work
from cvatcore.core.errors import ValidationFailed
from cvatcore.core.models import User
from cvatcore.core.services.caller import NO_CONTEXT, SANDBOX, Caller
from cvatcore.core.state import AppState

__all__ = ["NUL_MESSAGE", "Ctx", "Handler"]


@dataclass
class Ctx:
    """One request as its handler sees it: the HTTP parts (the Starlette request, the body,
    the credentials found, cookies to set) and ``caller``, the value services take."""

    request: Request
    body: bytes
    work: Work
    state: AppState
    request_id: str
    user: User | None = None
    auth_method: str | None = None
    csrf_token: str | None = None
    read_only_token: bool = False
    #: The spooled request body of a ``stream_body`` endpoint (an open temporary file at
    #: offset 0), when it is not JSON; ``body`` is then empty. Closed after the handler.
    body_file: BinaryIO | None = None
    response_cookies: list[tuple[str, str | None, dict[str, Any]]] = field(default_factory=list)
    #: The component schema of the operation's JSON body, whose bounds ``data`` checks.
    body_schema: str | None = None
    #: Whether the request's own transaction may write: false for an operation that
    #: manages its own (``endpoint(own_transactions=True)``), which reads in it and writes
    #: in short transactions of its own.
    writes: bool = True
    _caller: Caller | None = field(default=None, repr=False)

    @property
    def caller(self) -> Caller:
        """Who acts, for the services: the signed-in user (as it is now: a sign-in handler
        changes ``user``), the organization the request chose, its id and unit of work."""
        caller = self._caller
        if caller is None or caller.user is not self.user:
            caller = self._caller = Caller(
                self.state, self.work, self.user, self.request_id, self.organization,
                base_url=str(self.request.base_url).rstrip("/"),
            )
        return caller

    @cached_property
    def organization(self) -> str | int | None:
        """CVAT's organization context: ``X-Organization: <slug>``, else ``?org=<slug>`` or
        ``?org_id=<id>``; an empty value is the personal sandbox, none at all no context."""
        slug = self.request.headers.get("x-organization")
        if slug is None:
            slug = self.query.get("org")
        org_id = self.query.get("org_id")
        if slug:
            return slug
        if org_id:
            if not (org_id.isascii() and org_id.isdigit()) or len(org_id) > 10:
                raise ValidationFailed.field("org_id", "A valid integer is required.")
            return int_bounds("org_id", int(org_id))
        if slug is None and org_id is None:
            return NO_CONTEXT
        return SANDBOX

    @property
    def method(self) -> str:
        return self.request.method

    @property
    def query(self) -> Any:
        return self.request.query_params

    @property
    def path_params(self) -> dict[str, Any]:
        return self.request.path_params

    @cached_property
    def data(self) -> dict[str, Any]:
        """The JSON (or form) body as a dict; a 400 when it is neither."""
        if not self.body:
            return {}
        ctype = self.request.headers.get("content-type", "")
        if ctype.startswith("application/x-www-form-urlencoded"):
            form = dict(parse_qsl(self.body.decode("utf-8", "replace")))
            if any("\x00" in k + v for k, v in form.items()):
                raise ValidationFailed({"detail": NUL_MESSAGE})
            return form
        try:
            value = json.loads(self.body, parse_constant=strict_constant)
        except RecursionError:
            raise parse_depth_error(None) from None
        except (ValueError, UnicodeDecodeError):
            raise ValidationFailed({"detail": "The request body is not valid JSON."}) from None
        check_json(self.body, value)
        if not isinstance(value, dict):
            raise ValidationFailed({"detail": "The request body must be a JSON object."})
        if self.body_schema is not None:
            check_body(self.body_schema, value)
        return value

    def set_cookie(self, name: str, value: str | None, **options: Any) -> None:
        self.response_cookies.append((name, value, options))


Handler = Callable[[Ctx], Response]
