"""Hook specs for analytics event sinks (a log file, ClickHouse, ...)."""

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
