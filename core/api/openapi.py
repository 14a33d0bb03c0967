"""Builds the OpenAPI 3.0.3 document ``GET /api/schema`` serves.

Every operation comes from the same ``Op`` list the routes are registered from
(``operations.core_ops()``), so the document cannot drift from the server. Routes that other
plugins add through ``register_routes`` are listed too, with what little their registration
says (path, method, name). Component schemas live in ``openapi_components``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from cvatcore.core import __version__
from cvatcore.core.api.bounds import MAX_INT, MAX_PAGE, MIN_INT
from cvatcore.core.api.listing import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, ListSpec
from cvatcore.core.api.openapi_components import (
    ROLE_DESCRIPTION,
    Schema,
    component_schemas,
    paginated_name,
    ref,
)
from cvatcore.core.api.operations import ROUTES_PLUGIN, core_ops
from cvatcore.core.api.routing import Op
from cvatcore.core.api.server import CVAT_API_VERSION

JSON_TYPE = "application/json"
PATH_PARAM = re.compile(r"\{(\w+)(?::(\w+))?\}")
CONVERTOR_TYPES: dict[str, Schema] = {
    "int": {"type": "integer", "minimum": 0, "maximum": MAX_INT},
    "float": {"type": "number"},
    "uuid": {"type": "string", "format": "uuid"},
}
# The services behind these tags resolve the organization context of every request.
ORG_CONTEXT_TAGS = frozenset({
    "users", "organizations", "memberships", "invitations", "projects", "tasks", "jobs",
    "labels", "issues", "comments", "requests", "cloudstorages", "webhooks",
})

SECURITY_SCHEMES: dict[str, Schema] = {
    "sessionAuth": {"type": "apiKey", "in": "cookie", "name": "sessionid",
                    "description": "The session cookie `POST /api/auth/login` sets."},
    "csrfAuth": {"type": "apiKey", "in": "cookie", "name": "csrftoken",
                 "description": "Can be sent as a cookie or as the X-CSRFTOKEN header"},
    "csrfHeaderAuth": {"type": "apiKey", "in": "header", "name": "X-CSRFToken",
                       "description": "Unsafe requests of a session must echo `csrftoken`."},
    "tokenAuth": {"type": "apiKey", "in": "header", "name": "Authorization",
                  "description": "`Token <key>`, with the key `POST /api/auth/login` returns.",
                  "x-token-prefix": "Token"},
    "accessTokenAuth": {"type": "http", "scheme": "bearer",
                        "description": "A personal access token (`/api/auth/access_tokens`)."},
    "basicAuth": {"type": "http", "scheme": "basic"},
}
SECURITY: list[dict[str, list[str]]] = [
    {"sessionAuth": [], "csrfAuth": [], "csrfHeaderAuth": []},
    {"tokenAuth": []},
    {"accessTokenAuth": []},
    {"basicAuth": []},
]

ERRORS: dict[int, tuple[str, str]] = {
    400: ("Invalid request, check the response data for details", "ValidationError"),
    401: ("Missing or invalid credentials", "ErrorDetail"),
    403: ("Not allowed", "ErrorDetail"),
    404: ("Not found", "ErrorDetail"),
    405: ("The format is disabled on this server", "ErrorDetail"),
    409: ("Conflicts with the current state (an upload offset, a request already queued)",
          "ErrorDetail"),
    413: ("The request body is larger than the server accepts", "ErrorDetail"),
    429: ("Too many failed sign-ins: try again after Retry-After seconds", "ErrorDetail"),
    502: ("The model server answered with an error", "ErrorDetail"),
    503: ("A backend the request needs (such as a sign-in directory) is unavailable",
          "ErrorDetail"),
    504: ("The model server did not answer in time", "ErrorDetail"),
}

ORG_PARAMS: list[Schema] = [
    {"name": "X-Organization", "in": "header", "schema": {"type": "string"},
     "description": "Organization unique slug (empty: the personal workspace)"},
    {"name": "org", "in": "query", "schema": {"type": "string"},
     "description": "Organization unique slug"},
    {"name": "org_id", "in": "query", "allowEmptyValue": True,
     "schema": {"type": "integer", "minimum": 1, "maximum": MAX_INT},
     "description": "Organization identifier (empty: the personal workspace)"},
]
PAGE_PARAMS: list[Schema] = [
    {"name": "page", "in": "query", "required": False,
     "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
     "description": "A page number within the paginated result set."},
    {"name": "page_size", "in": "query", "required": False,
     "schema": {"oneOf": [{"type": "integer", "minimum": 1, "maximum": MAX_INT},
                          {"type": "string", "enum": ["all"]}]},
     "description": f"Number of results to return per page (default {DEFAULT_PAGE_SIZE}, "
                    f"at most {MAX_PAGE_SIZE}: more is served as {MAX_PAGE_SIZE}; "
                    "`all` for every row)."},
]
# Query parameters whose values are limited, whatever list they filter.
PARAM_SCHEMAS: dict[str, Schema] = {
    "role": {"type": "string", "enum": ["worker", "supervisor", "maintainer", "owner"],
             "description": ROLE_DESCRIPTION},
    "seconds": {"type": "number", "description": "End the event stream after this many "
                                                 "seconds (0: one look at the queue)"},
}


def build_document(state: Any) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    referenced: set[str] = set()
    for op in core_ops():
        path, item = _operation(op, referenced)
        paths.setdefault(path, {})[op.method.lower()] = item
    for path, method, name, plugin in _plugin_routes(state):
        path, params = _openapi_path(path)
        paths.setdefault(path, {}).setdefault(method.lower(), _plugin_operation(
            method, path, name, plugin, params))
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "CVAT REST API",
            "version": CVAT_API_VERSION,
            "description": f"REST API of cvatcore {__version__}, a CVAT-compatible server",
            "license": {"name": "MIT License", "url": "https://opensource.org/license/mit"},
        },
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": component_schemas(referenced),
            "securitySchemes": SECURITY_SCHEMES,
        },
        "security": SECURITY,
        "tags": [{"name": tag} for tag in sorted({op.tag for op in core_ops()})],
    }


def _openapi_path(path: str) -> tuple[str, list[Schema]]:
    """Starlette's ``/x/{id:int}`` as ``/x/{id}``, with its path parameters."""
    params = [
        {"name": name, "in": "path", "required": True,
         "schema": dict(CONVERTOR_TYPES.get(convertor or "str", {"type": "string"})),
         "description": f"The {name} of the object."}
        for name, convertor in PATH_PARAM.findall(path)
    ]
    return PATH_PARAM.sub(r"{\1}", path), params


def operation_parameters(op: Op) -> tuple[str, list[Schema]]:
    """The OpenAPI path of ``op`` and every parameter it declares (path, organization, query
    and paging): what the document shows and what the endpoint checks queries against."""
    path, params = _openapi_path(op.path)
    if op.tag in ORG_CONTEXT_TAGS:
        params += ORG_PARAMS
    spec: ListSpec | None = op.extra.get("list_spec")
    params += [_query_param(name, spec) for name in op.params]
    if op.paginated:
        params += PAGE_PARAMS
    return path, params


def _operation(op: Op, referenced: set[str]) -> tuple[str, dict[str, Any]]:
    path, params = operation_parameters(op)
    item: dict[str, Any] = {"operationId": op.operation_id, "summary": op.summary,
                            "tags": [op.tag]}
    if params:
        item["parameters"] = params
    if op.request:
        referenced.add(op.request)
        item["requestBody"] = {
            "content": {JSON_TYPE: {"schema": ref(op.request)}},
            "required": not op.request.startswith("Patched"),
        }
    security = op.extra.get("security", SECURITY)
    item["security"] = [*security, {}] if op.public else list(security)
    item["responses"] = _responses(op, path, referenced, bool(params))
    return path, item


def _responses(op: Op, path: str, referenced: set[str], has_params: bool) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    schema: Schema | None = op.extra.get("response_schema")
    if op.response:
        name = paginated_name(op.response) if op.paginated else op.response
        referenced.update({op.response, name})
        schema = ref(name)
    if schema is not None:
        media_type = op.extra.get("media_type", JSON_TYPE)  # binary answers: images, chunks
        responses[str(op.status)] = {"description": "", "content": {media_type: {"schema": schema}}}
    else:
        responses[str(op.status)] = {"description": "No response body"}
    for code, description in op.extra.get("no_body_statuses", {}).items():
        responses[str(code)] = {"description": description}  # e.g. 204: nothing to show
    for code, (description, body) in op.extra.get("json_statuses", {}).items():
        responses[str(code)] = {"description": description,  # e.g. 202: {"query_id"}
                                "content": {JSON_TYPE: {"schema": body}}}
    codes = set()
    if op.request or has_params or op.method != "GET":
        codes.add(400)
    if op.authenticate:
        codes |= {401, 403}
    if "{" in path or op.tag in ORG_CONTEXT_TAGS or op.paginated:
        codes.add(404)  # no such object, organization or page
    codes.update(op.extra.get("errors", ()))
    for code in sorted(codes):
        description, component = ERRORS[code]
        referenced.add(component)
        responses[str(code)] = {
            "description": description, "content": {JSON_TYPE: {"schema": ref(component)}},
        }
    return responses


def _query_param(name: str, spec: ListSpec | None) -> Schema:
    if name in PARAM_SCHEMAS:
        schema = dict(PARAM_SCHEMAS[name])
        description = schema.pop("description", f"A simple equality filter for the {name} field")
        return {"name": name, "in": "query", "required": False, "schema": schema,
                "description": description}
    fields = list(spec.fields) if spec else []
    descriptions = {
        "filter": "JSON Logic filter, e.g. "
                  '`{"and":[{"==":[{"var":"name"},"x"]}]}`. Available filter_fields: '
                  f"{list(spec.filter_fields or fields) if spec else fields}.",
        "search": f"A search term. Available search_fields: {list(spec.search) if spec else []}",
        "sort": "Which field to use when ordering the results (`-` for descending). "
                f"Available ordering_fields: {list(spec.sort_fields or fields) if spec else []}",
    }
    schema = _column_schema(spec.fields.get(name)) if spec else {"type": "string"}
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": descriptions.get(name, f"A simple equality filter for the {name} field")}


def _column_schema(column: Any) -> Schema:
    """The JSON type of a filterable column (simple filters compare it with the value)."""
    try:
        python_type = column.type.python_type
    except (AttributeError, NotImplementedError):
        return {"type": "string"}
    if python_type is bool:
        return {"type": "boolean"}
    if python_type is int:  # a filter value past the column's range could match nothing
        return {"type": "integer", "minimum": MIN_INT, "maximum": MAX_INT}
    if python_type is datetime:
        return {"type": "string", "format": "date-time"}
    return {"type": "string"}


def _plugin_routes(state: Any) -> Iterable[tuple[str, str, str | None, str]]:
    """(path, method, name, plugin) of each route a plugin other than the core API adds: the
    registrations the app was built from, not a second ``register_routes`` call."""
    from cvatcore.core.registration import route_methods

    registrations = getattr(state, "registrations", None)
    if registrations is None:
        return []
    return [
        (reg.name, method, reg.options.get("name"), reg.plugin)
        for reg in registrations.of("register_routes") if reg.plugin != ROUTES_PLUGIN
        for method in route_methods(reg)
    ]


def _plugin_operation(
    method: str, path: str, name: str | None, plugin: str, params: list[Schema]
) -> dict[str, Any]:
    slug = re.sub(r"\W+", "_", f"{method.lower()}_{path}").strip("_")
    item: dict[str, Any] = {
        "operationId": name or slug,
        "summary": f"Added by the {plugin} plugin",
        "tags": [plugin],
        "responses": {"default": {"description": f"Defined by the {plugin} plugin"}},
    }
    if params:
        item["parameters"] = params
    return item
