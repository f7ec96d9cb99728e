# SPDX-License-Identifier: EUPL-1.2
"""History maintenance: retention per tenant, and the store's preparation (PostgreSQL partitions).

Every `history_maintenance_interval_s` (and once at start-up) the store prepares the coming
storage (maintain_history) and each tenant's instances older than its retention are deleted
(history_retention_days, overridden per tenant by history_retention_by_tenant; 0 keeps all).
The age of an instance is the age of its instant (observedAt, else the write). A failing run is
logged and retried at the next interval; it never stops the broker.
"""

from __future__ import annotations

import logging
import time

from broker.periodic import Periodic
from broker.settings import Settings
from broker.store.base import Store
from broker.temporal.times import DAY_MS

log = logging.getLogger("citycontext.temporal")


async def run_maintenance(store: Store, settings: Settings, now_ms: int | None = None) -> dict[str, int]:
    """One run: prepare the store, then purge; the number of instances deleted per tenant."""
    now = now_ms if now_ms is not None else int(time.time() * 1000)
    await store.maintain_history(now)
    deleted: dict[str, int] = {}
    for tenant in await store.history_tenants():
        days = settings.history_retention_days_of(tenant)
        if days > 0:
            deleted[tenant] = await store.purge_history(tenant, now - days * DAY_MS)
    return deleted


def history_maintenance(store: Store, settings: Settings) -> Periodic:
    """The periodic run, an async context manager opened in the app's lifespan."""

    async def maintain() -> None:
        deleted = await run_maintenance(store, settings)
        if any(deleted.values()):
            log.info("history retention deleted %s", deleted)

    return Periodic("history maintenance", settings.history_maintenance_interval_s, maintain, log)


__all__ = ["history_maintenance", "run_maintenance"]
