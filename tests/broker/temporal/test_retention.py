# SPDX-License-Identifier: EUPL-1.2
"""Retention per tenant: each tenant keeps the days of history the settings give it."""

from __future__ import annotations

from broker.settings import Settings
from broker.store import SqliteStore
from broker.temporal import HistoryEntity, HistoryWindow, instance_record
from broker.temporal.retention import run_maintenance
from broker.temporal.times import DAY_MS, datetime_ms

TEMP = "https://example.org/temperature"
NOW = datetime_ms("2026-07-31T00:00:00Z")


async def fill(store: SqliteStore, tenant: str) -> None:
    days = [NOW - d * DAY_MS for d in (40, 20, 5)]
    records = [
        instance_record("urn:x:1", TEMP, {"type": "Property", "value": float(i)}, ms) for i, ms in enumerate(days)
    ]
    await store.add_history(tenant, HistoryEntity("urn:x:1", ("https://example.org/T",)), records)


async def test_each_tenant_keeps_its_retention_and_zero_keeps_all() -> None:
    settings = Settings.from_mapping(
        {"CITYCONTEXT_HISTORY_RETENTION_DAYS": "30", "CITYCONTEXT_HISTORY_RETENTION_BY_TENANT": "verkehr=10,archiv=0"}
    )
    async with SqliteStore(":memory:") as store:
        for tenant in ("", "verkehr", "archiv"):
            await fill(store, tenant)
        deleted = await run_maintenance(store, settings, now_ms=NOW)
        assert deleted == {"": 1, "verkehr": 2}
        kept = {
            tenant: [row.doc["value"] for row in await store.read_history(tenant, "urn:x:1", TEMP, HistoryWindow(), limit=10)]
            for tenant in ("", "verkehr", "archiv")
        }
        assert kept == {"": [1.0, 2.0], "verkehr": [2.0], "archiv": [0.0, 1.0, 2.0]}
