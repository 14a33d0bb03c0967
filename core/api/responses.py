"""JSON responses in CVAT's shape (ISO dates with ``Z``)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from starlette.responses import Response


def iso(value: datetime | None) -> str | None:
    """CVAT's date format; SQLite hands back naive datetimes, which are UTC here."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot serialize {type(value).__name__}")


class JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return json.dumps(content, separators=(",", ":"), default=_default).encode()


def no_content() -> Response:
    return Response(status_code=204)
