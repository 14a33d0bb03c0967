"""The baseline for ``bench/api.py``: the fastest plain Starlette app we could write for the
same two requests cvatcore answers, on the same tables.

* ``GET /api/users/self``: ``Authorization: Token <key>`` -> one query joining
  ``auth_sessions`` (by ``sha256(key) = key_hash``) to ``users``; expiry and ``is_active``
  checked; the user as CVAT's JSON.
* ``GET /api/users?page_size=N``: the same token query, then the count and one page of
  users ordered by id, as ``{count, next, previous, results}``.

SQLite goes through the stdlib ``sqlite3`` module right in the event loop (no thread hop);
PostgreSQL through an ``asyncpg`` pool. No ORM, no transaction, no middleware.

Usage: ``python bench/bare_app.py --db sqlite:///path.db|postgresql://... --port N``
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sqlite3
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

USER_COLUMNS = (
    "u.id, u.username, u.first_name, u.last_name, u.email, u.groups, u.is_staff, "
    "u.is_superuser, u.is_active, u.last_login, u.date_joined"
)
PRIVILEGE_RANK = {"admin": 0, "business": 50, "user": 75, "worker": 100}
MAX_PAGE_SIZE = 1000


def _json(body: Any, status: int = 200) -> Response:
    return Response(
        json.dumps(body, separators=(",", ":")).encode(), status, media_type="application/json"
    )


def _unauthorized() -> Response:
    return _json({"detail": "Invalid token."}, 401)


def _token_hash(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "token":
        return None
    return hashlib.sha256(value.strip().encode()).hexdigest()


def _privilege(groups: list[str], is_superuser: bool) -> str:
    if is_superuser:
        return "admin"
    known = [g for g in groups if g in PRIVILEGE_RANK]
    return min(known, key=PRIVILEGE_RANK.__getitem__, default="none")


class Store:
    """Turns database rows into CVAT's user JSON; subclasses run the queries."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    @staticmethod
    def iso(value: Any) -> str | None:
        raise NotImplementedError

    def user(self, base: str, row: Any, full: bool) -> dict[str, Any]:
        data: dict[str, Any] = {
            "url": f"{base}/api/users/{row[0]}",
            "id": row[0],
            "username": row[1],
            "first_name": row[2],
            "last_name": row[3],
        }
        if full:
            groups = json.loads(row[5]) if isinstance(row[5], str) else list(row[5] or [])
            data.update(
                email=row[4],
                groups=groups,
                is_staff=bool(row[6]),
                is_superuser=bool(row[7]),
                is_active=bool(row[8]),
                last_login=self.iso(row[9]),
                date_joined=self.iso(row[10]),
                has_analytics_access=_privilege(groups, bool(row[7])) in ("admin", "business"),
            )
        return data


class SqliteStore(Store):
    def __init__(self, path: str) -> None:
        self.path = path
        self.conn: sqlite3.Connection | None = None

    async def start(self) -> None:
        self.conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=30000"):
            self.conn.execute(f"PRAGMA {pragma}")

    async def stop(self) -> None:
        if self.conn is not None:
            self.conn.close()

    @staticmethod
    def iso(value: Any) -> str | None:
        # SQLAlchemy stores "YYYY-MM-DD HH:MM:SS.ffffff" (UTC, no offset) in SQLite.
        if value is None:
            return None
        return datetime.fromisoformat(value).replace(tzinfo=UTC).isoformat().replace(
            "+00:00", "Z"
        )

    async def session_user(self, key_hash: str) -> Any:
        assert self.conn is not None
        row = self.conn.execute(
            f"SELECT {USER_COLUMNS}, s.expires_at FROM auth_sessions s "
            "JOIN users u ON u.id = s.user_id WHERE s.key_hash = ?",
            (key_hash,),
        ).fetchone()
        if row is None or not row[8]:
            return None
        expires = datetime.fromisoformat(row[11]).replace(tzinfo=UTC)
        return row if expires >= datetime.now(UTC) else None

    async def page(self, limit: int, offset: int) -> tuple[int, list[Any]]:
        assert self.conn is not None
        count = self.conn.execute("SELECT count(*) FROM users").fetchone()[0]
        rows = self.conn.execute(
            f"SELECT {USER_COLUMNS} FROM users u ORDER BY u.id LIMIT ? OFFSET ?", (limit, offset)
        ).fetchall()
        return count, rows


class PostgresStore(Store):
    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.pool: Any = None

    async def start(self) -> None:
        import asyncpg

        self.pool = await asyncpg.create_pool(self.dsn, min_size=8, max_size=8)

    async def stop(self) -> None:
        if self.pool is not None:
            await self.pool.close()

    @staticmethod
    def iso(value: datetime | None) -> str | None:
        if value is None:
            return None
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")

    async def session_user(self, key_hash: str) -> Any:
        row = await self.pool.fetchrow(
            f"SELECT {USER_COLUMNS}, s.expires_at FROM auth_sessions s "
            "JOIN users u ON u.id = s.user_id WHERE s.key_hash = $1",
            key_hash,
        )
        if row is None or not row[8] or row[11] < datetime.now(UTC):
            return None
        return row

    async def page(self, limit: int, offset: int) -> tuple[int, list[Any]]:
        async with self.pool.acquire() as conn:
            count = await conn.fetchval("SELECT count(*) FROM users")
            rows = await conn.fetch(
                f"SELECT {USER_COLUMNS} FROM users u ORDER BY u.id LIMIT $1 OFFSET $2",
                limit, offset,
            )
        return count, rows


def build_app(db: str) -> Starlette:
    store: Store
    if db.startswith("sqlite:///"):
        store = SqliteStore(db[len("sqlite:///") :])
    else:
        store = PostgresStore(db)

    def base(request: Request) -> str:
        return f"{request.url.scheme}://{request.headers.get('host', '')}"

    async def users_self(request: Request) -> Response:
        key_hash = _token_hash(request)
        row = await store.session_user(key_hash) if key_hash else None
        if row is None:
            return _unauthorized()
        return _json(store.user(base(request), row, True))

    async def users_list(request: Request) -> Response:
        key_hash = _token_hash(request)
        viewer = await store.session_user(key_hash) if key_hash else None
        if viewer is None:
            return _unauthorized()
        if not viewer[7] and "admin" not in viewer[5]:
            return _json({"detail": "the baseline only serves admins"}, 403)
        try:
            page = int(request.query_params.get("page", 1))
            size = min(int(request.query_params.get("page_size", 10)), MAX_PAGE_SIZE)
        except ValueError:
            return _json({"detail": "page and page_size must be integers."}, 400)
        count, rows = await store.page(size, (page - 1) * size)
        root = base(request)
        last = max(1, -(-count // size))
        url = f"{root}{request.url.path}?page_size={size}"
        return _json(
            {
                "count": count,
                "next": f"{url}&page={page + 1}" if page < last else None,
                "previous": None if page <= 1 else f"{url}&page={page - 1}",
                "results": [store.user(root, r, True) for r in rows],
            }
        )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> Any:
        await store.start()
        try:
            yield
        finally:
            await store.stop()

    return Starlette(
        routes=[Route("/api/users/self", users_self), Route("/api/users", users_list)],
        lifespan=lifespan,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    # The same uvicorn settings ``cvatcore serve`` uses: one worker, no access log,
    # loop/http "auto" (uvloop and httptools when installed).
    uvicorn.run(
        build_app(args.db), host="127.0.0.1", port=args.port, workers=1, log_level="info",
        access_log=False,
    )


if __name__ == "__main__":
    main()
