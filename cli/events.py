"""``cvatcore events``: the analytics event log from the command line."""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime
from typing import Any

import click

from cvatcore.cli.state import state_or_exit


@click.group()
def events() -> None:
    """The analytics event log: tail it, export it, re-send it to a sink."""


@events.command()
@click.option("-n", "--lines", type=int, default=20, show_default=True,
              help="How many of the newest events to print first.")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new events (Ctrl-C stops).")
@click.option("--scope", help="Only events of this scope (e.g. create:task).")
def tail(lines: int, follow: bool, scope: str | None) -> None:
    """Print the newest events of the outbox as JSON lines."""
    from sqlalchemy import select

    from cvatcore.core.models import OutboxEvent

    state = state_or_exit()
    with state.db.unit_of_work(write=False) as session:
        rows = session.execute(select(OutboxEvent.seq, OutboxEvent.record)
                               .order_by(OutboxEvent.seq.desc()).limit(max(lines, 0))).all()
    last = _print(reversed(rows), scope, rows[0][0] if rows else 0)
    while follow:
        time.sleep(1)
        with state.db.unit_of_work(write=False) as session:
            rows = session.execute(select(OutboxEvent.seq, OutboxEvent.record)
                                   .where(OutboxEvent.seq > last).order_by(OutboxEvent.seq)
                                   ).all()
        last = _print(rows, scope, last)


def _print(rows: Any, scope: str | None, last: int) -> int:
    for seq, record in rows:
        if scope is None or json.loads(record).get("scope") == scope:
            click.echo(record)
        last = max(last, seq)
    return last


@events.command()
@click.option("--from", "start", help="ISO date-time; default: 30 days ago.")
@click.option("--to", "end", help="ISO date-time; default: now.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="File (default: stdout).")
@click.option("--org-id", type=int)
@click.option("--project-id", type=int)
@click.option("--task-id", type=int)
@click.option("--job-id", type=int)
@click.option("--user-id", type=int)
def export(start: str | None, end: str | None, output: str | None, **ids: int | None) -> None:
    """Write the events of a time range as CSV (CVAT's columns), streamed; the command line
    sees every event (no permission filters)."""
    from cvatcore.core.errors import ApiError
    from cvatcore.core.services.events_export import csv_chunks, readable_sink
    from cvatcore.hooks import EventQuery

    state = state_or_exit()
    try:
        _, sink = readable_sink(state)
        now = datetime.now(UTC)
        query = EventQuery(start=_when(start) or datetime.fromtimestamp(now.timestamp()
                                                                        - 30 * 86400, UTC),
                           end=_when(end) or now,
                           **{k: v for k, v in ids.items() if v is not None})
    except ApiError as exc:
        raise click.ClickException(str(exc.detail)) from None
    target = open(output, "wb") if output else sys.stdout.buffer  # noqa: SIM115
    try:
        for chunk in csv_chunks(sink.read(query)):
            target.write(chunk)
    finally:
        if output:
            target.close()


def _when(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{text!r} is not an ISO date-time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@events.command()
@click.argument("sink")
@click.option("--from-seq", type=int, default=0, show_default=True,
              help="Outbox position to start from (0: everything the outbox still holds).")
def resend(sink: str, from_seq: int) -> None:
    """Hand SINK the outbox again (after restoring its store, say); ids it holds are not
    added twice."""
    from cvatcore.core.services import event_drain

    state = state_or_exit()
    if sink not in state.settings.analytics.sinks:
        raise click.ClickException(f"{sink!r} is not in [analytics] sinks "
                                   f"({', '.join(state.settings.analytics.sinks) or 'none'})")
    event_drain.rewind(state, sink, from_seq)
    count, retry = event_drain.drain_sink(state, sink, event_drain.safe_bound(state),
                                          replay=True)
    click.echo(f"{sink}: handed {count} event(s)")
    if retry is not None:
        raise click.ClickException(f"{sink} failed; the rest waits in the outbox "
                                   "(the drain job retries it)")


@events.command("status")
def status_command() -> None:
    """Each sink's waiting and delivered events, and its last error."""
    from cvatcore.core.services import event_drain

    state = state_or_exit()
    for row in event_drain.status(state):
        click.echo(json.dumps(row))
