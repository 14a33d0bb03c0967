"""Hook specs for analytics event sinks (a log file, ClickHouse, ...)."""

from cvatcore.hooks.markers import hookspec
from cvatcore.hooks.types import Register


@hookspec
def register_event_sinks(register: Register) -> None:
    """Add event sinks that store CVAT analytics events.

    Called: once, synchronously, while the application is built.

    Arguments:
        register: ``register(name, factory, config_model=..., description=...)``
            (``cvatcore.hooks.Register``): ``config_model`` is a ``ProviderConfig`` subclass
            (``EmptyConfig`` by default), ``description`` is shown by ``cvatcore plugins``.
            ``factory(config)`` returns an object that follows ``cvatcore.hooks.EventSink``.
            Operators choose sinks by name with ``[analytics] sinks = [...]`` (several at
            once; options under ``[analytics.options.<name>]``).

            How events reach a sink: every domain event (and every ``POST /api/events``
            batch) is written as CVAT event records to an outbox table in the same database
            transaction; ``drain:events`` background jobs hand them to each sink in batches of
            ``[analytics] batch_size`` through ``sink.write(records)``. A sink that raises is
            tried again later with the same events (its progress is kept per sink), so it
            must store each record ``id`` once: ``cvatcore.hooks.testing.contracts`` has
            ``StoresEachEventOnceContract`` for that. A sink with ``read(EventQuery)`` can
            serve the CSV export (``GET /api/events``); a factory class with ``read`` is
            enough for the core to know it.

    Returns:
        Nothing; sinks are added only through ``register``. Duplicate names stop start-up.

    Example::

        @hookimpl
        def register_event_sinks(register):
            register("clickhouse", ClickHouseSink, config_model=ClickHouseConfig)
    """


@hookspec
def register_domain_subscribers(register: Register) -> None:
    """Listen to domain events (every create, update and delete of a domain object).

    The objects are projects, tasks, jobs, labels, annotation sets, issues, comments, cloud
    storages, users, organizations, memberships and invitations.

    Called: once, synchronously, while the application is built.

    Arguments:
        register: ``register(name, handler, scopes=None, committed=False)``
            (``cvatcore.hooks.Register``). ``name`` names the subscriber (for people reading
            ``CVATCORE_TRACE_PLUGINS`` output; any text).

            With ``committed=False`` (the default) ``handler(connection, event)`` runs *inside*
            the database transaction of the change, on its SQLAlchemy ``Connection``, right
            when the change is made. Write rows there (an outbox, delivery records) or queue
            background work with ``cvatcore.hooks.enqueue(connection, kind, args)``, and
            nothing else: no network, no files. If the transaction rolls back, so do those
            rows and jobs, and an exception in the handler rolls the change back with it.

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
        def register_domain_subscribers(register):
            register("outbox", write_outbox_row)             # in the transaction
            register("wake", wake_sender, scopes={"create:task"}, committed=True)
    """
