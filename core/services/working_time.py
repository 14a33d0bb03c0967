"""Working time from a batch of client events, by CVAT's rules (``events/utils.py``,
``const.py``): the time between consecutive events counts when shorter than 100 s; the part
of an event's span past the previous end always counts (overlaps count once); ``change:frame``
events span ``duration`` ms; time goes to the ids (job, task, project) of the *previous*
event, starting from ``previous_event`` when the client sent one."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

MAX_EVENT_DURATION = timedelta(seconds=100)
WORKING_TIME_RESOLUTION = timedelta(milliseconds=1)
WORKING_TIME_SCOPE = "send:working_time"
COMPRESSED_EVENT_SCOPES = frozenset({"change:frame"})

Ids = tuple[int | None, int | None, int | None]


def end_of(event: dict[str, Any]) -> datetime:
    stamp: datetime = event["timestamp"]
    if event["scope"] in COMPRESSED_EVENT_SCOPES:
        return stamp + timedelta(milliseconds=event.get("duration") or 0)
    return stamp


def _ids(event: dict[str, Any]) -> Ids:
    return event.get("job_id"), event.get("task_id"), event.get("project_id")


def working_time_per_ids(events: list[dict[str, Any]], previous: dict[str, Any] | None
                         ) -> dict[Ids, dict[str, Any]]:
    """``{(job_id, task_id, project_id): {"value": timedelta, "timestamp": first event's}}``;
    events carry ``timestamp`` as aware datetimes."""
    if previous:
        last_end, last_ids = end_of(previous), _ids(previous)
    elif events:
        last_end, last_ids = events[0]["timestamp"], _ids(events[0])
    else:
        return {}
    result: dict[Ids, dict[str, Any]] = {}
    for event in events:
        spent = timedelta()
        stamp = event["timestamp"]
        if stamp > last_end:
            if stamp - last_end < MAX_EVENT_DURATION:
                spent += stamp - last_end
            last_end = stamp
        end = end_of(event)
        if end > last_end:
            spent += end - last_end
            last_end = end
        entry = result.setdefault(last_ids, {"value": timedelta(), "timestamp": stamp})
        entry["value"] += spent
        last_ids = _ids(event)
    return result


def milliseconds(value: timedelta) -> int:
    return int(value / WORKING_TIME_RESOLUTION)
