"""JSON responses in CVAT's shape (ISO dates with ``Z``)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
from starlette.responses import Response

_ZERO = timedelta(0)


def iso(value: datetime | None) -> str | None:
    """CVAT's date format; SQLite hands back naive datetimes, which are UTC here."""
    if value is None:
        return None
    # The same text as ``value.astimezone(UTC).isoformat()`` with ``Z`` for ``+00:00``,
    # without building a converted copy when the value is already UTC (lists call this
    # twice per row).
    offset = value.utcoffset()
    if offset is None:
        return value.isoformat() + "Z"
    if offset == _ZERO:
        return value.isoformat()[:-6] + "Z"
    return value.astimezone(UTC).isoformat()[:-6] + "Z"


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot serialize {type(value).__name__}")


# One encoder for every response (``json.dumps`` with options builds one per call).
_encode = json.JSONEncoder(separators=(",", ":"), default=_default).encode


class JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return _encode(content).encode()


class FastJSON(JSON):
    """JSON through orjson, for large bodies of plain values (a 1,000-event echo): the
    same JSON values as ``JSON``, with non-ASCII text as UTF-8 rather than ``\\u`` escapes."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, default=_default)


def no_content() -> Response:
    return Response(status_code=204)
