# SPDX-License-Identifier: EUPL-1.2
"""Periodic notification (timeInterval, clause 5.2.12): every timeInterval seconds, one notification
with the entities that match the subscription at that moment (none matching: nothing is sent).

The first notification comes one interval after the subscription is seen, never at its
creation. Paused and expired subscriptions are skipped; a new version (PATCH) restarts the clock.
The entities are read by the delivery when it sends, so a slow store never delays this loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from broker.store.base import EntityQuery, EntitySelector, Store
from broker.subscriptions.compiled import CompiledSubscription, now_s
from broker.subscriptions.index import SubscriptionIndex

_MAX_SLEEP_S = 1.0  # also how soon a new periodic subscription is noticed


class PeriodicScheduler:
    def __init__(self, index: SubscriptionIndex, submit: Callable[[CompiledSubscription], None]) -> None:
        self.index = index
        self.submit = submit
        self._due: dict[tuple[str, str], tuple[str, float]] = {}  # (tenant, id) -> (version, next due)
        self._wake = asyncio.Event()

    def poke(self) -> None:
        """A subscription changed: look again now."""
        self._wake.set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            next_due = self.tick(loop.time())
            self._wake.clear()
            sleep = _MAX_SLEEP_S if next_due is None else min(_MAX_SLEEP_S, max(0.0, next_due - loop.time()))
            try:
                await asyncio.wait_for(self._wake.wait(), sleep)
            except TimeoutError:
                pass

    def tick(self, now: float) -> float | None:
        """Submit what is due; the loop time of the next due notification."""
        seen: set[tuple[str, str]] = set()
        earliest: float | None = None
        wall = now_s()
        for sub in self.index.all():
            if sub.time_interval_s is None:
                continue
            key = (sub.tenant, sub.id)
            seen.add(key)
            version, due = self._due.get(key, ("", 0.0))
            if version != sub.version:
                due = now + sub.time_interval_s
            elif due <= now:
                if sub.is_live(wall):
                    self.submit(sub)
                due += sub.time_interval_s
                if due <= now:  # fell behind (a busy loop): skip the missed ones, do not burst
                    due = now + sub.time_interval_s
            self._due[key] = (sub.version, due)
            earliest = due if earliest is None else min(earliest, due)
        for key in set(self._due) - seen:
            del self._due[key]
        return earliest


async def query_matching(store: Store, sub: CompiledSubscription, page_size: int) -> list[dict[str, Any]]:
    """The entities that match a periodic subscription now (entities, q, geoQ, scopeQ), read in pages."""
    selectors = tuple(
        EntitySelector(
            ids=(selector.entity_id,) if selector.entity_id is not None else None,
            id_pattern=selector.id_pattern_text,
            types=selector.types,
        )
        for selector in sub.selectors
    )
    query = EntityQuery(selectors=selectors, q=sub.q, geo=sub.geo, scope=sub.scope)
    entities: list[dict[str, Any]] = []
    while True:
        page, _ = await store.query_entities(sub.tenant, query, limit=page_size, offset=len(entities), count=False)
        entities.extend(page)
        if len(page) < page_size:
            return entities


__all__ = ["PeriodicScheduler", "query_matching"]
