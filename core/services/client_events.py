"""Client events (``POST /api/events``): checked, stamped with who sent them, their clocks
corrected, working time added, and written to the events outbox in one transaction: a batch
is stored whole or not at all."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import orjson

from cvatcore.core.errors import ValidationFailed
from cvatcore.core.services import event_outbox
from cvatcore.core.services.context import org_context
from cvatcore.core.services.event_records import iso_ms, new_ids, new_record
from cvatcore.core.services.working_time import (
    WORKING_TIME_SCOPE,
    milliseconds,
    working_time_per_ids,
)

if TYPE_CHECKING:
    from cvatcore.core.services.caller import Caller

ALLOWED_SCOPES = frozenset({
    "load:cvat", "load:job", "save:job", "restore:job", "upload:annotations", "send:exception",
    "send:task_info", "draw:object", "paste:object", "copy:object", "propagate:object",
    "drag:object", "resize:object", "delete:object", "lock:object", "merge:objects",
    "split:objects", "group:objects", "slice:object", "join:objects", "change:attribute",
    "change:label", "change:frame", "zoom:image", "fit:image", "rotate:image", "action:undo",
    "action:redo", "debug:info", "run:annotations_action", "click:element",
})
#: Event timestamps (after the clock correction) may lie this far ahead of the server's clock.
FUTURE_TOLERANCE = timedelta(minutes=5)
MAX_EVENTS = 10_000
_UINT32 = 2**32 - 1
_UINT64 = 2**64 - 1
_INTS = {"obj_id": _UINT64, "count": 2**16 - 1, "duration": _UINT32, "project_id": _UINT64,
         "task_id": _UINT64, "job_id": _UINT64, "user_id": _UINT64, "org_id": _UINT64}
#: (field, largest value, value when absent): only a missing duration counts as 0.
_INT_FIELDS = tuple((name, top, 0 if name == "duration" else None) for name, top in _INTS.items())
_LONG_DIGITS = re.compile(r"\d{19}")
_STRS = ("obj_name", "obj_val", "source", "user_name", "user_email", "org_slug", "payload")


def record(caller: Caller, body: dict[str, Any]) -> dict[str, Any]:
    """Store the batch; the answer CVAT gives (``events`` and ``timestamp``)."""
    received = datetime.now(UTC)
    sent = _datetime(body.get("timestamp"), "timestamp", required=True)
    correction = received - sent
    raw = body.get("events", [])
    if not isinstance(raw, list):
        raise ValidationFailed.field("events", "Expected a list of items.")
    if len(raw) > MAX_EVENTS:
        raise ValidationFailed.field("events", f"At most {MAX_EVENTS} events in one request.")
    events = [_event(item, f"events[{i}]") for i, item in enumerate(raw)]
    previous = body.get("previous_event")
    if previous is not None:
        previous = _event(previous, "previous_event", client_scope=False)
        previous["timestamp"] += correction
    stamp = {**_requester(caller), "source": "client"}
    latest = received + FUTURE_TOLERANCE
    answer, records = [], []
    for i, (event, event_id) in enumerate(zip(events, new_ids(len(events)), strict=True)):
        event["timestamp"] += correction
        if event["timestamp"] > latest:
            raise ValidationFailed({f"events[{i}].timestamp":
                                    "The event lies in the future (after the clock correction)."})
        fields = {**event, **stamp, "timestamp": iso_ms(event["timestamp"])}
        answer.append(fields)
        records.append({**fields, "id": event_id})
    records += _working_time(events, previous, stamp)
    event_outbox.write(caller.session.connection(), records)
    return {"events": answer, "timestamp": iso_ms(sent)}


def _requester(caller: Caller) -> dict[str, Any]:
    user = caller.require_user()
    org = org_context(caller).org
    return {"user_id": user.id, "user_name": user.username, "user_email": user.email or None,
            "org_id": org.id if org is not None else None,
            "org_slug": org.slug if org is not None else None}


def _working_time(events: list[dict[str, Any]], previous: dict[str, Any] | None,
                  stamp: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for (job_id, task_id, project_id), spent in working_time_per_ids(events, previous).items():
        ms = milliseconds(spent["value"])
        if ms <= 0:
            continue
        out.append(new_record(
            WORKING_TIME_SCOPE, spent["timestamp"], **stamp, count=1,
            duration=ms, job_id=job_id, task_id=task_id, project_id=project_id,
            payload=json.dumps({"working_time": ms})))
    return out


def _event(item: Any, where: str, client_scope: bool = True) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise ValidationFailed.field(where, "Expected an object.")
    scope = item.get("scope")
    if not isinstance(scope, str) or not scope:
        raise ValidationFailed.field(f"{where}.scope", "This field is required (a string).")
    if client_scope and scope not in ALLOWED_SCOPES:
        raise ValidationFailed({"scope": f"Event scope **{scope}** is not allowed from client"})
    event: dict[str, Any] = {"scope": scope,
                             "timestamp": _datetime(item.get("timestamp"), f"{where}.timestamp",
                                                    required=True)}
    get = item.get  # the loops below run 15 times an event, 15,000 times a batch
    for name, top, default in _INT_FIELDS:
        value = get(name, default)
        if value is not None and not (type(value) is int and 0 <= value <= top):  # not bool
            raise ValidationFailed.field(f"{where}.{name}",
                                         f"A whole number from 0 to {top} or null.")
        event[name] = value
    for name in _STRS:
        value = get(name)
        if value is not None and type(value) is not str:
            raise ValidationFailed.field(f"{where}.{name}", "Not a valid string.")
        event[name] = value
    event["payload"] = _payload(event["payload"], where)
    return event


def _payload(text: str | None, where: str) -> str:
    """The payload parsed and written again (CVAT re-serializes it): through orjson, a
    tenth of the time of the json module (a quarter of the request with it). What orjson
    refuses but Python's json reads (``NaN``) goes the slow way, and so does text with a
    run of 19 digits or more, a number orjson might read as a float (integers past 64
    bits) where json keeps it exact."""
    if text is None:
        return "{}"
    if _LONG_DIGITS.search(text) is None:
        try:
            return orjson.dumps(orjson.loads(text)).decode()
        except (orjson.JSONDecodeError, orjson.JSONEncodeError):
            pass
    try:
        return json.dumps(json.loads(text))
    except (ValueError, RecursionError):
        raise ValidationFailed({"payload": "JSON payload is not valid in passed event",
                                "event": where}) from None


def _datetime(value: Any, name: str, required: bool = False) -> datetime:
    if value is None and required:
        raise ValidationFailed.field(name, "This field is required.")
    if not isinstance(value, str):
        raise ValidationFailed.field(name, "Datetime has wrong format (ISO 8601 expected).")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationFailed.field(
            name, "Datetime has wrong format (ISO 8601 expected).") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
