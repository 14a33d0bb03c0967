"""A big JSON object read as a stream of its top-level members, for importers.

``json``'s C scanner (``JSONDecoder.raw_decode``) decodes one value at a time out of a text
buffer refilled a chunk at a time, so a member named in ``spread`` (COCO's ``annotations``)
comes one element at a time and the file is never in memory whole: memory follows the
largest single element, not the file, at the speed of ``json.loads`` (a pure-Python event
parser such as ijson's Python backend is several times slower, and its C backend would be
one more compiled dependency for no gain over the scanner the standard library has)."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from typing import IO, Any

from cvatcore.hooks.datasets import DatasetFormatError

CHUNK = 1 << 20
_SPACE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


class _Buffer:
    def __init__(self, stream: IO[bytes], name: str) -> None:
        self.reader = io.TextIOWrapper(stream, "utf-8", errors="strict")
        self.name = name
        self.text, self.pos, self.eof = "", 0, False
        self.line = 1  # of ``text[0]``

    def _more(self) -> bool:
        if self.eof:
            return False
        try:
            chunk = self.reader.read(CHUNK)
        except (UnicodeDecodeError, OSError, EOFError, ValueError) as exc:
            raise DatasetFormatError(f"{self.name}: cannot be read ({exc})") from None
        if not chunk:
            self.eof = True
            return False
        self.line += self.text.count("\n", 0, self.pos)
        self.text = self.text[self.pos:] + chunk
        self.pos = 0
        return True

    def bad(self, problem: str) -> DatasetFormatError:
        line = self.line + self.text.count("\n", 0, self.pos)
        return DatasetFormatError(f"{self.name}: not valid JSON (line {line}: {problem})")

    def peek(self) -> str:
        while True:
            self.pos = _SPACE.match(self.text, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.text) or not self._more():
                return self.text[self.pos:self.pos + 1]

    def expect(self, chars: str) -> str:
        found = self.peek()
        if not found or found not in chars:
            what = repr(found) if found else "the end of the file"
            raise self.bad(f"expected {' or '.join(map(repr, chars))}, found {what}")
        self.pos += 1
        return found

    def value(self) -> Any:
        self.peek()
        while True:
            try:
                value, end = _DECODER.raw_decode(self.text, self.pos)
            except json.JSONDecodeError as exc:
                if self._more():  # the value may only be cut by the chunk's end
                    continue
                raise self.bad(exc.msg) from None
            if end == len(self.text) and self._more():  # a number may go on: read on
                continue
            self.pos = end
            return value


    def elements(self) -> Iterator[Any]:
        """The elements of the array whose ``[`` was read, up to its ``]``. Where an element
        and its ``,`` lie whole in the buffer with no space around them (files written
        compactly) it is scanned straight away; anything else goes the careful way
        (``value``, ``expect``: spaces, a chunk's end, errors)."""
        scan = _DECODER.scan_once
        while True:
            text, pos = self.text, self.pos
            try:
                value, end = scan(text, pos)
            except (StopIteration, json.JSONDecodeError):
                end = -1
            if 0 <= end < len(text) - 1:
                self.pos = end
            else:  # not scanned, or it may go on past the buffer: read it carefully
                value = self.value()
            yield value
            separator = self.text[self.pos:self.pos + 1]
            if separator == ",":
                self.pos += 1
            elif separator == "]":
                self.pos += 1
                return
            elif self.expect(",]") == "]":
                return


#: The value ``members`` gives for the start of a spread array, before its elements.
ARRAY = object()


def members(stream: IO[bytes], name: str, spread: frozenset[str] = frozenset()
            ) -> Iterator[tuple[str, Any]]:
    """``(key, value)`` of each member of the top-level object, in file order; a member in
    ``spread`` whose value is an array comes as ``(key, ARRAY)`` then ``(key, element)``
    per element instead."""
    buffer = _Buffer(stream, name)
    buffer.expect("{")
    if buffer.peek() == "}":
        return
    while True:
        key = buffer.value()
        if not isinstance(key, str):
            raise buffer.bad("a key must be a string")
        buffer.expect(":")
        if key in spread and buffer.peek() == "[":
            buffer.pos += 1
            yield key, ARRAY  # the array's start: an empty one is still there
            if buffer.peek() != "]":
                for value in buffer.elements():
                    yield key, value
            else:
                buffer.pos += 1
        else:
            yield key, buffer.value()
        if buffer.expect(",}") == "}":
            break
    if buffer.peek():
        raise buffer.bad("more after the object")
