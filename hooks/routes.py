"""What a plugin's route handler receives (``register_routes`` with ``auth=...``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RequestUser:
    """The signed-in person a request comes from.

    ``groups`` are CVAT system roles (``admin``, ``business``, ``user``, ``worker``).
    """

    id: int
    username: str
    is_superuser: bool = False
    groups: tuple[str, ...] = ()


class RouteRequest:
    """One HTTP request, as the core hands it to a plugin's route handler.

    The handler runs in a worker thread inside one database transaction: it commits when the
    handler returns and rolls back when it raises, so a failed request leaves nothing
    half-written (the rows on ``connection`` and the jobs from ``enqueue`` alike).

    ``user`` is the signed-in ``RequestUser`` (always set on an ``auth=True`` route, ``None``
    for an anonymous caller of an ``auth=False`` one); ``path_params`` the values of the
    path's ``{name:type}`` parts, already converted; ``query`` the query string (a mapping of
    the last value of each name; ``query_list(name)`` has them all); ``data`` the JSON object
    of the body (a 400 when the body is not one); ``request_id`` the ``X-Request-Id`` every
    response carries.
    """

    def __init__(
        self, *, method: str, path_params: Mapping[str, Any], query: Mapping[str, str],
        query_list: Callable[[str], list[str]], user: RequestUser | None, request_id: str,
        data: Callable[[], dict[str, Any]], connection: Callable[[], Any],
        enqueue: Callable[..., str],
    ) -> None:
        self.method = method
        self.path_params = path_params
        self.query = query
        self.user = user
        self.request_id = request_id
        self._query_list = query_list
        self._data = data
        self._connection = connection
        self._enqueue = enqueue

    @property
    def data(self) -> dict[str, Any]:
        """The request body's JSON object (``{}`` without a body)."""
        return self._data()

    @property
    def connection(self) -> Any:
        """The SQLAlchemy ``Connection`` of the request's transaction: read and write the
        plugin's own tables with it (``connection.execute(...)``); never commit it."""
        return self._connection()

    def query_list(self, name: str) -> list[str]:
        """Every value of the query parameter ``name``, in order."""
        return self._query_list(name)

    def enqueue(
        self, kind: str, args: dict[str, Any] | None = None, *, job_id: str | None = None,
        max_attempts: int = 3,
    ) -> str:
        """Queue a background job of ``kind`` in this request's transaction, owned by the
        signed-in user (who can then follow it at ``/api/requests/{id}``); return its id.

        The job runs only if the request succeeds. See ``cvatcore.hooks.enqueue`` for
        ``args``, ``job_id`` and ``max_attempts``.
        """
        return self._enqueue(kind, args, job_id=job_id, max_attempts=max_attempts)
