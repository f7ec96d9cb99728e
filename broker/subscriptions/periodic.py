# SPDX-License-Identifier: EUPL-1.2
"""Periodic notification (timeInterval, clause 5.2.12): every timeInterval seconds, one notification
with the entities that match the subscription at that moment (none matching: nothing is sent).

The first notification comes one interval after the subscription is seen, never at its
creation. Paused and expired subscriptions are skipped; a new version (PATCH) restarts the clock.
The entities are read by the delivery when it sends, so a slow store never delays this loop.

Several broker processes sharing a store each run this scheduler, but each notification is sent by
one of them: before sending, a process claims it in the store (`Store.claim_periodic`, one atomic
upsert of the next due time). A process that loses the claim waits for the next due time the winner
stored, and is then ready to take over should the winner have stopped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from broker.errors import NgsiLdError
from broker.store.base import EntityQuery, EntitySelector, Store
from broker.subscriptions.compiled import CompiledSubscription, now_s
from broker.subscriptions.index import SubscriptionIndex

log = logging.getLogger("citycontext.subscriptions")

_MAX_SLEEP_S = 1.0  # also how soon a new periodic subscription is noticed
_CLAIM_MARGIN_S = 0.05  # after the winner's claim runs out, so that the wall and loop clocks agree it has

# (subscription, wall-clock now, wall-clock next due) -> (won, the next due time stored)
Claim = Callable[[CompiledSubscription, float, float], Awaitable[tuple[bool, float | None]]]


def store_claim(store: Store) -> Claim:
    async def claim(sub: CompiledSubscription, now: float, next_due: float) -> tuple[bool, float | None]:
        return await store.claim_periodic(sub.tenant, sub.id, sub.version, now, next_due)

    return claim


class PeriodicScheduler:
    def __init__(
        self, index: SubscriptionIndex, submit: Callable[[CompiledSubscription], None], claim: Claim | None = None
    ) -> None:
        self.index = index
        self.submit = submit
        self.claim = claim
        self._due: dict[tuple[str, str], tuple[str, float]] = {}  # (tenant, id) -> (version, next due)
        self._wake = asyncio.Event()

    def poke(self) -> None:
        """A subscription changed: look again now."""
        self._wake.set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due, next_due = self.tick(loop.time())
            for sub in due:
                await self._send(sub, loop.time())
            if due:  # a lost claim moves this process's due time to the winner's
                next_due = min((time for _, time in self._due.values()), default=None)
            self._wake.clear()
            sleep = _MAX_SLEEP_S if next_due is None else min(_MAX_SLEEP_S, max(0.0, next_due - loop.time()))
            try:
                await asyncio.wait_for(self._wake.wait(), sleep)
            except TimeoutError:
                pass

    async def _send(self, sub: CompiledSubscription, now: float) -> None:
        """Claim the notification (with a store) and submit it when this process won it."""
        if self.claim is None:
            self.submit(sub)
            return
        key = (sub.tenant, sub.id)
        version, due = self._due[key]
        wall = now_s()
        try:
            won, stored = await self.claim(sub, wall, wall + (due - now))
        except NgsiLdError as exc:  # the store is down: skip this one rather than send it twice
            log.warning("periodic notification of %s not claimed: %s", sub.id, exc.detail)
            return
        if won:
            self.submit(sub)
        elif stored is not None and key in self._due:  # wake when the winner's claim runs out
            self._due[key] = (version, now + max(0.0, stored - wall) + _CLAIM_MARGIN_S)

    def tick(self, now: float) -> tuple[list[CompiledSubscription], float | None]:
        """What is due now (to claim and submit), and the loop time of the next due notification."""
        due_now: list[CompiledSubscription] = []
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
                    due_now.append(sub)
                due += sub.time_interval_s
                if due <= now:  # fell behind (a busy loop): skip the missed ones, do not burst
                    due = now + sub.time_interval_s
            self._due[key] = (sub.version, due)
            earliest = due if earliest is None else min(earliest, due)
        for key in set(self._due) - seen:
            del self._due[key]
        return due_now, earliest


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


__all__ = ["Claim", "PeriodicScheduler", "query_matching", "store_claim"]
