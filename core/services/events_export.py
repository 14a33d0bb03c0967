"""Exporting the event log as CSV (``GET /api/events``, ``POST /api/events/export``).

The request checks who asks and turns CVAT's rules (``events.rego``) into filters that are
stored with the job: an admin sees everything (in an organization: its events), a sandbox
user their own events, an organization maintainer or owner the organization's, another
member their own events in it. The ``export:events`` job reads the first configured sink
that can be read back and streams the CSV into the media store, chunk by chunk.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import uuid
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select

from cvatcore.core.errors import NotFound, PermissionDenied, ValidationFailed
from cvatcore.core.iam.roles import has_org_role, has_privilege
from cvatcore.core.jobs.queue import enqueue
from cvatcore.core.models import BackgroundJob
from cvatcore.core.models.base import utcnow
from cvatcore.core.services.context import subject
from cvatcore.core.services.event_drain import build_sink, drain_sink, safe_bound
from cvatcore.hooks import EVENT_FIELDS, EventQuery, JobFailed

if TYPE_CHECKING:
    from cvatcore.core.services.caller import Caller

KIND = "export:events"
#: Removes an export's file (and its job) once ``[analytics] export_keep_hours`` have passed,
#: whether or not it was downloaded (a download removes them at once).
CLEANUP_KIND = "cleanup:events-export"
ID_FILTERS = ("org_id", "project_id", "task_id", "job_id", "user_id")
DEFAULT_PERIOD = timedelta(days=30)
_CHUNK_ROWS = 1000


def start(caller: Caller, q: Mapping[str, str]) -> str:
    """Queue an export of the events the caller may see, narrowed by ``q``; the query id."""
    if q.get("location", "local") != "local":
        raise ValidationFailed.field("location", "Only local exports are supported.")
    filters = _filters(caller, q)
    readable_sink(caller.state)
    query_id = str(uuid.uuid4())
    user = caller.require_user()
    args = {"filters": filters, "filename": q.get("filename") or None,
            "request_id": caller.request_id}
    enqueue(caller.session, job_id=job_id(query_id, user.id), kind=KIND, args=args,
            operation={"type": KIND, "target": "events"}, owner_id=user.id)
    return query_id


def job_id(query_id: str, user_id: int) -> str:
    """A query belongs to the user who started it (CVAT: ``...-by-<user>``)."""
    return f"action=export&target=events&id={query_id}&user_id={user_id}"


def find(caller: Caller, query_id: str) -> BackgroundJob:
    job = caller.session.scalar(select(BackgroundJob).where(
        BackgroundJob.id == job_id(query_id, caller.require_user().id)))
    if job is None:
        raise NotFound("Unknown query id.")
    return job


def result_url(query_id: str) -> str:
    return f"/api/events?query_id={query_id}&action=download"


def file_key(job_id_: str) -> str:
    return f"exports/events/{hashlib.sha256(job_id_.encode()).hexdigest()}.csv"


def file_name(job: BackgroundJob) -> str:
    stamp = (job.finished_date or datetime.now(UTC)).strftime("%Y_%m_%d_%H_%M_%S")
    return (job.args or {}).get("filename") or f"logs_{stamp}.csv"


def forget_job(caller: Caller, job: BackgroundJob) -> None:
    """Drop the job of a downloaded export (its file goes once sent)."""
    caller.session.delete(job)
    caller.session.flush()


def _filters(caller: Caller, q: Mapping[str, str]) -> dict[str, Any]:
    """The stored filters: ``start``/``end`` (ISO), the ids asked for, and ``forced``, the
    ids CVAT's rules impose (a conflict between the two exports nothing)."""
    subj = subject(caller)
    if not has_privilege(subj.privilege, "worker"):
        raise PermissionDenied("You may not export events.")
    forced: dict[str, int] = {}
    if subj.org_id is not None:
        forced["org_id"] = subj.org_id
        if not subj.is_admin and not has_org_role(subj.org_role, "maintainer"):
            if subj.org_role is None:
                raise PermissionDenied("You are not a member of this organization.")
            forced["user_id"] = subj.user_id
    elif not subj.is_admin:
        forced["user_id"] = subj.user_id
    asked = {name: _int(q, name) for name in ID_FILTERS if q.get(name) not in (None, "")}
    start, end = _datetime(q, "from"), _datetime(q, "to")
    if start and end and start > end:
        raise ValidationFailed.field("from", "'from' must be before 'to'.")
    now = datetime.now(UTC)
    if start is None and end is None:
        start, end = now - DEFAULT_PERIOD, now
    start = start or datetime(1970, 1, 1, tzinfo=UTC)
    end = end or now + timedelta(days=1)
    return {"start": start.isoformat(), "end": end.isoformat(), "asked": asked,
            "forced": forced}


def _int(q: Mapping[str, str], name: str) -> int:
    try:
        value = int(q[name])
    except ValueError:
        raise ValidationFailed.field(name, "A valid integer is required.") from None
    if value < 0:
        raise ValidationFailed.field(name, "A valid integer is required.")
    return value


def _datetime(q: Mapping[str, str], name: str) -> datetime | None:
    text = q.get(name)
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise ValidationFailed.field(name, "Datetime has wrong format (ISO 8601 expected).") \
            from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def event_query(filters: dict[str, Any]) -> EventQuery | None:
    """The sink query for stored filters; None when they contradict each other."""
    ids = dict(filters.get("asked", {}))
    for name, value in filters.get("forced", {}).items():
        if ids.setdefault(name, value) != value:
            return None
    return EventQuery(start=datetime.fromisoformat(filters["start"]),
                      end=datetime.fromisoformat(filters["end"]), **ids)


def readable_sink(state: Any) -> tuple[str, Any]:
    """The first configured sink that can be read back: (its name, the sink)."""
    for name in state.settings.analytics.sinks:
        if callable(getattr(state.registries.get("events", name).factory, "read", None)):
            return name, build_sink(state, name)
    raise ValidationFailed({"detail": "No configured event sink can be read back "
                                      "([analytics] sinks); add \"sql\" or \"clickhouse\"."})


def run(job: Any) -> dict[str, Any]:
    """The ``export:events`` job: the CSV into the media store."""
    state = job.state
    try:
        name, sink = readable_sink(state)
    except ValidationFailed as exc:
        raise JobFailed(str(exc.detail)) from None
    # Every event committed before the export was asked for is in the file, whether or
    # not a drain job ran meanwhile.
    drain_sink(state, name, safe_bound(state), job)
    query = event_query(job.args["filters"])
    rows: Iterable[dict[str, Any]] = sink.read(query) if query is not None else ()
    _schedule_cleanup(state, job.id)  # first: a file is never left without its cleanup
    state.media.write_stream(file_key(job.id), csv_chunks(rows))
    close = getattr(sink, "close", None)
    if callable(close):
        close()
    query_id = job.id.split("&id=", 1)[1].split("&", 1)[0]
    return {"result_url": result_url(query_id)}


def _schedule_cleanup(state: Any, export_job_id: str) -> None:
    keep = timedelta(hours=state.settings.analytics.export_keep_hours)
    with state.db.unit_of_work() as session:
        cleanup = enqueue(session, job_id=f"action=cleanup&target=events&id={uuid.uuid4()}",
                          kind=CLEANUP_KIND, args={"export": export_job_id},
                          operation={"type": CLEANUP_KIND, "target": "events"})
        cleanup.next_run_at = utcnow() + keep


def clean_up(job: Any) -> dict[str, Any]:
    """The ``cleanup:events-export`` job: the export's file and its job row go (a query id
    asked about afterwards is unknown, as in CVAT once its file expired)."""
    state, export_job_id = job.state, job.args["export"]
    with state.db.unit_of_work() as session:
        session.execute(delete(BackgroundJob).where(
            BackgroundJob.id == export_job_id,
            BackgroundJob.status.not_in(("queued", "started"))))
    with contextlib.suppress(FileNotFoundError):  # downloaded meanwhile, or it failed
        state.media.delete(file_key(export_job_id))
    return {}


def csv_chunks(rows: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    """CVAT's CSV: a header of the table's columns, then one line per event."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(EVENT_FIELDS)
    for count, row in enumerate(rows, 1):
        writer.writerow([_cell(name, row.get(name)) for name in EVENT_FIELDS])
        if count % _CHUNK_ROWS == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def _cell(name: str, value: Any) -> Any:
    if value is None:
        return ""
    if name == "timestamp":
        if isinstance(value, str):
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        value = value.astimezone(UTC)
        return value.strftime("%Y-%m-%d %H:%M:%S.") + f"{value.microsecond // 1000:03d}"
    return value
