"""The stand-in's reading of Drive's ``q`` search syntax and ``fields`` masks.

Only what Drive v3 documents and the plug-in sends is understood: ``'<id>' in parents``,
``name``/``mimeType`` with ``=``, ``!=`` and ``contains``, ``trashed = true|false``, joined
with ``and``/``or``/``not`` and parentheses. Anything else is a 400, as Drive answers for a
query it cannot parse.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^'\\]|\\.)*')|(?P<op>!=|=|\(|\))|(?P<word>[A-Za-z_]+))")


class QueryError(ValueError):
    """The ``q`` parameter is not a query the stand-in (and Drive) accepts."""


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise QueryError(f"Invalid query near {text[pos:pos + 20]!r}")
        kind = match.lastgroup or ""
        value = match.group(kind)
        if kind == "str":
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        out.append((kind, value))
        pos = match.end()
    return out


Predicate = Callable[[dict[str, Any]], bool]


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.pos = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise QueryError("Invalid query: unexpected end")
        self.pos += 1
        return token

    def expr(self) -> Predicate:
        left = self.conj()
        while self.peek() == ("word", "or"):
            self.take()
            right, prev = self.conj(), left
            left = lambda f, a=prev, b=right: a(f) or b(f)  # noqa: E731
        return left

    def conj(self) -> Predicate:
        left = self.term()
        while self.peek() == ("word", "and"):
            self.take()
            right, prev = self.term(), left
            left = lambda f, a=prev, b=right: a(f) and b(f)  # noqa: E731
        return left

    def term(self) -> Predicate:
        kind, value = self.take()
        if (kind, value) == ("word", "not"):
            inner = self.term()
            return lambda f: not inner(f)
        if (kind, value) == ("op", "("):
            inner = self.expr()
            if self.take() != ("op", ")"):
                raise QueryError("Invalid query: missing ')'")
            return inner
        if kind == "str":
            if self.take() != ("word", "in") or self.take() != ("word", "parents"):
                raise QueryError("Invalid query: only '<id>' in parents is supported")
            return lambda f, pid=value: pid in f["parents"]
        return self.comparison(value)

    def comparison(self, field: str) -> Predicate:
        op_kind, op = self.take()
        val_kind, val = self.take()
        if field == "trashed" and op == "=" and val in ("true", "false"):
            return lambda f, want=(val == "true"): f["trashed"] is want
        if field not in ("name", "mimeType") or val_kind != "str":
            raise QueryError(f"Invalid query: unsupported term {field} {op}")
        if op == "=":  # Drive compares names without regard to case
            return lambda f: f[field].lower() == val.lower()
        if op == "!=":
            return lambda f: f[field].lower() != val.lower()
        if (op_kind, op) == ("word", "contains") and field == "name":
            # Drive: "contains" on a name only matches name prefixes (whole-word starts).
            return lambda f: f[field].lower().startswith(val.lower())
        if (op_kind, op) == ("word", "contains"):
            return lambda f: val.lower() in f[field].lower()
        raise QueryError(f"Invalid query: unsupported operator {op}")


def parse_query(text: str) -> Predicate:
    """A predicate over stand-in file records for Drive's ``q`` text."""
    parser = _Parser(text)
    predicate = parser.expr()
    if parser.peek() is not None:
        raise QueryError(f"Invalid query near {parser.peek()[1]!r}")
    return predicate


def parse_fields(mask: str) -> dict[str, Any]:
    """``"nextPageToken,files(id,name)"`` -> ``{"nextPageToken": {}, "files": {"id": {}, ...}}``."""
    out: dict[str, Any] = {}
    stack = [out]
    name = ""
    for char in mask + ",":
        if char in ",()":
            if name.strip():
                stack[-1][name.strip()] = {}
            if char == "(":
                stack.append(stack[-1][name.strip()])
            elif char == ")":
                stack.pop()
            name = ""
        else:
            name += char
    return out


def apply_fields(obj: dict[str, Any], mask: dict[str, Any]) -> dict[str, Any]:
    """Keep only the masked keys (``*`` keeps everything); nested masks apply to lists too."""
    if "*" in mask:
        return obj
    out: dict[str, Any] = {}
    for key, sub in mask.items():
        if key not in obj:
            continue
        value = obj[key]
        if sub and isinstance(value, list):
            value = [apply_fields(item, sub) for item in value]
        elif sub and isinstance(value, dict):
            value = apply_fields(value, sub)
        out[key] = value
    return out
