# SPDX-License-Identifier: EUPL-1.2
"""Which subscriptions can an entity change concern? An in-memory index, per tenant, that answers
without looking at the others.

A subscription with entities is filed under the id of each selector that names one, else under
the entity types its selectors require (for `A;B` the first, for `A|B` each); a subscription with
only watchedAttributes is filed under each watched attribute; type "*" goes to a short list that
every change consults. Subscriptions alike in everything the matcher checks form one Group, filed
once and checked once. Candidates are then checked in full by the matcher. Periodic subscriptions
(timeInterval) are kept, for the scheduler, but never filed for changes.

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

log = logging.getLogger("citycontext.subscriptions")

Compile = Callable[[str, dict[str, Any]], Awaitable[CompiledSubscription]]


class Group:
    """Subscriptions with equal triggers, watchedAttributes, entities, q, geoQ and scopeQ: one check
    tells for all of them, so a thousand alike subscriptions cost a change one evaluation."""

    __slots__ = ("key", "subscriptions")

    def __init__(self, key: tuple[int, int]) -> None:
        self.key = key
        self.subscriptions: dict[str, CompiledSubscription] = {}

    @property
    def example(self) -> CompiledSubscription:
        return next(iter(self.subscriptions.values()))


class _TenantIndex:
    __slots__ = ("any_type", "by_attribute", "by_id", "by_type", "groups", "subscriptions")

    def __init__(self) -> None:
        self.subscriptions: dict[str, CompiledSubscription] = {}
        self.groups: dict[tuple[int, int], Group] = {}
        self.by_id: dict[str, dict[tuple[int, int], Group]] = {}
        self.by_type: dict[str, dict[tuple[int, int], Group]] = {}
        self.by_attribute: dict[str, dict[tuple[int, int], Group]] = {}
        self.any_type: dict[tuple[int, int], Group] = {}

    def add(self, sub: CompiledSubscription) -> None:
        self.discard(sub.id)
        self.subscriptions[sub.id] = sub
        if sub.periodic:
            return  # the scheduler's, never a candidate for a change
        key = (sub.trigger_key, sub.filter_key)
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = Group(key)
            for bucket in self._buckets(sub):
                bucket[key] = group
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
            bucket.pop(key, None)
        for table in (self.by_id, self.by_type, self.by_attribute):
            for name in [name for name, bucket in table.items() if not bucket]:
                del table[name]

    def _buckets(self, sub: CompiledSubscription) -> list[dict[tuple[int, int], Group]]:
        buckets: list[dict[tuple[int, int], Group]] = []
        if not sub.selectors:
            for attribute in sub.watched or ():
                buckets.append(self.by_attribute.setdefault(attribute, {}))
            return buckets
        for selector in sub.selectors:
            if selector.entity_id is not None:
                buckets.append(self.by_id.setdefault(selector.entity_id, {}))
                continue
            names = selector.index_types()
            if not names:
                buckets.append(self.any_type)
            for name in names:
                buckets.append(self.by_type.setdefault(name, {}))
        return buckets


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

    def candidates(self, tenant: str, entity_id: str, types: Iterable[str], attributes: Iterable[str]) -> list[Group]:
        """The groups of subscriptions that may match a change of this entity (its types and attribute
        IRIs, before and after); the caller checks each group in full."""
        index = self._tenants.get(tenant)
        if index is None or not index.groups:
            return []
        found: dict[tuple[int, int], Group] = {}
        bucket = index.by_id.get(entity_id)
        if bucket:
            found.update(bucket)
        for entity_type in types:
            bucket = index.by_type.get(entity_type)
            if bucket:
                found.update(bucket)
        if index.by_attribute:
            for attribute in attributes:
                bucket = index.by_attribute.get(attribute)
                if bucket:
                    found.update(bucket)
        if index.any_type:
            found.update(index.any_type)
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
