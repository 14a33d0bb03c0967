"""JSON text of annotations, made fast: stored ``points`` go out as the database holds them,
equal attribute lists are encoded once, and a ``LabeledData`` answer is assembled from
pieces instead of walking 50,000 dicts through the generic encoder.

The encoder knows the fixed shape of tags, shapes and tracks (``annotations_output`` makes
them); ``test_json.py`` checks that its text parses back to exactly what ``json.dumps`` of
the same data would.
"""

from __future__ import annotations

import json
from typing import Any

_text = json.encoder.encode_basestring_ascii  # type: ignore[attr-defined]
_compact = json.JSONEncoder(separators=(",", ":")).encode

Row = dict[str, Any]


class RawJSON(str):
    """JSON text read from the database, sent on without being parsed."""


def points_text(points: list[float]) -> str:
    """A list of floats (already checked to be finite) as JSON; ``repr`` of a float is
    valid JSON for every finite value."""
    return "[" + ",".join(map(repr, points)) + "]"


class AttributeTexts:
    """Attribute lists as JSON, each distinct list object encoded once (the checker hands
    equal lists out as one shared object)."""

    def __init__(self) -> None:
        self._texts: dict[int, tuple[Any, str]] = {}

    def __call__(self, attributes: list[Row]) -> str:
        known = self._texts.get(id(attributes))
        if known is not None:
            return known[1]
        text = _compact(attributes)
        self._texts[id(attributes)] = (attributes, text)  # keeps the id from being reused
        return text


def _points(value: Any) -> str:
    if type(value) is RawJSON:
        return value
    return points_text([float(p) for p in value])


def _null(value: int | None) -> str:
    return "null" if value is None else str(value)


def _geometry(s: Row, attributes: AttributeTexts) -> str:
    return (f'"type":{_text(s["type"])},"occluded":{"true" if s["occluded"] else "false"},'
            f'"outside":{"true" if s["outside"] else "false"},"z_order":{s["z_order"]},'
            f'"rotation":{float(s["rotation"])!r},"points":{_points(s["points"])},'
            f'"attributes":{attributes(s["attributes"])}')


def _common(a: Row) -> str:
    return (f'"id":{_null(a.get("id"))},"frame":{a["frame"]},"label_id":{a["label_id"]},'
            f'"group":{_null(a["group"])},"source":{_text(a["source"])}')


def _shape(s: Row, attributes: AttributeTexts, top: bool) -> str:
    text = "{" + _common(s) + "," + _geometry(s, attributes)
    if s.get("score") is not None:
        text += f',"score":{float(s["score"])!r}'
    if top:
        text += ',"elements":[' + ",".join(
            _shape(e, attributes, False) for e in s.get("elements", ())) + "]"
    return text + "}"


def _tracked(s: Row, attributes: AttributeTexts) -> str:
    return "{" + f'"id":{_null(s.get("id"))},"frame":{s["frame"]},' + _geometry(s, attributes) \
        + "}"


def _track(t: Row, attributes: AttributeTexts, top: bool) -> str:
    text = ("{" + _common(t) + f',"attributes":{attributes(t["attributes"])},"shapes":['
            + ",".join(_tracked(s, attributes) for s in t["shapes"]) + "]")
    if top:
        text += ',"elements":[' + ",".join(
            _track(e, attributes, False) for e in t.get("elements", ())) + "]"
    return text + "}"


def _tag(t: Row, attributes: AttributeTexts) -> str:
    return "{" + _common(t) + f',"attributes":{attributes(t["attributes"])}' + "}"


def encode(data: Row) -> bytes:
    """``{version, tags, shapes, tracks}`` as JSON bytes."""
    attributes = AttributeTexts()
    parts = [
        f'{{"version":{int(data["version"])},"tags":[',
        ",".join(_tag(t, attributes) for t in data["tags"]),
        '],"shapes":[',
        ",".join(_shape(s, attributes, True) for s in data["shapes"]),
        '],"tracks":[',
        ",".join(_track(t, attributes, True) for t in data["tracks"]),
        "]}",
    ]
    return "".join(parts).encode()
