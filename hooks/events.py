"""Hook specs for analytics event sinks (a log file, ClickHouse, ...)."""

from collections.abc import Callable

from cvatcore.hooks.markers import hookspec
from cvatcore.hooks.types import Register


@hookspec
def register_event_sinks(register: Register) -> None:
    """Add event sinks that store CVAT analytics events.

    Called: once, synchronously, while the application is built.

    Arguments:
        register: ``register(name, factory, config_model=..., description=...)``.
            ``factory(config)`` returns an object that follows ``cvatcore.hooks.EventSink``.
            Operators choose sinks by name with ``[analytics] sinks = [...]``.

    Returns:
        Nothing; sinks are added only through ``register``. Duplicate names stop start-up.

    Example::

        @hookimpl
        def register_event_sinks(register):
            register("clickhouse", ClickHouseSink, config_model=ClickHouseConfig)
    """


@hookspec
def register_domain_subscribers(subscribe: Callable[..., None]) -> None:
    """Listen to domain events (every create, update and delete of a domain object).

    The objects are projects, tasks, jobs, labels, annotation sets, issues, comments, cloud
    storages, users, organizations, memberships and invitations.

    Called: once, synchronously, while the application is built.

    Arguments:
        subscribe: ``subscribe(handler, scopes=None, committed=False)``.

            With ``committed=False`` (the default) ``handler(connection, event)`` runs *inside*
            the database transaction of the change, on its SQLAlchemy ``Connection``, right
            when the change is made. Write rows there (an outbox, delivery records) and nothing
            else: no network, no files. If the transaction rolls back, so do those rows, and
            an exception in the handler rolls the change back with it.

            With ``committed=True`` ``handler(event)`` runs after the transaction committed
            (never for a rolled-back change), outside any transaction; use it to wake
            in-process workers or caches. Exceptions are logged and swallowed.

            ``scopes`` is an optional collection of ``"<action>:<resource>"`` strings
            (``"create:task"``, ``"update:job"``); ``None`` means every event. The event is a
            ``cvatcore.hooks.DomainEvent``.

    Returns:
        Nothing.

    Example::

        @hookimpl
        def register_domain_subscribers(subscribe):
            subscribe(write_outbox_row)                      # in the transaction
            subscribe(wake_sender, scopes={"create:task"}, committed=True)
    """
