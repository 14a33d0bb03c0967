"""cvatcore-clickhouse: the ``clickhouse`` event sink (``[analytics] sinks = ["clickhouse"]``).

Events go into CVAT's ``events`` table (created with CVAT's DDL, plus an ``event_id`` column),
so CVAT's Grafana dashboards and queries work unchanged; inserts are batched, and an event id
the table already holds is not inserted again.
"""

from cvatcore.hooks import Register, hookimpl
from cvatcore_clickhouse.sink import ClickHouseConfig, ClickHouseSink

__all__ = ["ClickHouseConfig", "ClickHouseSink"]


@hookimpl
def register_event_sinks(register: Register) -> None:
    register("clickhouse", ClickHouseSink, config_model=ClickHouseConfig,
             description="CVAT's events table in ClickHouse (exportable, Grafana)")
