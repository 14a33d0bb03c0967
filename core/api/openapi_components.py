"""``components/schemas`` of the OpenAPI document: the JSON shapes the core handlers take and
return (``serializers.py``, ``auth.py``, ``server.py``), named and typed as in CVAT's own schema
(the one cvat-sdk is generated from) wherever the two overlap.

Response components list as ``required`` every field our serializers always write, which is
stricter than CVAT's schema (so any client of CVAT's accepts them); request components list
what the handlers insist on.
"""

from __future__ import annotations

from typing import Any

from cvatcore.core.api.bounds import MAX_INT, MAX_TEXT, MIN_INT
from cvatcore.core.iam.roles import ORG_ROLES, SYSTEM_ROLES

Schema = dict[str, Any]

# Every number and text has a bound (``bounds.py``): PostgreSQL's ``integer`` and
# ``MAX_TEXT``, unless a field declares a smaller one. Request bodies are checked against them.
STRING: Schema = {"type": "string", "maxLength": MAX_TEXT}
INTEGER: Schema = {"type": "integer", "minimum": MIN_INT, "maximum": MAX_INT}
#: An object's id (path parameters, references in bodies).
ID_REF: Schema = {"type": "integer", "minimum": 0, "maximum": MAX_INT}
BOOLEAN: Schema = {"type": "boolean"}
DATE_TIME: Schema = {"type": "string", "format": "date-time"}
URI: Schema = {"type": "string", "format": "uri"}
USERNAME: Schema = {"type": "string", "maxLength": 150, "pattern": r"^[\w.@+-]+$"}
SLUG: Schema = {"type": "string", "pattern": "^[-a-zA-Z0-9_]+$"}


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema) -> Schema:
    """OpenAPI 3.0 ``nullable``; a ``$ref`` cannot carry siblings, so it goes into ``allOf``."""
    if "$ref" in schema:
        return {"allOf": [schema], "nullable": True}
    return {**schema, "nullable": True}


def read_only(schema: Schema) -> Schema:
    if "$ref" in schema:
        return {"allOf": [schema], "readOnly": True}
    return {**schema, "readOnly": True}


def string(**constraints: Any) -> Schema:
    return {"type": "string", "maxLength": MAX_TEXT, **constraints}


def array(items: Schema, **constraints: Any) -> Schema:
    return {"type": "array", "items": items, **constraints}


def obj(properties: dict[str, Schema], required: Any = (), **extra: Any) -> Schema:
    """An object schema; ``required="all"`` marks every property as always present."""
    names = list(properties) if required == "all" else list(required)
    schema: Schema = {"type": "object", "properties": properties}
    if names:
        schema["required"] = names
    return {**schema, **extra}


def enum(values: tuple[str, ...] | list[str], description: str = "") -> Schema:
    schema: Schema = {"type": "string", "enum": list(values)}
    if description:
        schema["description"] = description
    return schema


def paginated(item: str) -> Schema:
    """CVAT's page wrapper (``Paginated<Item>List``)."""
    return obj(
        {
            "count": {"type": "integer", "example": 123},
            "next": nullable({**URI, "example": "http://api.example.org/accounts/?page=4"}),
            "previous": nullable({**URI, "example": "http://api.example.org/accounts/?page=2"}),
            "results": array(ref(item)),
        },
        required="all",
    )


def paginated_name(item: str) -> str:
    return f"Paginated{item}List"


_BASIC_USER_FIELDS: dict[str, Schema] = {
    "url": read_only(URI),
    "id": read_only(INTEGER),
    "username": USERNAME,
    "first_name": string(maxLength=150),
    "last_name": string(maxLength=150),
}

_USER_FIELDS: dict[str, Schema] = {
    **_BASIC_USER_FIELDS,
    "email": string(format="email", maxLength=254),
    "groups": array(enum(SYSTEM_ROLES)),
    "is_staff": BOOLEAN,
    "is_superuser": BOOLEAN,
    "is_active": BOOLEAN,
    "last_login": read_only(nullable(DATE_TIME)),
    "date_joined": read_only(DATE_TIME),
    "has_analytics_access": read_only(nullable(BOOLEAN)),
}

_ACCESS_TOKEN_FIELDS: dict[str, Schema] = {
    "id": read_only(INTEGER),
    "name": read_only(string(maxLength=255)),
    "created_date": read_only(DATE_TIME),
    "updated_date": read_only(DATE_TIME),
    "expiry_date": read_only(nullable(DATE_TIME)),
    "last_used_date": read_only(nullable(DATE_TIME)),
    "read_only": read_only(BOOLEAN),
    "owner": ref("BasicUser"),
}

_ORG_WRITE_FIELDS: dict[str, Schema] = {
    "slug": {**SLUG, "minLength": 1, "maxLength": 16},
    "name": string(maxLength=64),
    "description": STRING,
    "contact": {"type": "object", "additionalProperties": {}},
}

_ACCESS_TOKEN_WRITE_FIELDS: dict[str, Schema] = {
    "name": string(minLength=1, maxLength=255),
    "expiry_date": nullable(DATE_TIME),
    "read_only": BOOLEAN,
}

_PLUGIN_INFO = obj(
    {
        "name": STRING,
        "distribution": STRING,
        "version": STRING,
        "builtin": BOOLEAN,
        "hooks": array(STRING),
        "providers": {"type": "object", "additionalProperties": array(STRING),
                      "description": "Provider names this plugin registered, by kind."},
        "registered": {"type": "object", "additionalProperties": array(STRING),
                       "description": "What else this plugin registered, by hook (job_kinds, "
                                      "routes as 'METHOD path', migrations, ...)."},
    },
    required="all",
)

ROLE_DESCRIPTION = "\n".join(f"* `{role}` - {role.upper()}" for role in ORG_ROLES)

SCHEMAS: dict[str, Schema] = {
    # /api/server
    "About": obj(
        {
            "name": string(maxLength=128),
            "description": string(maxLength=2048),
            "version": string(maxLength=64),
            "logo_url": STRING,
            "subtitle": string(maxLength=1024),
        },
        required="all",
    ),
    "Plugins": obj({"analytics": BOOLEAN, "models": BOOLEAN}, required="all"),
    "Health": obj(
        {
            "status": enum(("ok", "degraded", "failing"),
                           "ok; degraded: background work is stalled; failing: no database"),
            "checks": {"type": "object", "additionalProperties": {"type": "object"},
                       "description": "database and workers, each with its own status"},
        },
        required="all",
    ),
    "PluginInfo": _PLUGIN_INFO,
    "PluginList": array(ref("PluginInfo")),
    # /api/auth
    "LoginRequest": obj(
        {"username": STRING, "email": string(format="email"), "password": string(minLength=1)},
        required=["password"],
        description="Sign in with `username` (or `email`) and `password`.",
    ),
    "Token": obj({"key": string(maxLength=40)}, required="all"),
    "Detail": obj({"detail": read_only(STRING)}, required="all"),
    "RegisterRequest": obj(
        {
            "username": {**USERNAME, "minLength": 1},
            "password1": string(minLength=8, maxLength=256, writeOnly=True),
            "password2": string(minLength=8, maxLength=256, writeOnly=True),
            "email": string(format="email", maxLength=254),
            "first_name": string(maxLength=150),
            "last_name": string(maxLength=150),
        },
        required=["username", "password1", "password2"],
    ),
    "Register": obj(
        {
            "username": USERNAME,
            "email": string(maxLength=254),
            "first_name": string(maxLength=150),
            "last_name": string(maxLength=150),
            "email_verification_required": read_only(BOOLEAN),
            "key": read_only(nullable(STRING)),
        },
        required="all",
    ),
    "PasswordChangeRequest": obj(
        {
            "old_password": string(minLength=1, writeOnly=True),
            "new_password1": string(minLength=8, maxLength=256, writeOnly=True),
            "new_password2": string(minLength=8, maxLength=256, writeOnly=True),
        },
        required="all",
    ),
    "AccessTokenWriteRequest": obj(_ACCESS_TOKEN_WRITE_FIELDS, required=["name"]),
    "PatchedAccessTokenWriteRequest": obj(_ACCESS_TOKEN_WRITE_FIELDS),
    "AccessTokenRead": obj(_ACCESS_TOKEN_FIELDS, required="all"),
    "AccessTokenCreated": obj(
        {**_ACCESS_TOKEN_FIELDS,
         "value": read_only(string(description="The token; shown only once, at creation."))},
        required="all",
    ),
    # /api/users
    "BasicUser": obj(_BASIC_USER_FIELDS, required="all"),
    "User": obj(_USER_FIELDS, required="all"),
    "MetaUser": {
        "anyOf": [ref("User"), ref("BasicUser")],
        "description": "The full record for admins and oneself, the basic one for others.",
    },
    "PatchedUserRequest": obj(
        {
            "username": {**USERNAME, "minLength": 1},
            "first_name": string(maxLength=150),
            "last_name": string(maxLength=150),
            "email": string(format="email", maxLength=254),
            "groups": array(enum(SYSTEM_ROLES), description="Admins only."),
            "is_staff": {**BOOLEAN, "description": "Admins only."},
            "is_superuser": {**BOOLEAN, "description": "Admins only."},
            "is_active": {**BOOLEAN, "description": "Admins only."},
        }
    ),
    # /api/organizations, /api/memberships, /api/invitations
    "RoleEnum": enum(ORG_ROLES, ROLE_DESCRIPTION),
    "BasicOrganization": obj(
        {"id": read_only(INTEGER), "slug": read_only(SLUG), "name": read_only(STRING)},
        required="all",
    ),
    "OrganizationRead": obj(
        {
            "id": read_only(INTEGER),
            "slug": read_only(SLUG),
            "name": read_only(STRING),
            "description": read_only(STRING),
            "created_date": read_only(DATE_TIME),
            "updated_date": read_only(DATE_TIME),
            "contact": read_only({"type": "object", "additionalProperties": {}}),
            "owner": nullable(ref("BasicUser")),
        },
        required="all",
    ),
    "OrganizationWriteRequest": obj(_ORG_WRITE_FIELDS, required=["slug"]),
    "PatchedOrganizationWriteRequest": obj(_ORG_WRITE_FIELDS),
    "MembershipRead": obj(
        {
            "id": read_only(INTEGER),
            "user": ref("BasicUser"),
            "organization": read_only(INTEGER),
            "is_active": read_only(BOOLEAN),
            "joined_date": read_only(nullable(DATE_TIME)),
            "role": read_only(ref("RoleEnum")),
            "invitation": read_only(nullable(STRING)),
        },
        required="all",
    ),
    "PatchedMembershipWriteRequest": obj({"role": ref("RoleEnum")}),
    "InvitationRead": obj(
        {
            "key": read_only(STRING),
            "created_date": read_only(DATE_TIME),
            "owner": nullable(ref("BasicUser")),
            "role": ref("RoleEnum"),
            "user": ref("BasicUser"),
            "organization": INTEGER,
            "organization_info": ref("BasicOrganization"),
            "expired": read_only(nullable(BOOLEAN)),
            "accepted": read_only(BOOLEAN),
        },
        required="all",
    ),
    "InvitationWriteRequest": obj(
        {"role": ref("RoleEnum"), "email": string(format="email", minLength=1)},
        required="all",
    ),
    "AcceptInvitationRead": obj({"organization_slug": SLUG}, required="all"),
    # errors (every 4xx body is JSON)
    "ErrorDetail": obj(
        {"detail": STRING}, required="all", description="The body of 401, 403, 404 and 409."
    ),
    "ValidationError": {
        "type": "object",
        "description": "The body of a 400: `{\"detail\": message}` or `{field: [messages]}`.",
        "additionalProperties": {"anyOf": [STRING, array(STRING)]},
    },
}


#: Modules with more component schemas (a ``SCHEMAS`` dict each), one per API area.
AREA_SCHEMA_MODULES = (
    "cvatcore.core.api.schemas_projects",
    "cvatcore.core.api.schemas_data",
    "cvatcore.core.api.schemas_annotations",
    "cvatcore.core.api.schemas_requests",
    "cvatcore.core.api.schemas_cloud",
    "cvatcore.core.api.schemas_webhooks",
    "cvatcore.core.api.schemas_events",
    "cvatcore.core.api.schemas_datasets",
    "cvatcore.core.api.schemas_lambda",
)


def all_schemas() -> dict[str, Schema]:
    import importlib

    schemas = dict(SCHEMAS)
    for name in AREA_SCHEMA_MODULES:
        schemas.update(importlib.import_module(name).SCHEMAS)
    return schemas


def component_schemas(referenced: set[str]) -> dict[str, Schema]:
    """All schemas plus a page wrapper for each ``Paginated<X>List`` in ``referenced``."""
    schemas = all_schemas()
    for name in sorted(referenced):
        if name not in schemas and name.startswith("Paginated") and name.endswith("List"):
            item = name[len("Paginated"):-len("List")]
            if item in schemas:
                schemas[name] = paginated(item)
    return dict(sorted(schemas.items()))
