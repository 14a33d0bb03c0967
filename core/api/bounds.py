"""Limits on what a request may carry, declared once and read by the OpenAPI document
(``openapi_components`` builds its field schemas from these numbers) and by the endpoint
wrapper, which checks every JSON body against its operation's request schema
(``body_bounds.check_body``) and every JSON text for depth, NUL and lone surrogates
(``check_json``).

So an endpoint declared with ``Op(request="XRequest")`` refuses a too-long string, a too-big
number or a too-long list with a 400 naming the field and the limit before its handler runs,
and ``GET /api/schema`` states the same limits.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from itertools import accumulate
from typing import Any

from cvatcore.core.errors import ValidationFailed

#: PostgreSQL's ``integer``: every id and count column (SQLite's are wider; the two agree).
MAX_INT = 2**31 - 1
MIN_INT = -(2**31)
#: ``page`` at most this, so that ``(page - 1) * page_size`` fits PostgreSQL's ``bigint``.
MAX_PAGE = MAX_INT
#: Any text field that declares no smaller ``maxLength`` (descriptions, colors, svg, ...).
MAX_TEXT = 65_536
#: Labels in one request (a project's or task's ``labels``; each written in batches).
MAX_LABELS = 1_000
#: ``sort=a,-b,...``: terms in one sort.
MAX_SORT_TERMS = 10
#: Nesting of a JSON body (arrays and objects); CVAT's deepest (skeleton tracks) use ~8.
MAX_JSON_DEPTH = 32
#: Nesting of a ``filter`` (JSON Logic) and its length in characters.
MAX_FILTER_DEPTH = 16
MAX_FILTER_LENGTH = 16_384

NUL_MESSAGE = "NUL characters are not allowed in requests."
SURROGATE_MESSAGE = "Unpaired surrogate characters (\\ud800-\\udfff) are not allowed."


def int_bounds(name: str, value: int, minimum: int = 1, maximum: int = MAX_INT) -> int:
    """``value`` when ``minimum <= value <= maximum``, else a 400 naming ``name``."""
    if not minimum <= value <= maximum:
        raise ValidationFailed.field(
            name, f"Ensure this value is between {minimum} and {maximum}.")
    return value


# ------------------------------------------------------------------ JSON text

_ESCAPED_NUL = re.compile(rb"\\u0000")
_ESCAPED_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]", re.ASCII)
_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_DEPTH_STEP = bytes.maketrans(b"[{]}", b"\x01\x01\x02\x02")
_NOT_BRACKETS = bytes(c for c in range(256) if c not in b"[{]}")
_DELTA = {1: 1, 2: -1}


def check_json(text: bytes, value: Any, where: str | None = None,
               max_depth: int = MAX_JSON_DEPTH) -> None:
    """Refuse parsed JSON that nests deeper than ``max_depth`` or holds NUL or an unpaired
    surrogate (both only reachable through ``\\u`` escapes of the text, so text without
    them is not walked; PostgreSQL text cannot hold either, and SQLite's UTF-8 cannot hold
    a lone surrogate)."""
    if text.count(b"[") + text.count(b"{") > max_depth and _depth(text, max_depth) > max_depth:
        _fail(where, f"JSON nested deeper than {max_depth} levels is not accepted.")
    if _ESCAPED_NUL.search(text) and _any_string(value, lambda s: "\x00" in s):
        _fail(where, NUL_MESSAGE)
    if _ESCAPED_SURROGATE.search(text) and _any_string(value, has_surrogate):
        _fail(where, SURROGATE_MESSAGE)


def strict_constant(name: str) -> Any:
    """``json.loads(parse_constant=...)``: ``NaN`` and ``Infinity`` are not JSON (Python's
    parser takes them), and no column can hold them alike on both databases."""
    raise ValueError(f"{name} is not a JSON value")


def parse_depth_error(where: str | None, max_depth: int = MAX_JSON_DEPTH) -> ValidationFailed:
    """The 400 for JSON the parser itself refused as too deep (``RecursionError``)."""
    message = f"JSON nested deeper than {max_depth} levels is not accepted."
    return ValidationFailed({"detail": message} if where is None else {where: [message]})


def _fail(where: str | None, message: str) -> None:
    raise ValidationFailed({"detail": message} if where is None else {where: [message]})


def _depth(text: bytes, limit: int) -> int:
    """The deepest nesting of brackets, in C-speed passes over the text (a 10 MB body takes
    ~10 ms). Brackets inside strings are counted too at first; only when that count passes
    the limit are strings taken out and it is counted again, exactly. (Closing brackets in
    strings could hide depth from the first count: the parser's own recursion limit and the
    depth guards of ``check_body`` and the filter compiler stay behind it.)"""
    rough = _bracket_depth(text)
    return rough if rough <= limit else _bracket_depth(_STRINGS.sub(b"", text))


def _bracket_depth(text: bytes) -> int:
    steps = text.translate(_DEPTH_STEP, _NOT_BRACKETS)
    return max(accumulate(map(_DELTA.__getitem__, steps)), default=0)


def has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _any_string(value: Any, test: Callable[[str], bool]) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if test(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False
