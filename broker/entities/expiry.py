# SPDX-License-Identifier: EUPL-1.2
"""Transient entities and attributes (ETSI GS CIM 009 v1.9.1, clause 4.22): expiresAt.

An entity, or an attribute instance, whose expiresAt has passed is invalid and is removed from the
broker. Every `expiry_interval_s` the sweep asks the store for the entities that expire (the entity or
one of its attribute instances: the store's expiry index) and removes, in one batch per tenant, the
entities that expired and the expired attribute instances of the others, as DELETE requests would:
subscriptions are notified (entityDeleted, attributeDeleted) and the history records the deletions.
Removal lags expiresAt by up to the interval, as clause 4.22 allows ("final deletion will always lag
the expiresAt timestamp to a certain extent"). Each change decides again on the entity as it is in the
batch's transaction, so a write since the store was asked, or a second broker process sweeping too,
removes nothing that has not expired. A failing sweep is logged and tried again at the next interval.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from typing import Any

from broker.entities import operations as ops
from broker.entities.service import EntityService
from broker.errors import ResourceNotFound
from broker.periodic import Periodic
from broker.store.base import BatchChange, ExpandedEntity, sharing_instances
from broker.temporal.times import datetime_ms

log = logging.getLogger("citycontext.entities")

SWEEP_LIMIT = 1000  # entities removed or changed in one batch; a sweep goes on until none is left


def expired(entity: ExpandedEntity, now_ms: int) -> ExpandedEntity | None:
    """The entity once what has expired by `now_ms` is gone: None when the entity itself expired;
    else the entity without its expired attribute instances (modifiedAt now, the instant of the
    removal), or the entity as it was when nothing of it expired. Lists are replaced, instances are not
    changed in place."""
    if _expired(entity, now_ms):
        return None
    drop_expired_instances(entity, now_ms)
    return entity


def drop_expired_instances(entity: ExpandedEntity, now_ms: int) -> bool:
    """Take the attribute instances that expired by `now_ms` out of the entity (lists replaced, modifiedAt
    now); True when there were any."""
    removed = False
    for key in [key for key in entity if ops.is_attribute_key(key)]:
        kept = [instance for instance in entity[key] if not _expired(instance, now_ms)]
        if len(kept) != len(entity[key]):
            removed = True
            if kept:
                entity[key] = kept
            else:
                del entity[key]
    if removed:
        entity["modifiedAt"] = ops.now_iso()
    return removed


def _expired(item: dict[str, Any], now_ms: int) -> bool:
    """Whether an entity or an attribute instance has expired by `now_ms`."""
    return "expiresAt" in item and datetime_ms(item["expiresAt"]) <= now_ms


def expiry_change(now_ms: int) -> BatchChange:
    """The batch change of one entity the store listed. When nothing of it has expired by now (a write
    or another broker process came first), the item fails with ResourceNotFound, so that the store
    writes nothing and no subscriber hears of a change."""

    def change(current: ExpandedEntity | None) -> tuple[ExpandedEntity | None, Any]:
        if current is None:  # gone since the store was asked
            return None, None
        if _expired(current, now_ms):
            return None, "expired"
        if not drop_expired_instances(current, now_ms):
            raise ResourceNotFound("nothing of the entity has expired")
        return current, None

    return sharing_instances(change)


async def remove_expired(service: EntityService, now_ms: int | None = None, *, limit: int = SWEEP_LIMIT) -> int:
    """One sweep: remove what has expired by `now_ms` (now when not given); the number of entities
    deleted or changed. Entities are not validated against their data models here: an attribute that
    expires goes even when the model requires it."""
    now = now_ms if now_ms is not None else int(time.time() * 1000)
    done = 0
    seen: set[tuple[str, str]] = set()
    while True:
        found = await service.store.expired_entities(now, limit)
        if not seen.isdisjoint(found):  # a full page again and again would not end: stop at a repeat
            found = [key for key in found if key not in seen]
        seen.update(found)
        by_tenant: defaultdict[str, list[str]] = defaultdict(list)
        for tenant, entity_id in found:
            by_tenant[tenant].append(entity_id)
        for tenant, ids in by_tenant.items():
            outcomes = await service.batch_modify(tenant, [(entity_id, expiry_change(now)) for entity_id in ids], validate=False)
            done += sum(1 for outcome in outcomes if outcome.error is None and outcome.before is not None)
        if len(found) < limit:
            return done


def entity_expiry(service: EntityService, interval_s: float) -> Periodic:
    """The periodic sweep, an async context manager opened in the app's lifespan."""

    async def sweep() -> None:
        removed = await remove_expired(service)
        if removed:
            log.info("expiresAt: %d entities deleted or changed", removed)

    return Periodic("the expiry sweep", interval_s, sweep, log)


__all__ = ["entity_expiry", "drop_expired_instances", "expired", "expiry_change", "remove_expired", "SWEEP_LIMIT"]
