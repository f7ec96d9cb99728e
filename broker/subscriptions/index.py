# SPDX-License-Identifier: EUPL-1.2
"""Which subscriptions can an entity change concern? An in-memory index, per tenant, that answers
without looking at the others.

A subscription with entities is filed under the id of each selector that names one, else under
the entity types its selectors require (for `A;B` the first, for `A|B` each); a subscription with
only watchedAttributes is filed under each watched attribute; type "*" goes to a short list that
every change consults. Subscriptions alike in everything the matcher checks form one Group, filed
once and checked once. Within each of these buckets, a group whose q has a guard (a comparison that
must be true, broker.subscriptions.q_index) is filed by that guard, so that a change only reaches the
groups whose q the entity may satisfy. Candidates are then checked in full by the matcher. Periodic
subscriptions (timeInterval) are kept, for the scheduler, but never filed for changes.

The index is the local view of the subscriptions in the store: API calls of this process update
it at once, and `load_tenants` re-reads the store so that another broker process's changes are
seen within `subscription_refresh_s`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from broker.errors import NgsiLdError
from broker.store.base import Store
from broker.subscriptions.compiled import CompiledSubscription
from broker.subscriptions.model import DOCUMENT_KIND
from broker.subscriptions.q_index import Guard, QIndex, guard_of

log = logging.getLogger("citycontext.subscriptions")

Compile = Callable[[str, dict[str, Any]], Awaitable[CompiledSubscription]]


class Group:
    """Subscriptions with equal triggers, watchedAttributes, entities, q, geoQ and scopeQ: one check
    tells for all of them, so a thousand alike subscriptions cost a change one evaluation."""

    __slots__ = ("guard", "key", "subscriptions")

    def __init__(self, key: tuple[int, int], guard: Guard | None) -> None:
        self.key = key
        self.guard = guard
        self.subscriptions: dict[str, CompiledSubscription] = {}

    @property
    def example(self) -> CompiledSubscription:
        return next(iter(self.subscriptions.values()))


class _Bucket:
    """The groups filed under one entity id, type or watched attribute: by their q's guard, or plain."""

    __slots__ = ("guarded", "plain")

    def __init__(self) -> None:
        self.plain: dict[tuple[int, int], Group] = {}
        self.guarded = QIndex()

    def __bool__(self) -> bool:
        return bool(self.plain) or bool(self.guarded)

    def add(self, group: Group) -> None:
        if group.guard is None:
            self.plain[group.key] = group
        else:
            self.guarded.add(group.guard, group)

    def discard(self, group: Group) -> None:
        if group.guard is None:
            self.plain.pop(group.key, None)
        else:
            self.guarded.discard(group.guard, group)

    def collect(self, entity: dict[str, Any], found: dict[tuple[int, int], Group], seen: dict[Any, Any]) -> None:
        if self.plain:
            found.update(self.plain)
        if self.guarded:
            self.guarded.collect(entity, found, seen)


class _TenantIndex:
    __slots__ = ("any_type", "by_attribute", "by_id", "by_type", "groups", "subscriptions")

    def __init__(self) -> None:
        self.subscriptions: dict[str, CompiledSubscription] = {}
        self.groups: dict[tuple[int, int], Group] = {}
        self.by_id: dict[str, _Bucket] = {}
        self.by_type: dict[str, _Bucket] = {}
        self.by_attribute: dict[str, _Bucket] = {}
        self.any_type = _Bucket()

    def add(self, sub: CompiledSubscription) -> None:
        self.discard(sub.id)
        self.subscriptions[sub.id] = sub
        if sub.periodic:
            return  # the scheduler's, never a candidate for a change
        key = (sub.trigger_key, sub.filter_key)
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = Group(key, guard_of(sub.q))
            for bucket in self._buckets(sub):
                bucket.add(group)
        group.subscriptions[sub.id] = sub

    def discard(self, subscription_id: str) -> None:
        old = self.subscriptions.pop(subscription_id, None)
        if old is None or old.periodic:
            return
        key = (old.trigger_key, old.filter_key)
        group = self.groups[key]
        del group.subscriptions[subscription_id]
        if group.subscriptions:
            return
        del self.groups[key]
        for bucket in self._buckets(old):
            bucket.discard(group)
        for table in (self.by_id, self.by_type, self.by_attribute):
            for name in [name for name, bucket in table.items() if not bucket]:
                del table[name]

    def _buckets(self, sub: CompiledSubscription) -> list[_Bucket]:
        """Each bucket once: a group filed twice in one bucket would be discarded once."""
        buckets: dict[int, _Bucket] = {}
        if not sub.selectors:
            for attribute in sub.watched or ():
                bucket = self.by_attribute.setdefault(attribute, _Bucket())
                buckets[id(bucket)] = bucket
            return list(buckets.values())
        for selector in sub.selectors:
            if selector.entity_id is not None:
                bucket = self.by_id.setdefault(selector.entity_id, _Bucket())
                buckets[id(bucket)] = bucket
                continue
            names = selector.index_types()
            if not names:
                buckets[id(self.any_type)] = self.any_type
            for name in names:
                bucket = self.by_type.setdefault(name, _Bucket())
                buckets[id(bucket)] = bucket
        return list(buckets.values())


class SubscriptionIndex:
    def __init__(self) -> None:
        self._tenants: dict[str, _TenantIndex] = {}

    def put(self, sub: CompiledSubscription) -> None:
        self._tenants.setdefault(sub.tenant, _TenantIndex()).add(sub)

    def remove(self, tenant: str, subscription_id: str) -> None:
        index = self._tenants.get(tenant)
        if index is not None:
            index.discard(subscription_id)

    def get(self, tenant: str, subscription_id: str) -> CompiledSubscription | None:
        index = self._tenants.get(tenant)
        return index.subscriptions.get(subscription_id) if index is not None else None

    def has_any(self, tenant: str) -> bool:
        index = self._tenants.get(tenant)
        return index is not None and bool(index.groups)

    def all(self) -> Iterable[CompiledSubscription]:
        for index in self._tenants.values():
            yield from index.subscriptions.values()

    def of_tenant(self, tenant: str) -> dict[str, CompiledSubscription]:
        index = self._tenants.get(tenant)
        return dict(index.subscriptions) if index is not None else {}

    def candidates(
        self,
        tenant: str,
        entity_id: str,
        types: Iterable[str],
        attributes: Iterable[str],
        entity: dict[str, Any],
    ) -> list[Group]:
        """The groups of subscriptions that may match a change of this entity: its types and attribute
        IRIs (before and after), and the expanded entity that q is evaluated on (after the change;
        before it, for a deletion). The caller checks each group in full."""
        index = self._tenants.get(tenant)
        if index is None or not index.groups:
            return []
        found: dict[tuple[int, int], Group] = {}
        seen: dict[Any, Any] = {}
        buckets: list[_Bucket] = []
        bucket = index.by_id.get(entity_id)
        if bucket:
            buckets.append(bucket)
        for entity_type in types:
            bucket = index.by_type.get(entity_type)
            if bucket:
                buckets.append(bucket)
        if index.by_attribute:
            for attribute in attributes:
                bucket = index.by_attribute.get(attribute)
                if bucket:
                    buckets.append(bucket)
        if index.any_type:
            buckets.append(index.any_type)
        for bucket in buckets:
            bucket.collect(entity, found, seen)
        return list(found.values())

    def replace_tenant(self, tenant: str, subscriptions: Iterable[CompiledSubscription]) -> None:
        fresh = _TenantIndex()
        for sub in subscriptions:
            fresh.add(sub)
        if fresh.subscriptions:
            self._tenants[tenant] = fresh
        else:
            self._tenants.pop(tenant, None)


async def load_tenants(index: SubscriptionIndex, store: Store, compile_subscription: Compile) -> None:
    """Bring the index in line with the store: every tenant's subscriptions, compiling only those
    that are new or have a new version. One that cannot be compiled (its @context URL is down)
    keeps its previous version, or stays out until the next load, and is logged."""
    tenants = set(await store.entity_counts()) | {sub.tenant for sub in index.all()}
    for tenant in sorted(tenants):
        docs = await store.list_documents(DOCUMENT_KIND, tenant)
        current = index.of_tenant(tenant)
        fresh: list[CompiledSubscription] = []
        for doc in docs:
            known = current.get(doc["id"])
            if known is not None and known.version == str(doc.get("modifiedAt", "")):
                fresh.append(known)
                continue
            try:
                fresh.append(await compile_subscription(tenant, doc))
            except NgsiLdError as exc:
                log.warning("subscription %s of tenant %r cannot be loaded: %s", doc.get("id"), tenant, exc.detail)
                if known is not None:
                    fresh.append(known)
        index.replace_tenant(tenant, fresh)


__all__ = ["Group", "SubscriptionIndex", "load_tenants"]
