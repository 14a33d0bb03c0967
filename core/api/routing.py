"""How core handlers are declared: one ``Op`` per path and method, with what the OpenAPI
document says about it (``schema.py`` reads the same list, so the two cannot drift apart).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cvatcore.core.api.context import Handler


@dataclass(frozen=True)
class Op:
    method: str
    path: str
    handler: Handler
    operation_id: str
    tag: str
    summary: str = ""
    request: str | None = None  # component name of the JSON body
    response: str | None = None  # component name of the 2xx body
    status: int = 200
    paginated: bool = False
    authenticate: bool = True
    public: bool = False  # reachable without signing in
    params: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)
