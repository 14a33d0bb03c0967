"""JSON text of annotations, with ``orjson``: stored ``points`` go out as the database holds
them (an ``orjson.Fragment`` is spliced in unparsed), equal attribute lists are encoded once
on the way in, and a ``LabeledData`` answer of 50,000 shapes is encoded in a fraction of the
time the standard library takes.
"""

from __future__ import annotations

from typing import Any

import orjson

Row = dict[str, Any]


def raw(text: str) -> orjson.Fragment:
    """JSON text read from the database, to be sent on without being parsed."""
    return orjson.Fragment(text)


def points_text(points: list[float]) -> str:
    """Coordinates (checked to be finite floats) as JSON text for the ``points`` column."""
    return orjson.dumps(points).decode()


class AttributeTexts:
    """Attribute lists as JSON text, each distinct list object encoded once (the checker
    hands equal lists out as one shared object)."""

    def __init__(self) -> None:
        self._texts: dict[int, tuple[Any, str]] = {}

    def __call__(self, attributes: list[Row]) -> str:
        known = self._texts.get(id(attributes))
        if known is not None:
            return known[1]
        text = orjson.dumps(attributes).decode()
        self._texts[id(attributes)] = (attributes, text)  # keeps the id from being reused
        return text


def encode(data: Row) -> bytes:
    """A ``LabeledData`` (or any JSON-safe value, fragments included) as JSON bytes."""
    return orjson.dumps(data)


def decode(text: str | bytes) -> Any:
    return orjson.loads(text)
