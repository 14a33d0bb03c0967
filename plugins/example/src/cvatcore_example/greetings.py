"""Greetings: a route that needs sign-in and queues a background job of this plugin's kind.

``POST /api/example/greetings`` stores a greeting in the plugin's own table and queues an
``example:greet`` job in the same transaction (both happen, or neither); the caller follows
the job at ``/api/requests/{rq_id}`` as CVAT's clients follow any request.
``GET /api/example/greetings`` lists the caller's greetings.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse

from cvatcore.hooks import RouteRequest

#: The job kind this plugin registers (``register_job_kinds``) and queues.
GREET_JOB = "example:greet"

# The table of the plugin's migration example_0001 (a Core table: no ORM needed).
greetings = sa.Table(
    "example_greetings", sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(150), nullable=False),
    sa.Column("created_by", sa.Integer),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)


def greeting(name: str, word: str = "Hello") -> str:
    return f"{word}, {name}!"


def create_greeting(request: RouteRequest) -> JSONResponse:
    """``POST /api/example/greetings`` ``{"name": "Ann"}``: 202 ``{"id", "rq_id"}``."""
    name = request.data.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 150:
        raise HTTPException(400, "name: give a text of 1 to 150 characters")
    assert request.user is not None  # an auth=True route
    greeting_id = request.connection.execute(
        sa.insert(greetings).values(name=name, created_by=request.user.id,
                                    created_at=datetime.now(UTC))
    ).inserted_primary_key[0]
    # The same greeting asked for twice has one id: a second request while it is queued is
    # a 409, as CVAT answers for the same work.
    rq_id = request.enqueue(GREET_JOB, {"greeting_id": greeting_id, "name": name},
                            job_id=f"action=greet&target=example_greeting&id={greeting_id}")
    return JSONResponse({"id": greeting_id, "rq_id": rq_id}, status_code=202)


def list_greetings(request: RouteRequest) -> list[dict[str, Any]]:
    """``GET /api/example/greetings``: the caller's greetings, oldest first."""
    assert request.user is not None
    rows = request.connection.execute(
        sa.select(greetings.c.id, greetings.c.name)
        .where(greetings.c.created_by == request.user.id).order_by(greetings.c.id)
    )
    return [{"id": row.id, "name": row.name} for row in rows]


def run_greet_job(job: Any) -> dict[str, Any]:
    """The ``example:greet`` job: reports the greeting as its progress message and the
    greeting's id as its result (``result_id`` in ``/api/requests/{rq_id}``)."""
    job.progress(0.5, greeting(job.args["name"]))
    return {"result_id": job.args["greeting_id"]}
