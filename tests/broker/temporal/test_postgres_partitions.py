# SPDX-License-Identifier: EUPL-1.2
"""PostgreSQL only: the history is partitioned by month, and imported older data gets its partitions."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import asyncpg  # type: ignore[import-untyped]

from broker.store import PostgresStore
from broker.store.postgres_history import partition_name
from broker.temporal import HistoryEntity, HistoryWindow, instance_record
from broker.temporal.times import datetime_ms, month_index

TEMP = "https://example.org/temperature"


async def partition_counts(dsn: str) -> dict[str, int]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT tableoid::regclass::text, count(*) FROM history GROUP BY 1")
        return {row[0]: row[1] for row in rows}
    finally:
        await conn.close()


async def test_partitions_of_this_month_exist_and_imported_months_get_theirs(
    fresh_database: Callable[[], Awaitable[str]],
) -> None:
    dsn = await fresh_database()
    now_ms = int(time.time() * 1000)
    async with PostgresStore(dsn, pool_size=2) as store:
        old = ["2024-03-05T10:00:00Z", "2024-03-20T10:00:00Z", "2024-04-01T00:00:00Z"]
        records = [
            instance_record("urn:x:1", TEMP, {"type": "Property", "value": float(i), "observedAt": t}, datetime_ms(t))
            for i, t in enumerate(old)
        ]
        await store.add_history("", HistoryEntity("urn:x:1", ("https://example.org/T",)), records)
        assert await partition_counts(dsn) == {"history_default": 3}
        await store.maintain_history(now_ms)
        assert await partition_counts(dsn) == {"history_202403": 2, "history_202404": 1}
        conn = await asyncpg.connect(dsn)
        try:
            names = {row[0] for row in await conn.fetch("SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = 'history'::regclass")}
        finally:
            await conn.close()
        assert partition_name(month_index(now_ms)) in names and partition_name(month_index(now_ms) + 2) in names
        rows = await store.read_history("", "urn:x:1", TEMP, HistoryWindow(), limit=10)
        assert [row.doc["value"] for row in rows] == [0.0, 1.0, 2.0]
        await store.maintain_history(now_ms)  # again: nothing to do


async def test_an_instance_in_december_9999_stays_in_the_default_partition(
    fresh_database: Callable[[], Awaitable[str]],
) -> None:
    # The month's upper bound (10000-01-01) is no DateTime: the maintenance leaves the row in DEFAULT, and
    # the next start of the store (which runs the maintenance) still succeeds.
    dsn = await fresh_database()
    last = "9999-12-15T00:00:00Z"
    record = instance_record("urn:x:1", TEMP, {"type": "Property", "value": 1.0, "observedAt": last}, datetime_ms(last))
    async with PostgresStore(dsn, pool_size=2) as store:
        await store.add_history("", HistoryEntity("urn:x:1", ("https://example.org/T",)), [record])
        await store.maintain_history(int(time.time() * 1000))
    async with PostgresStore(dsn, pool_size=2) as store:
        rows = await store.read_history("", "urn:x:1", TEMP, HistoryWindow(), limit=10)
        assert [row.doc["value"] for row in rows] == [1.0]
    assert await partition_counts(dsn) == {"history_default": 1}
