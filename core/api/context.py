"""The per-request context handlers and services receive, and the endpoint wrapper.

Each request's work runs in one worker thread inside one database transaction: the wrapper
reads the body, hops to a thread once, authenticates, calls the handler and commits (or
rolls back when anything raises, so a failed request leaves nothing half-written).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import queue
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, BinaryIO
from urllib.parse import parse_qsl

import anyio.to_thread
from sqlalchemy.orm.attributes import instance_state
from starlette.requests import Request
from starlette.responses import Response

from cvatcore.core.api.authentication import SAFE_METHODS, authenticate_request, counting_refusals
from cvatcore.core.api.bounds import MAX_INT, int_bounds
from cvatcore.core.api.query_bounds import check_query
from cvatcore.core.api.request import NUL_MESSAGE, Ctx, Handler  # noqa: F401 - handlers import Ctx here
from cvatcore.core.errors import NotAuthenticated, PayloadTooLarge, ValidationFailed
from cvatcore.core.state import AppState


class RequestThreads:
    """The threads that run requests' synchronous parts, fed from one queue.

    Leaner than ``loop.run_in_executor`` or ``anyio.to_thread``: one queue put on the way in
    and one ``call_soon_threadsafe`` on the way out, no ``concurrent.futures.Future`` (with
    its lock and condition) and no future chaining. Measured on a trivial endpoint, the hop
    costs about as much as the rest of Starlette with the executor, and next to nothing
    this way.

    Few threads on purpose. A request's Python work holds the GIL, and every thread beyond
    what the GIL lets run adds hand-offs and wake-ups: with bench/api.py, 2 threads serve
    30 to 60% more requests than 8 with SQLite and with PostgreSQL alike (40, anyio's
    default, is worse still), and with SQLite, whose calls are short and in-process, 1 serves
    ~15% more than 2 (``Database.request_threads`` says how many for a database). So
    ``size`` threads serve normally. When work is waiting and threads have been on one
    request for ``stuck_after`` seconds (blocked on a lock, a slow disk or network, a
    password hash), extra threads start so that ``size`` keep serving, up to ``max_size``,
    and they stop once they are not needed; a monitor thread checks five times per
    ``stuck_after``.

    One set per size and process, shared by every app in it (``request_threads``); the
    threads are daemons, as a server stops only once its requests have finished.
    """

    def __init__(self, size: int = 2, max_size: int = 32, stuck_after: float = 0.1) -> None:
        self.size, self.max_size, self.stuck_after = size, max_size, stuck_after
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads = 0
        self._monitoring = False
        self._busy_since: dict[int, float] = {}  # thread ident -> when its request began

    async def run(self, func: Callable[..., Any], *args: Any) -> Any:
        """``func(*args)`` in one of the threads, with the caller's context variables."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._queue.put((loop, future, contextvars.copy_context(), func, args))
        if self._threads < self.size:
            self._start()
        return await future

    def _start(self) -> None:
        with self._lock:
            monitor, self._monitoring = not self._monitoring, True
        self._grow()
        if monitor:
            threading.Thread(target=self._monitor, name="cvatcore-request-monitor",
                             daemon=True).start()

    def _monitor(self) -> None:
        while True:
            time.sleep(self.stuck_after / 5)
            if self._queue.qsize() and self._threads < self.max_size:
                self._grow()

    def _stuck(self) -> int:
        limit = time.monotonic() - self.stuck_after
        return sum(1 for since in list(self._busy_since.values()) if since < limit)

    def _grow(self) -> None:
        with self._lock:
            if self._threads >= self.size and self._threads - self._stuck() >= self.size:
                return
            self._threads += 1
            number = self._threads
        threading.Thread(
            target=self._serve, name=f"cvatcore-request-{number}", daemon=True
        ).start()

    def _retire(self) -> bool:
        """Whether this (extra) thread should stop: enough others serve without it."""
        with self._lock:
            if self._threads - self._stuck() > self.size:
                self._threads -= 1
                return True
            return False

    def _serve(self) -> None:
        get, busy_since = self._queue.get, self._busy_since
        ident = threading.get_ident()
        while True:
            item = get()
            busy_since[ident] = time.monotonic()
            try:
                _run_one(*item)
            except Exception:  # never lose a thread (a reply could not be delivered)
                logging.getLogger("cvatcore").exception("request thread error")
            finally:
                del busy_since[ident]
                item = None
            if self._threads > self.size and self._retire():
                return


def _run_one(
    loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any], context: contextvars.Context,
    func: Callable[..., Any], args: tuple[Any, ...],
) -> None:
    try:
        result = context.run(func, *args)
    except BaseException as exc:  # handed to the awaiting task, as an executor does
        if isinstance(exc, StopIteration):  # a Future cannot hold one
            exc = RuntimeError("StopIteration raised in a request thread")
        _reply(loop, _fail, future, exc)
    else:
        _reply(loop, _succeed, future, result)


def _reply(loop: asyncio.AbstractEventLoop, setter: Callable[..., None], *args: Any) -> None:
    with contextlib.suppress(RuntimeError):  # the loop closed while the request ran
        loop.call_soon_threadsafe(setter, *args)


def _succeed(future: asyncio.Future[Any], result: Any) -> None:
    if not future.done():  # the awaiting task was cancelled meanwhile
        future.set_result(result)


def _fail(future: asyncio.Future[Any], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)


_pools: dict[int, RequestThreads] = {}
_pools_lock = threading.Lock()


def request_threads(size: int) -> RequestThreads:
    """The process's ``RequestThreads`` with ``size`` serving threads (one per size)."""
    pool = _pools.get(size)
    if pool is None:
        with _pools_lock:
            pool = _pools.setdefault(size, RequestThreads(size))
    return pool


async def run_in_request_thread(func: Callable[..., Any], *args: Any, threads: int = 2) -> Any:
    """``func(*args)`` in a request thread (see ``RequestThreads``; ``threads`` is the number
    that serve normally); event loops other than asyncio's use anyio's threads."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return await anyio.to_thread.run_sync(func, *args)
    return await request_threads(threads).run(func, *args)


def endpoint(
    handler: Handler, *, authenticate: bool = True, stream_body: bool = False,
    max_body: int | None = None, body_schema: str | None = None, signed_in: bool = False,
    query_schema: dict[str, Any] | None = None, writes: bool = False,
    own_transactions: bool = False,
) -> Callable[[Request], Any]:
    """Wrap a synchronous handler into an async Starlette endpoint (one thread hop).

    ``body_schema``: the component schema of the JSON body, whose bounds (string lengths,
    list sizes, number ranges) ``ctx.data`` checks (``body_bounds.check_body``).
    ``signed_in``: an anonymous caller gets a 401 before the handler runs, so whether an
    object exists is not told to someone who may not see it (a 404 would tell).
    ``query_schema``: the declared query parameters (``query_bounds.query_schemas``), which
    the query string must fit. ``writes``: a GET that writes (it starts a background query)
    opens a write transaction, as other methods do: on SQLite a read transaction that turns
    into a write while others write is refused at once ("database is locked").
    ``own_transactions``: a POST that waits on others (an online call that an agent answers
    through other requests) runs in a read transaction and writes in short ones of its own
    (``Ctx.writes`` is false): a writer's transaction held while it waits would keep, on
    SQLite, the very request it waits for from committing. It runs in a thread of anyio's
    pool, not in ``RequestThreads``: the requests it waits on would otherwise queue behind
    it until the pool noticed a stuck thread and grew (about 0.1 s each time).

    ``stream_body`` (uploads): a body that is not JSON or a form is written to a temporary
    file in chunks as it arrives, never held whole in memory, and handed over as
    ``ctx.body_file``; ``max_body`` bytes at most (413 beyond)."""

    checks = _Checks(authenticate, body_schema, signed_in, query_schema, writes,
                     own_transactions)

    async def run(request: Request) -> Response:
        state: AppState = request.app.state.cvatcore
        body_file = None
        if request.method in SAFE_METHODS:
            body = b""
        elif stream_body:
            body, body_file = await read_or_spool(request, state, max_body or STREAM_BODY_LIMIT)
        else:
            body = await request.body()
        try:
            if _runs_inline(request, state):
                return _run_sync(handler, request, body, state, checks, body_file)
            if own_transactions:  # it waits on other requests: not in a thread they need
                return await anyio.to_thread.run_sync(
                    _run_sync, handler, request, body, state, checks, body_file)
            return await run_in_request_thread(
                _run_sync, handler, request, body, state, checks, body_file,
                threads=state.db.request_threads,
            )
        finally:
            if body_file is not None:
                body_file.close()

    run.__name__ = getattr(handler, "__name__", "endpoint")
    run.__doc__ = handler.__doc__
    run.handler = handler  # type: ignore[attr-defined]
    return run


#: Default size limit of a streamed body (``endpoint(stream_body=True)``): 8 GiB.
STREAM_BODY_LIMIT = 8 << 30
#: JSON and form bodies of streamed endpoints are read into memory, up to this size.
IN_MEMORY_BODY_LIMIT = 64 << 20
_SPOOL_CHUNK = 1 << 20
_IN_MEMORY_TYPES = ("application/json", "application/x-www-form-urlencoded", "text/plain", "")


async def read_or_spool(
    request: Request, state: AppState, limit: int
) -> tuple[bytes, BinaryIO | None]:
    """JSON (and form) bodies in memory; anything else (multipart, octet streams) written
    chunk by chunk into an anonymous temporary file under ``<data_dir>/tmp``. A declared or
    actual size beyond the limit is a 413 before more of the body is read."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    in_memory = ctype in _IN_MEMORY_TYPES or ctype.endswith("+json")
    cap = min(limit, IN_MEMORY_BODY_LIMIT) if in_memory else limit
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > cap:
        raise PayloadTooLarge(f"The request body is larger than the limit of {cap} bytes.")
    if in_memory:
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > cap:
                raise PayloadTooLarge(f"The request body is larger than the limit of {cap} bytes.")
            chunks.append(chunk)
        return b"".join(chunks), None
    tmp_dir = state.settings.server.data_dir / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    spool = tempfile.TemporaryFile(dir=tmp_dir)  # noqa: SIM115 - handed to the caller
    try:
        size, pending = 0, bytearray()
        async for chunk in request.stream():
            size += len(chunk)
            if size > cap:
                raise PayloadTooLarge(f"The request body is larger than the limit of {cap} bytes.")
            pending += chunk
            if len(pending) >= _SPOOL_CHUNK:  # few, large writes: the loop is not held long
                spool.write(pending)
                pending.clear()
        spool.write(pending)
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    return b"", spool


def _runs_inline(request: Request, state: AppState) -> bool:
    """Whether this request may run on the event loop itself, without a thread hop.

    Only reads on SQLite: in WAL mode a reader never waits for a lock, so its work is a few
    quick statements with nothing to wait on. HTTP Basic is excluded, since it checks a
    password (an argon2 hash, or a directory server) that would hold up the loop, and so are
    access tokens, whose "last used" mark is now and then a write (in a second transaction).
    Measured with bench/api.py: 1.5x the requests/s of a thread hop; the price is a longer
    tail (p99) for slow list pages, which then hold the loop while they run.
    """
    if not state.db.is_sqlite or request.method not in SAFE_METHODS:
        return False
    auth = request.headers.get("authorization")
    return auth is None or auth[:6].lower().startswith("token ")


@dataclass(frozen=True)
class _Checks:
    """What ``endpoint`` was told to do around its handler (see its docstring)."""

    authenticate: bool
    body_schema: str | None
    signed_in: bool
    query_schema: dict[str, Any] | None
    writes: bool
    own_transactions: bool = False


def _run_sync(
    handler: Handler, request: Request, body: bytes, state: AppState, checks: _Checks,
    body_file: BinaryIO | None = None,
) -> Response:
    scope = request.scope
    request_id = scope.get("cvatcore.request_id") or str(uuid.uuid4())
    if "\x00" in scope["path"] or _query_has_nul(scope.get("query_string", b"")):
        raise ValidationFailed({"detail": NUL_MESSAGE})
    for name, value in request.path_params.items():
        if isinstance(value, int):  # ``{id:int}``: an id past the column's range names nothing
            int_bounds(name, value, 0, MAX_INT)
    write = (checks.writes or request.method not in SAFE_METHODS) \
        and not checks.own_transactions
    with counting_refusals(state), state.db.work(write=write) as work:
        ctx = Ctx(request, body, work, state, request_id, body_file=body_file,
                  body_schema=checks.body_schema, writes=write)
        if checks.authenticate:
            authenticate_request(ctx)
            if checks.signed_in and ctx.user is None:
                raise NotAuthenticated()
        if checks.query_schema:
            check_query(checks.query_schema, request.query_params)
        if "org_id" in request.query_params:
            ctx.organization  # noqa: B018 - a malformed org_id is a 400 on every endpoint
        response = handler(ctx)
        user = ctx.user
        if user is not None and not work.has_session and instance_state(user).modified:
            ctx.caller.session.flush()  # the handler changed the signed-in user, no query
    for name, value, options in ctx.response_cookies:
        if value is None:
            response.delete_cookie(name, path="/")
        else:
            response.set_cookie(name, value, path="/", samesite="lax", **options)
    return response


def _query_has_nul(query_string: bytes) -> bool:
    """Whether a decoded query parameter name or value holds NUL: only a raw NUL byte or
    ``%00`` decode to one, so most query strings need no parsing here."""
    if b"\x00" not in query_string and b"%00" not in query_string:
        return False
    return any("\x00" in k + v for k, v in parse_qsl(query_string.decode("latin-1"),
                                                     keep_blank_values=True))
