"""Builds the OpenAPI 3 document (filled in below)."""

from typing import Any


def build_document(state: Any) -> dict[str, Any]:
    return {"openapi": "3.0.3", "info": {"title": "cvatcore", "version": "0"}, "paths": {}}
