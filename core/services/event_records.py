"""CVAT analytics event records, made from domain events (``record_server_event`` in CVAT).

A record is a dict with CVAT's ClickHouse columns (``FIELDS``) plus ``id``, the event's unique
id, which sinks use to store each event once. ``timestamp`` is an ISO 8601 string in UTC with
milliseconds; ``payload`` is a JSON string (as CVAT sends it), and every server event's
payload carries ``{"request": {"id": <X-Request-Id>}}``.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select

from cvatcore.core.models import Issue, Job, Organization, Task, User
from cvatcore.core.services import annotation_events
from cvatcore.hooks import EVENT_FIELDS, DomainEvent

FIELDS = EVENT_FIELDS
#: Keys CVAT leaves out of a created object's payload (they are columns of the record, or
#: nested lists), plus our foreign-key columns that stand for them.
DROPPED = frozenset({
    "slug", "id", "name", "username", "display_name", "message", "organization", "project",
    "size", "task", "tasks", "job", "jobs", "comments", "url", "issues", "attributes", "key",
    "organization_id", "project_id", "task_id", "job_id", "segment_id",
})
#: Columns whose change is not a change users make (every update touches them).
UNTRACKED = frozenset({"updated_date", "assignee_updated_date", "version"})
NAME_FIELDS = {"user": "username", "cloudstorage": "display_name", "comment": "message"}
_CACHE = "cvatcore.analytics.lookups"
# The look-ups, built once: building a statement per event cost as much as running it
# (``select`` and its comparisons), in the request of the change the event describes.
_USER = select(User.username, User.email).where(User.id == bindparam("id"))
_ORG_SLUG = select(Organization.slug).where(Organization.id == bindparam("id"))
_ISSUE_JOB = select(Issue.job_id).where(Issue.id == bindparam("id"))
_JOB_TASK = select(Job.task_id).where(Job.id == bindparam("id"))
_TASK_PROJECT = select(Task.project_id).where(Task.id == bindparam("id"))


def iso_ms(moment: datetime | float) -> str:
    """A UTC timestamp as ``2026-01-31T12:00:00.123Z``."""
    if not isinstance(moment, datetime):
        moment = datetime.fromtimestamp(moment, UTC)
    elif moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def new_ids(count: int) -> list[str]:
    """``count`` random (version 4) UUIDs as text, from one read of the system's randomness:
    the version and variant bits set in the bytes and the text cut from one hex string
    (a quarter of the time of a ``uuid.UUID`` object per id, for 1,000-event batches)."""
    data = bytearray(os.urandom(16 * count))
    for i in range(6, 16 * count, 16):
        data[i] = (data[i] & 0x0F) | 0x40  # version 4
        data[i + 2] = (data[i + 2] & 0x3F) | 0x80  # RFC 4122 variant
    h = data.hex()
    return [f"{h[i:i + 8]}-{h[i + 8:i + 12]}-{h[i + 12:i + 16]}-{h[i + 16:i + 20]}-"
            f"{h[i + 20:i + 32]}" for i in range(0, 32 * count, 32)]


def new_record(scope: str, timestamp: datetime | float | str, **fields: Any) -> dict[str, Any]:
    """An event record with every field present (``None`` where unknown); ``timestamp`` may
    already be an ``iso_ms`` string."""
    record: dict[str, Any] = dict.fromkeys(FIELDS)
    stamp = timestamp if isinstance(timestamp, str) else iso_ms(timestamp)
    record.update(scope=scope, source="server", timestamp=stamp, duration=0)
    record.update(fields)
    record["id"] = fields.get("id") or str(uuid.uuid4())
    return record


def server_records(connection: Connection, event: DomainEvent) -> list[dict[str, Any]]:
    """The records CVAT writes for ``event``: one for a create or delete, one per changed
    field for an update (``obj_name`` = field, ``obj_val`` = new value, the old value in the
    payload), one for any other action (``export:dataset``, ``call:function``, ...)."""
    snap = event.after or event.before or {}
    common = {**_actor(connection, event.actor_id), **_ids(connection, event.resource,
                                                             event.obj_id, snap)}
    common.update(org_id=event.org_id, org_slug=_org_slug(connection, event.org_id))
    request = {"request": {"id": event.request_id}}

    def make(scope: str = event.scope, **fields: Any) -> dict[str, Any]:
        payload = {**fields.pop("payload", {}), **request}
        return new_record(scope, event.timestamp, **common, **fields,
                          payload=json.dumps(payload, default=str))

    if event.resource == "annotations":  # per kind and shape type, as CVAT records them
        summaries = (event.after or {}).get(annotation_events.KEY, ())
        return [make(scope, **fields) for scope, fields in annotation_events.record_fields(
            summaries)]
    if event.action == "update":
        return [make(**change) for change in _changes(event.before or {}, event.after or {})]
    name = snap.get(NAME_FIELDS.get(event.resource, "name"))
    payload = {k: v for k, v in snap.items() if k not in DROPPED}
    if event.action == "delete":
        payload = {}
    elif event.action != "create":
        payload = dict(event.after or {})
    return [make(obj_id=event.obj_id, obj_name=name, payload=payload)]


def _changes(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for key, value in after.items():
        # Only what the service snapshotted before the change can have changed.
        if key in UNTRACKED or key not in before or before[key] == value:
            continue
        old = before[key]
        name, obj_id = key, None
        if key.endswith("_id"):  # CVAT names the relation and gives its id
            name, obj_id = key[:-3], value
        out.append({"obj_name": name, "obj_id": obj_id, "obj_val": str(value),
                    "payload": {"old_value": old}})
    return out


def _cached(connection: Connection, key: tuple[Any, ...], look_up: Callable[[], Any]) -> Any:
    """``look_up()`` once per transaction for ``key`` (users, organizations and parents an
    event names: a batch of events about one task asks for them again and again)."""
    transaction = connection.get_transaction()
    held = connection.info.get(_CACHE)
    if held is None or held[0] is not transaction:
        held = (transaction, {})
        connection.info[_CACHE] = held
    if key not in held[1]:
        held[1][key] = look_up()
    return held[1][key]


def _actor(connection: Connection, user_id: int | None) -> dict[str, Any]:
    if user_id is None:
        return {"user_id": None, "user_name": None, "user_email": None}

    def look_up() -> tuple[str | None, str | None]:
        row = connection.execute(_USER, {"id": user_id}).first()
        return (row[0], row[1] or None) if row else (None, None)

    name, email = _cached(connection, ("user", user_id), look_up)
    return {"user_id": user_id, "user_name": name, "user_email": email}


def _org_slug(connection: Connection, org_id: int | None) -> str | None:
    if org_id is None:
        return None
    return _cached(connection, ("org", org_id), lambda: connection.scalar(
        _ORG_SLUG, {"id": org_id}))


def _ids(connection: Connection, resource: str, obj_id: int | None,
         snap: dict[str, Any]) -> dict[str, Any]:
    """project_id, task_id and job_id of the object (CVAT's ``project_id(instance)``...)."""
    ids: dict[str, Any] = {"project_id": None, "task_id": None, "job_id": None}
    if resource == "project":
        ids["project_id"] = obj_id
    elif resource == "task":
        ids.update(task_id=obj_id, project_id=snap.get("project_id"))
    elif resource in ("job", "annotations"):
        ids.update(_job_ids(connection, obj_id))
    elif resource == "label":
        ids.update(task_id=snap.get("task_id"), project_id=snap.get("project_id"))
        if ids["task_id"] is not None and ids["project_id"] is None:
            ids["project_id"] = _task_project(connection, ids["task_id"])
    elif resource == "issue":
        ids.update(_job_ids(connection, snap.get("job_id")))
    elif resource == "comment":
        job_id = connection.scalar(_ISSUE_JOB, {"id": snap.get("issue_id")})
        ids.update(_job_ids(connection, job_id))
    return ids


def _job_ids(connection: Connection, job_id: int | None) -> dict[str, Any]:
    if job_id is None:
        return {}

    def look_up() -> dict[str, Any]:
        task_id = connection.scalar(_JOB_TASK, {"id": job_id})
        return {"job_id": job_id, "task_id": task_id,
                "project_id": _task_project(connection, task_id)}

    return dict(_cached(connection, ("job", job_id), look_up))


def _task_project(connection: Connection, task_id: int | None) -> int | None:
    if task_id is None:
        return None
    return _cached(connection, ("task", task_id), lambda: connection.scalar(
        _TASK_PROJECT, {"id": task_id}))
