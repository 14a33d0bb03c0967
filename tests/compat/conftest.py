"""Fixtures for the compatibility suite: a checker that validates real answers against the
server's own OpenAPI document, and a real ``cvatcore serve`` process for CVAT's clients."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest

from cvatcore.hooks.testing.live import LiveServer, serve_with_admin


def to_json_schema(node: Any) -> Any:
    """An OpenAPI 3.0 schema as JSON Schema: ``nullable`` becomes a ``null`` alternative, and
    objects that list their properties refuse any other (so an undocumented field fails)."""
    if isinstance(node, list):
        return [to_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: to_json_schema(v) for k, v in node.items() if k != "nullable"}
    if node.get("type") == "object" and "properties" in node:
        out.setdefault("additionalProperties", False)
    if node.get("nullable"):
        return {"anyOf": [out, {"type": "null"}]}
    return out


FORMATS = jsonschema.FormatChecker(formats=())


@FORMATS.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    if isinstance(value, str):
        datetime.fromisoformat(value)
        if not re.search(r"(Z|[+-]\d\d:\d\d)$", value):
            raise ValueError(f"{value!r} has no time zone")
    return True


@FORMATS.checks("uri", raises=ValueError)
def _uri(value: object) -> bool:
    if isinstance(value, str) and not urlsplit(value).scheme:
        raise ValueError(f"{value!r} is not an absolute URI")
    return True


@FORMATS.checks("email")
def _email(value: object) -> bool:
    return not isinstance(value, str) or "@" in value


@dataclass
class SchemaChecker:
    """Finds the operation a request hit and validates bodies against the document."""

    document: dict[str, Any]

    def __post_init__(self) -> None:
        self.components = to_json_schema(self.document["components"])
        self.templates = [
            (re.compile("^" + re.sub(r"\{\w+\}", "[^/]+", path) + "$"), path)
            for path in self.document["paths"]
        ]

    def operation(self, method: str, url: str) -> tuple[str, dict[str, Any]]:
        path = urlsplit(url).path
        matches = [tpl for rx, tpl in self.templates if rx.match(path)]
        # A literal segment wins over a parameter (``/access_tokens/self`` over ``/{id}``).
        matches.sort(key=lambda tpl: tpl.count("{"))
        for template in matches:
            operation = self.document["paths"][template].get(method.lower())
            if operation is not None:
                return template, operation
        raise AssertionError(f"{method} {path} is not in the OpenAPI document")

    def validate(self, schema: dict[str, Any], instance: Any, where: str) -> None:
        root = {"components": self.components, "allOf": [to_json_schema(schema)]}
        validator = jsonschema.Draft202012Validator(root, format_checker=FORMATS)
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
        assert not errors, f"{where}: " + "; ".join(
            f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]
        )

    def check(self, method: str, url: str, status: int, body: bytes, content_type: str,
              request_json: Any = None) -> None:
        template, operation = self.operation(method, url)
        where = f"{method} {template} -> {status}"
        # A body the server accepted must be one the document allows.
        if request_json is not None and "requestBody" in operation and status < 400:
            schema = operation["requestBody"]["content"]["application/json"]["schema"]
            self.validate(schema, request_json, f"{where} (request body)")
        responses = operation["responses"]
        assert str(status) in responses, f"{where}: status not documented ({list(responses)})"
        content = responses[str(status)].get("content")
        if content is None:
            assert not body, f"{where}: documented without a body but returned {body[:200]!r}"
            return
        if "application/json" not in content:  # a binary answer: frames, chunks, previews
            kinds = [k.split("/")[0] for k in content]
            assert any(k == "*" or content_type.startswith(k + "/") for k in kinds) or any(
                content_type.startswith(k) for k in content), f"{where}: {content_type}"
            return
        assert content_type.startswith("application/json"), f"{where}: {content_type}"
        self.validate(content["application/json"]["schema"], json.loads(body), where)


class CheckedClient:
    """Wraps an ``ApiClient``: every answer is validated against the document, then returned."""

    def __init__(self, client: Any, checker: SchemaChecker) -> None:
        self.client, self.checker, self.checked = client, checker, []

    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        response = self.client.request(method, url, **kwargs)
        self.checker.check(method, url, response.status_code, response.content,
                           response.headers.get("content-type", ""), kwargs.get("json"))
        self.checked.append((method, self.checker.operation(method, url)[0],
                             response.status_code))
        return response

    def get(self, url: str, **kwargs: Any) -> Any:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> Any:
        return self.request("POST", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> Any:
        return self.request("PATCH", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> Any:
        return self.request("DELETE", url, **kwargs)


@pytest.fixture
def checked(cvatcore_app: Any) -> Iterator[Any]:
    """``checked(client)``: a ``CheckedClient`` over ``client`` using the app's own document."""
    from cvatcore.core.api.openapi import build_document

    checker = SchemaChecker(build_document(cvatcore_app.state.cvatcore))
    yield lambda client: CheckedClient(client, checker)


# ---------------------------------------------------------------- a real server process


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """``cvatcore serve`` on a free port, with a fresh SQLite database and one administrator."""
    with serve_with_admin(tmp_path_factory.mktemp("live-server")) as live:
        yield live
