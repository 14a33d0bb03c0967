"""CVAT's ClickHouse schema (``components/analytics/clickhouse/*.cmf``), applied in order;
each statement is idempotent, so an existing CVAT table is adopted as it is."""

from __future__ import annotations


def statements(database: str, table: str) -> list[str]:
    name = f"`{database}`.`{table}`"
    return [
        f"CREATE DATABASE IF NOT EXISTS `{database}`",
        # 000-initial.cmf
        f"""CREATE TABLE IF NOT EXISTS {name}
        (
            `scope` String NOT NULL,
            `obj_name` String NULL,
            `obj_id` UInt64 NULL,
            `obj_val` String NULL,
            `source` String NOT NULL,
            `timestamp` DateTime64(3, 'Etc/UTC') NOT NULL,
            `count` UInt16 NULL,
            `duration` UInt32 DEFAULT toUInt32(0),
            `project_id` UInt64 NULL,
            `task_id` UInt64 NULL,
            `job_id` UInt64 NULL,
            `user_id` UInt64 NULL,
            `user_name` String NULL,
            `user_email` String NULL,
            `org_id` UInt64 NULL,
            `org_slug` String NULL,
            `payload` String NULL
        )
        ENGINE = MergeTree
        PARTITION BY toYYYYMM(timestamp)
        ORDER BY (timestamp)
        SETTINGS index_granularity = 8192""",
        # 001-add_api_token.cmf
        f"ALTER TABLE {name} ADD COLUMN IF NOT EXISTS `api_token` Nullable(UInt64) DEFAULT NULL",
        # cvatcore: each event's id, so that a batch handed again adds nothing
        f"ALTER TABLE {name} ADD COLUMN IF NOT EXISTS `event_id` String DEFAULT ''",
    ]
