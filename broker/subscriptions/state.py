# SPDX-License-Identifier: EUPL-1.2
"""Delivery state of each subscription: timesSent, timesFailed, lastNotification, lastSuccess,
lastFailure (clause 5.2.14), and lastFailureReason, which says why.

The state lives in the store (broker.store.delivery_state), apart from the subscription, so that
writing it never races with a PATCH of the subscription. Every delivery updates an in-memory delta;
`flush` adds the deltas to the store every `notification_state_flush_s` (and at shutdown), so a
busy subscription costs one store write per period, not one per notification. The store adds them
atomically (times_sent = times_sent + n), so several broker processes sharing it lose no increment.
Reads overlay the deltas not yet written, so this process always reads its own latest state.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from broker.errors import NgsiLdError
from broker.store.base import DeliveryDelta, Store

log = logging.getLogger("citycontext.subscriptions")

# Kept for the API of this package: the delivery state used to be a document of this kind.
STATUS_KIND = "subscriptionStatus"
_TIMES = ("lastNotification", "lastSuccess", "lastFailure")


class DeliveryStates:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._deltas: dict[tuple[str, str], DeliveryDelta] = {}
        self._lock = asyncio.Lock()

    def sent(self, tenant: str, subscription_id: str, at: str) -> None:
        delta = self._delta(tenant, subscription_id)
        delta.sent += 1
        delta.last_notification = delta.last_success = at

    def failed(self, tenant: str, subscription_id: str, at: str, reason: str, *, attempted: bool = True) -> None:
        """A notification that could not be delivered; `attempted=False` when it was never sent (dropped)."""
        delta = self._delta(tenant, subscription_id)
        delta.failed += 1
        if attempted:
            delta.sent += 1
            delta.last_notification = at
        delta.last_failure = at
        delta.last_failure_reason = reason

    def _delta(self, tenant: str, subscription_id: str) -> DeliveryDelta:
        key = (tenant, subscription_id)
        delta = self._deltas.get(key)
        if delta is None:
            delta = self._deltas[key] = DeliveryDelta()
        return delta

    async def read(self, tenant: str, subscription_id: str) -> dict[str, Any]:
        async with self._lock:
            stored = await self.store.delivery_state(tenant, subscription_id)
            return _apply(stored, self._deltas.get((tenant, subscription_id)))

    async def read_tenant(self, tenant: str) -> dict[str, dict[str, Any]]:
        async with self._lock:
            stored = await self.store.delivery_states(tenant)
            ids = set(stored) | {sub_id for (sub_tenant, sub_id) in self._deltas if sub_tenant == tenant}
            return {sub_id: _apply(stored.get(sub_id, {}), self._deltas.get((tenant, sub_id))) for sub_id in ids}

    async def forget(self, tenant: str, subscription_id: str) -> None:
        async with self._lock:
            self._deltas.pop((tenant, subscription_id), None)
            await self.store.delete_delivery_state(tenant, subscription_id)

    async def flush(self, exists: Callable[[str, str], bool] | None = None) -> None:
        """Add the deltas to the store; `exists(tenant, id)` tells whether the subscription still exists."""
        async with self._lock:
            deltas, self._deltas = self._deltas, {}
            for (tenant, subscription_id), delta in deltas.items():
                if exists is not None and not exists(tenant, subscription_id):
                    continue
                try:
                    await self.store.add_delivery_state(tenant, subscription_id, delta)
                except NgsiLdError as exc:
                    log.warning("delivery state of %s not saved: %s", subscription_id, exc.detail)
                    self._deltas[(tenant, subscription_id)] = _merge(delta, self._deltas.get((tenant, subscription_id)))


def _apply(stored: dict[str, Any], delta: DeliveryDelta | None) -> dict[str, Any]:
    state = dict(stored)
    state.setdefault("timesSent", 0)
    state.setdefault("timesFailed", 0)
    if delta is None:
        return state
    state["timesSent"] += delta.sent
    state["timesFailed"] += delta.failed
    for name, value in zip(_TIMES, (delta.last_notification, delta.last_success, delta.last_failure), strict=True):
        if value is not None and (state.get(name) is None or value >= state[name]):  # ties: the newer, as the stores do
            state[name] = value
            if name == "lastFailure":
                state["lastFailureReason"] = delta.last_failure_reason
    return state


def _merge(older: DeliveryDelta, newer: DeliveryDelta | None) -> DeliveryDelta:
    if newer is None:
        return older
    return DeliveryDelta(
        sent=older.sent + newer.sent,
        failed=older.failed + newer.failed,
        last_notification=newer.last_notification or older.last_notification,
        last_success=newer.last_success or older.last_success,
        last_failure=newer.last_failure or older.last_failure,
        last_failure_reason=newer.last_failure_reason if newer.last_failure else older.last_failure_reason,
    )


__all__ = ["STATUS_KIND", "DeliveryStates"]
