"""``/api/auth/*``: sign-in, sign-out, registration, password change, access tokens."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from starlette.responses import Response

from cvatcore.core.api.authentication import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    sign_in_with_password,
)
from cvatcore.core.api.context import Ctx
from cvatcore.core.api.listing import ListSpec, apply_query, paginate, parse_bool
from cvatcore.core.api.responses import JSON, no_content
from cvatcore.core.api.routing import Op
from cvatcore.core.api.serializers import access_token
from cvatcore.core.errors import NotFound, PermissionDenied, ValidationFailed
from cvatcore.core.models import AccessToken, User
from cvatcore.core.services import credentials
from cvatcore.core.services.accounts import create_user, record_login
from cvatcore.core.services.fields import clean_text
from cvatcore.core.services.passwords import hash_password, verify_password


def _login_name(ctx: Ctx, data: dict) -> str:
    """CVAT signs in with ``username`` or else ``email``: the account registered with it."""
    if data.get("username"):
        return str(data["username"])
    email = str(data.get("email") or "")
    if not email:
        return ""
    found = ctx.caller.session.scalar(
        select(User.username).where(func.lower(User.email) == email.lower()).limit(1)
    )
    return found or email


def login(ctx: Ctx) -> Response:
    data = ctx.data
    password = str(data.get("password", ""))
    user = sign_in_with_password(ctx, _login_name(ctx, data), password)
    record_login(user)
    hours = ctx.state.settings.auth.session_lifetime_hours
    key, csrf = credentials.create_session(ctx.caller.session, user, timedelta(hours=hours))
    ctx.set_cookie(SESSION_COOKIE, key, httponly=True, max_age=hours * 3600)
    ctx.set_cookie(CSRF_COOKIE, csrf, max_age=hours * 3600)
    return JSON({"key": key})


def logout(ctx: Ctx) -> Response:
    header = ctx.request.headers.get("authorization", "")
    if header.lower().startswith("token "):
        credentials.drop_session(ctx.caller.session, header[6:].strip())
    key = ctx.request.cookies.get(SESSION_COOKIE)
    if key:
        credentials.drop_session(ctx.caller.session, key)
    ctx.set_cookie(SESSION_COOKIE, None)
    ctx.set_cookie(CSRF_COOKIE, None)
    return JSON({"detail": "Successfully logged out."})


def _text_fields(data: dict[str, Any], limits: dict[str, int]) -> dict[str, str]:
    """The named fields as strings ("" when absent), or a 400 in DRF's words."""
    clean: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    for name, limit in limits.items():
        clean_text(data, clean, errors, name, limit)
    if errors:
        raise ValidationFailed(errors)
    return {name: clean.get(name, "") for name in limits}


def register(ctx: Ctx) -> Response:
    if not ctx.state.settings.auth.allow_registration:
        raise PermissionDenied("Registration is disabled on this server.")
    data = ctx.data
    p1, p2 = data.get("password1"), data.get("password2")
    if not isinstance(p1, str) or p1 != p2:
        raise ValidationFailed.field("password2", "The two password fields didn't match.")
    # Django's user model: 150 characters, and 254 for an e-mail address.
    text = _text_fields(data, {"username": 150, "email": 254, "first_name": 150,
                               "last_name": 150})
    if data.get("email") == "":  # optional, but not blank (DRF's EmailField, as CVAT)
        raise ValidationFailed.field("email", "This field may not be blank.")
    user = create_user(ctx.caller, text["username"], p1, email=text["email"],
                       first_name=text["first_name"], last_name=text["last_name"])
    hours = ctx.state.settings.auth.session_lifetime_hours
    key, _ = credentials.create_session(ctx.caller.session, user, timedelta(hours=hours))
    body = {
        "username": user.username, "email": user.email, "first_name": user.first_name,
        "last_name": user.last_name, "email_verification_required": False, "key": key,
    }
    return JSON(body, status_code=201)


def password_change(ctx: Ctx) -> Response:
    user = ctx.caller.require_user()
    data = ctx.data
    if not verify_password(user.password, str(data.get("old_password", ""))):
        raise ValidationFailed.field("old_password", "Your old password was entered incorrectly.")
    new1, new2 = data.get("new_password1"), data.get("new_password2")
    if not isinstance(new1, str) or new1 != new2:
        raise ValidationFailed.field("new_password2", "The two password fields didn't match.")
    if len(new1) < 8:
        raise ValidationFailed.field("new_password1", "This password is too short.")
    user.password = hash_password(new1)
    return JSON({"detail": "New password has been saved."})


TOKEN_SPEC = ListSpec(
    fields={
        "id": AccessToken.id, "name": AccessToken.name, "created_date": AccessToken.created_date,
        "expiry_date": AccessToken.expiry_date, "last_used_date": AccessToken.last_used_date,
        "read_only": AccessToken.read_only,
    },
    search=("name",),
    simple_filters=("name", "read_only"),
    casts={"read_only": parse_bool},
)


def _token_fields(data: dict, creating: bool) -> dict:
    clean: dict = {}
    if creating or "name" in data:
        name = data.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > 255:
            raise ValidationFailed.field("name", "A name of 1 to 255 characters is required.")
        clean["name"] = name
    if data.get("expiry_date") is not None:
        try:
            clean["expiry_date"] = datetime.fromisoformat(str(data["expiry_date"]))
        except ValueError:
            raise ValidationFailed.field("expiry_date", "Expected an ISO 8601 date.") from None
    if "read_only" in data:
        if not isinstance(data["read_only"], bool):
            raise ValidationFailed.field("read_only", "Must be a valid boolean.")
        clean["read_only"] = data["read_only"]
    return clean


def create_token(ctx: Ctx) -> Response:
    user = ctx.caller.require_user()
    clean = _token_fields(ctx.data, creating=True)
    token, value = credentials.create_access_token(
        ctx.caller.session, user, clean["name"], clean.get("expiry_date"),
        clean.get("read_only", False),
    )
    return JSON({**access_token(ctx, token, user), "value": value}, status_code=201)


def list_tokens(ctx: Ctx) -> Response:
    user = ctx.caller.require_user()
    stmt = apply_query(ctx, select(AccessToken).where(AccessToken.owner_id == user.id), TOKEN_SPEC)
    return JSON(paginate(ctx, stmt, lambda rows: [access_token(ctx, t, user) for t in rows]))


def _own_token(ctx: Ctx) -> AccessToken:
    user = ctx.caller.require_user()
    token = ctx.caller.session.get(AccessToken, ctx.path_params["id"])
    if token is None or token.owner_id != user.id:
        raise NotFound("Access token not found.")
    return token


def retrieve_token(ctx: Ctx) -> Response:
    return JSON(access_token(ctx, _own_token(ctx), ctx.caller.require_user()))


def token_self(ctx: Ctx) -> Response:
    header = ctx.request.headers.get("authorization", "")
    ctx.caller.require_user()  # anonymous: 401, as everywhere else
    if ctx.auth_method != "access_token":
        raise NotFound("This request was not authenticated with an access token.")
    found = credentials.find_access_token(ctx.caller.session, header.partition(" ")[2].strip())
    assert found is not None
    return JSON(access_token(ctx, found[1], found[0]))


def update_token(ctx: Ctx) -> Response:
    token = _own_token(ctx)
    for key, value in _token_fields(ctx.data, creating=False).items():
        setattr(token, key, value)
    ctx.caller.session.flush()
    return JSON(access_token(ctx, token, ctx.caller.require_user()))


def delete_token(ctx: Ctx) -> Response:
    ctx.caller.session.delete(_own_token(ctx))
    return no_content()


TOKENS = "/api/auth/access_tokens"
OPS = [
    Op("POST", "/api/auth/login", login, "auth_create_login", "auth", "Sign in",
       request="LoginRequest", response="Token", public=True, authenticate=False,
       extra={"errors": (401, 429, 503)}),
    Op("POST", "/api/auth/logout", logout, "auth_create_logout", "auth", "Sign out",
       response="Detail", public=True),
    Op("POST", "/api/auth/register", register, "auth_create_register", "auth", "Register",
       request="RegisterRequest", response="Register", status=201, public=True,
       authenticate=False),
    Op("POST", "/api/auth/password/change", password_change, "auth_create_password_change",
       "auth", "Change password", request="PasswordChangeRequest", response="Detail"),
    Op("POST", TOKENS, create_token, "auth_create_access_tokens", "auth",
       "Create a personal access token", request="AccessTokenWriteRequest",
       response="AccessTokenCreated", status=201),
    Op("GET", TOKENS, list_tokens, "auth_list_access_tokens", "auth",
       "List your access tokens", response="AccessTokenRead", paginated=True,
       params=("filter", "search", "sort", *TOKEN_SPEC.simple_filters),
       extra={"list_spec": TOKEN_SPEC}),
    Op("GET", TOKENS + "/self", token_self, "auth_retrieve_access_tokens_self", "auth",
       "The access token of this request", response="AccessTokenRead",
       extra={"security": [{"accessTokenAuth": []}], "errors": (404,)}),
    Op("GET", TOKENS + "/{id:int}", retrieve_token, "auth_retrieve_access_tokens", "auth",
       "One access token", response="AccessTokenRead"),
    Op("PATCH", TOKENS + "/{id:int}", update_token, "auth_partial_update_access_tokens",
       "auth", "Change an access token", request="PatchedAccessTokenWriteRequest",
       response="AccessTokenRead"),
    Op("DELETE", TOKENS + "/{id:int}", delete_token, "auth_destroy_access_tokens", "auth",
       "Revoke an access token", status=204),
]
