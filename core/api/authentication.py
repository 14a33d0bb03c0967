"""Who is asking: the request's credentials, read here and checked by the services.

Accepted, in this order: ``Authorization: Bearer <personal access token>``,
``Authorization: Token <key from /api/auth/login>``, ``Authorization: Basic``, and the
``sessionid`` cookie (whose unsafe requests must carry ``X-CSRFToken``). The endpoint
wrapper (``core.api.context``) calls ``authenticate_request`` inside the request's transaction.

A request that only reads writes nothing in its own transaction, so it never takes the
database's write lock (SQLite has one for the whole file, held for long while a task's data
is created): signing in with credentials on each request records nothing (``last_login`` is
set only at ``/api/auth/login``, as CVAT does), and the little bookkeeping there is (an
access token's "last used" date, forgetting a user name's failed sign-ins) is written in a
short transaction of its own that gives up rather than waits (``write_or_skip``).

Sign-ins with a password (``/api/auth/login``, HTTP Basic) go through the failed sign-in
throttle (``services.sign_in_throttle``); a wrong password is counted after the request's
own transaction has been rolled back (``counting_refusals``).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from sqlalchemy import inspect
from starlette.requests import Request

from cvatcore.core.db.nowait import write_or_skip
from cvatcore.core.errors import AuthenticationFailed, PermissionDenied, Throttled
from cvatcore.core.models import User
from cvatcore.core.models.base import utcnow
from cvatcore.core.services import credentials
from cvatcore.core.services import sign_in_throttle as throttle
from cvatcore.core.services.accounts import USERNAME_RE, AccountNeedsWrite, sign_in
from cvatcore.core.services.caller import Caller
from cvatcore.core.services.passwords import verified_passwords

if TYPE_CHECKING:
    from cvatcore.core.api.request import Ctx
    from cvatcore.core.state import AppState

SESSION_COOKIE = "sessionid"
CSRF_COOKIE = "csrftoken"
CSRF_HEADER = "x-csrftoken"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
logger = logging.getLogger("cvatcore.auth")


class SignInRefused(AuthenticationFailed):
    """A refused password: a 401 like any other, which the endpoint wrapper hands to
    ``note_refusal`` once the request's transaction has ended."""

    def __init__(self, detail: object, username: str, address: str) -> None:
        super().__init__(detail)
        self.username, self.address = username, address


def authenticate_request(ctx: Ctx) -> None:
    """Set ``ctx.user`` (and how it signed in) from the request's credentials; bad ones are
    a 401, a read-only token on an unsafe request or a missing CSRF token a 403."""
    header = ctx.request.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        scheme = scheme.lower()
        if scheme == "bearer":
            _bearer(ctx, value.strip())
            return
        if scheme == "token":
            found_session = credentials.find_session(ctx.work, value.strip())
            if found_session is None:
                raise AuthenticationFailed("Invalid token.")
            ctx.user, ctx.auth_method = found_session[0], "token"
            return
        if scheme == "basic":
            username, password = _basic(value)
            ctx.user = sign_in_with_password(ctx, username, password)
            ctx.auth_method = "basic"
            return
    key = ctx.request.cookies.get(SESSION_COOKIE)
    if key:
        found_session = credentials.find_session(ctx.work, key)
        if found_session is None:
            return  # a stale cookie is anonymous, as Django treats it
        ctx.user, ctx.csrf_token = found_session
        ctx.auth_method = "session"
        if ctx.method not in SAFE_METHODS:
            _check_csrf(ctx)


def client_address(request: Request) -> str:
    """The client's address (uvicorn puts a trusted proxy's ``X-Forwarded-For`` there)."""
    return request.client.host if request.client else ""


def sign_in_with_password(ctx: Ctx, username: str, password: str) -> User:
    """The user that ``username`` and ``password`` sign in, through the auth backends and the
    failed sign-in throttle (429 while locked, without checking the password)."""
    address = client_address(ctx.request)
    now = utcnow()
    state = throttle.check(ctx.work, username, address, now)
    if state.retry_after:
        raise Throttled(state.retry_after, " Too many failed sign-ins.")
    user = _remembered_local_user(ctx, username, password)
    if user is None:
        try:
            user = _sign_in(ctx, username, password)
        except AuthenticationFailed as exc:
            if not username or not password:
                raise  # nothing was guessed
            raise SignInRefused(exc.detail, username, address) from None
    if state.user_failures:
        if _writes(ctx):
            throttle.forget_user_failures(ctx.caller.connection, username)
        else:
            write_or_skip(ctx.state.db, lambda c: throttle.forget_user_failures(c, username))
    return user


def _sign_in(ctx: Ctx, username: str, password: str) -> User:
    """Through the auth backends; on a read request without writing in its transaction."""
    try:
        return sign_in(ctx.caller, username, password, may_write=_writes(ctx))
    except AccountNeedsWrite:
        return _sign_in_writing(ctx, username, password)


@contextmanager
def counting_refusals(state: AppState) -> Iterator[None]:
    """Around the request's transaction (``with counting_refusals(state), db.work():``): a
    refused password is counted once that transaction has ended, never inside it (it is
    rolled back, and on SQLite a writer's lock is still held there)."""
    try:
        yield
    except SignInRefused as refused:
        note_refusal(state, refused)
        raise


def _remembered_local_user(ctx: Ctx, username: str, password: str) -> User | None:
    """A read request's local account whose password was verified moments ago
    (``verified_passwords``), found with one query and no ORM: what the auth backends would
    answer, since only the built-in ``local`` backend vouches for a local account (see
    ``sync_identity``). ``None``: ask the backends."""
    if _writes(ctx) or not USERNAME_RE.match(username):
        return None  # a writer's session must hold the user it changes (last_login)
    if not any(getattr(b, "name", None) == "local" for b in ctx.state.auth_backends):
        return None
    user = credentials.find_user_by_name(ctx.work, username)
    if user is None or not user.is_active or user.created_via != "local" or not user.password:
        return None
    return user if verified_passwords.remembers(username, user.password, password) else None


def note_refusal(state: AppState, refused: SignInRefused) -> None:
    """Count a refused password, in a write transaction of its own (the request's own was
    rolled back). Never turns the 401 into something else."""
    policy = throttle.ThrottlePolicy.from_settings(state.settings.auth)
    try:
        with state.db.unit_of_work() as session:
            throttle.record_failure(session, policy, refused.username, refused.address,
                                    utcnow())
    except Exception:
        logger.exception("could not count a failed sign-in")


def _writes(ctx: Ctx) -> bool:
    """Whether the request's transaction is a writer's (as the endpoint wrapper opens it)."""
    return ctx.writes and ctx.method not in SAFE_METHODS


def _sign_in_writing(ctx: Ctx, username: str, password: str) -> User:
    """A sign-in on a read request that must create or change the account (a directory's
    first sign-in, changed groups): done in a short write transaction of its own, and the
    account then joins the request's session in place of what it read before."""
    with ctx.state.db.unit_of_work() as session:
        user = sign_in(Caller(ctx.state, session, request_id=ctx.request_id), username, password)
    request_session = ctx.caller.session
    stale = request_session.identity_map.get(inspect(user).key)
    if stale is not None:
        request_session.expunge(stale)
    request_session.add(user)
    return user


def _bearer(ctx: Ctx, value: str) -> None:
    found = credentials.find_access_token(ctx.caller.session, value)
    if found is None:
        raise AuthenticationFailed("Invalid token.")
    ctx.user, token = found
    ctx.auth_method, ctx.read_only_token = "access_token", token.read_only
    if token.read_only and ctx.method not in SAFE_METHODS:
        raise PermissionDenied("This access token is read-only.")
    now = utcnow()
    if credentials.token_use_is_stale(token, now):
        if _writes(ctx):
            token.last_used_date = now
        else:
            token_id = token.id
            write_or_skip(ctx.state.db, lambda c: credentials.record_token_use(c, token_id, now))


def _basic(value: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise AuthenticationFailed("Invalid basic header.") from None
    username, sep, password = decoded.partition(":")
    if not sep:
        raise AuthenticationFailed("Invalid basic header.")
    return username, password


def _check_csrf(ctx: Ctx) -> None:
    sent = ctx.request.headers.get(CSRF_HEADER, "")
    if not sent:
        raise PermissionDenied("CSRF Failed: CSRF token missing.")
    # Bytes: compare_digest refuses a str with non-ASCII characters (a TypeError, a 500),
    # and headers arrive as latin-1 text.
    if not hmac.compare_digest(sent.encode("latin-1"), (ctx.csrf_token or "").encode()):
        raise PermissionDenied("CSRF Failed: CSRF token incorrect.")
