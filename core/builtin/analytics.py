"""Built-in plugin for the analytics event log: the in-transaction subscriber that writes
every domain event's CVAT records to the outbox, and the background jobs that drain it to the
sinks and export CSV files."""

from cvatcore.hooks import Register, hookimpl


@hookimpl
def register_domain_subscribers(register: Register) -> None:
    from cvatcore.core.services.event_outbox import on_domain_event

    register("analytics-outbox", on_domain_event)


@hookimpl
def register_job_kinds(register: Register) -> None:
    from cvatcore.core.services import event_drain
    from cvatcore.core.services.event_outbox import DRAIN_KIND

    register(DRAIN_KIND, event_drain.run,
             description="hand the events outbox to every configured sink")
    from cvatcore.core.services import events_export

    register(events_export.KIND, events_export.run,
             description="write the event log as CSV (GET /api/events, /api/events/export)")
    register(events_export.CLEANUP_KIND, events_export.clean_up,
             description="remove an event-log CSV nobody downloaded, after its keep time")
