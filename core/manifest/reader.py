"""Reading a manifest line by line (never the whole file at once), locally or from a bucket.

``ManifestReader(path).items()`` streams the items; ``offsets()`` gives each item's byte offset,
which is what CVAT's ``index.json`` holds, and ``item(n, offsets)`` seeks straight to one line.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import fsspec

from cvatcore.core.manifest.sources import is_url

HEADER_LINES = {"images": 2, "video": 3}
SUPPORTED_VERSIONS = ("1.0", "1.1")


class ManifestReadError(Exception):
    """The file is not a manifest; ``line`` is the 1-based line at fault (0: the whole file)."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}" if line else message)
        self.line = line
        self.message = message


@dataclass
class Header:
    version: str
    type: str  # "images" or "video"
    properties: dict[str, Any] = field(default_factory=dict)  # video only

    @property
    def lines(self) -> int:
        return HEADER_LINES[self.type]


class ManifestReader:
    """A manifest file (a path, or a URL with ``storage_options`` for fsspec)."""

    def __init__(self, path: str, storage_options: dict[str, Any] | None = None) -> None:
        self.path = path
        self._options = storage_options or {}

    def open(self) -> IO[bytes]:
        if is_url(self.path):
            return fsspec.open(self.path, "rb", **self._options).open()
        return open(self.path, "rb")  # noqa: SIM115 - the caller closes it

    def lines(self) -> Iterator[tuple[int, int, bytes]]:
        """``(line number from 1, byte offset, raw line without its newline)``."""
        with self.open() as f:
            offset = 0
            for number, raw in enumerate(f, start=1):
                yield number, offset, raw.rstrip(b"\r\n")
                offset += len(raw)

    def header(self) -> Header:
        """The header lines, checked the way CVAT's ``is_manifest`` checks them."""
        found: dict[str, Any] = {}
        wanted = ["version", "type"]
        for number, _, raw in self.lines():
            key = wanted[number - 1]
            found[key] = _one_key(number, parse_line(number, raw), key)
            _check_header_value(number, key, found[key])
            if key == "type" and found["type"] == "video":
                wanted.append("properties")
            if number == len(wanted):
                break
        if len(found) < len(wanted):
            raise ManifestReadError(0, f"the file ends before its '{wanted[len(found)]}' line")
        return Header(found["version"], found["type"], found.get("properties") or {})

    def items(self) -> Iterator[dict[str, Any]]:
        for _, _, item in self.numbered_items():
            yield item

    def numbered_items(self) -> Iterator[tuple[int, int, dict[str, Any]]]:
        """``(line number, byte offset, item)``, skipping the header and blank lines."""
        skip = self.header().lines
        for number, offset, raw in self.lines():
            if number <= skip or not raw.strip():
                continue
            yield number, offset, parse_line(number, raw)

    def offsets(self) -> list[int]:
        """Byte offset of each item's line: the content of CVAT's ``index.json``."""
        skip = self.header().lines
        return [off for number, off, raw in self.lines() if number > skip and raw.strip()]

    def item(self, number: int, offsets: list[int]) -> dict[str, Any]:
        if not 0 <= number < len(offsets):
            raise IndexError(f"item {number} is out of range 0..{len(offsets) - 1}")
        with self.open() as f:
            f.seek(offsets[number])
            return json.loads(f.readline())


def parse_line(number: int, raw: bytes) -> dict[str, Any]:
    try:
        obj = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ManifestReadError(number, f"not valid JSON ({exc})") from None
    if not isinstance(obj, dict):
        raise ManifestReadError(number, f"expected a JSON object, got {type(obj).__name__}")
    return obj


def _one_key(number: int, obj: dict[str, Any], key: str) -> Any:
    if key not in obj:
        raise ManifestReadError(number, f"expected the '{key}' header line, got {_keys(obj)}")
    return obj[key]


def _check_header_value(number: int, key: str, value: Any) -> None:
    if key == "version" and value not in SUPPORTED_VERSIONS:
        expected = " or ".join(SUPPORTED_VERSIONS)
        raise ManifestReadError(number, f"unsupported version {value!r}; expected {expected}")
    if key == "type" and value not in HEADER_LINES:
        raise ManifestReadError(number, f"unknown type {value!r}; expected 'images' or 'video'")
    if key == "properties" and not isinstance(value, dict):
        raise ManifestReadError(number, "'properties' must be an object")


def _keys(obj: dict[str, Any]) -> str:
    return "keys " + ", ".join(repr(k) for k in obj) if obj else "an empty object"


def load_index(path: str) -> list[int]:
    """An ``index.json`` as a list of offsets (item number -> byte offset)."""
    with open(path, "rb") as f:
        raw = json.load(f)
    return [raw[str(i)] for i in range(len(raw))]
