# SPDX-License-Identifier: EUPL-1.2
"""From entity changes to the subscriptions they concern (ETSI GS CIM 009 v1.9.1 clause 5.8.6 and
the notificationTrigger of Table 5.2.12-1).

The matcher is the ChangeListener of EntityService: called synchronously after each committed
write, it only looks up candidates in the in-memory index and appends the change to a queue; a
worker task checks the candidates in full and hands each match to the delivery, in the order
the writes committed. When the queue is over its bound the write matches inline (slower writes,
but no change is lost).

What fires, for an entity matching a subscription's entities, q, geoQ and scopeQ (evaluated on
the entity after the change, on the entity before it for a deletion):
- creation: entityCreated; attributeCreated for each of its attributes;
- deletion: entityDeleted (the entity's attributes are not reported one by one);
- any other write: entityUpdated; attributeCreated / attributeUpdated / attributeDeleted per
  attribute instance (datasetId) that appeared, was written, or disappeared.
watchedAttributes (none: any attribute) restricts the attribute triggers and entityUpdated to
changes of those attributes. Periodic (timeInterval), paused and expired subscriptions never fire.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from broker.ld.members import ENTITY_MEMBERS
from broker.entities.changes import EntityChange
from broker.query import matches_geo, matches_q, matches_scope
from broker.subscriptions.compiled import CompiledSubscription, now_s
from broker.subscriptions.index import SubscriptionIndex
from broker.subscriptions.model import now_iso

log = logging.getLogger("citycontext.subscriptions")

ExpandedEntity = dict[str, Any]
_ENTITY_MEMBERS = ENTITY_MEMBERS  # the core members of an entity (broker.ld.members)
_YIELD_EVERY = 256  # changes matched before the worker lets other tasks run


@dataclass(frozen=True, slots=True)
class EntityEvent:
    """One committed change of one entity, stamped with the time the broker saw it."""

    tenant: str
    before: ExpandedEntity | None
    after: ExpandedEntity | None
    at: str
    # The entity as rendered for notifications, by (render_key, triggers fired): subscriptions that
    # render alike share one rendering (read-only once made).
    rendered: dict[tuple[int, frozenset[str]], dict[str, Any]] = field(default_factory=dict, compare=False)

    @property
    def entity_id(self) -> str:
        return str((self.after or self.before or {})["id"])

    @property
    def entity(self) -> ExpandedEntity:
        """The entity the filters see: as it is now, or as it was when it was deleted."""
        return self.after if self.after is not None else self.before  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class Match:
    subscription: CompiledSubscription
    event: EntityEvent
    fired: frozenset[str]


@dataclass(frozen=True, slots=True)
class AttributeChanges:
    """Attribute IRIs by what happened to (at least one instance of) them."""

    created: frozenset[str]
    updated: frozenset[str]
    deleted: frozenset[str]

    @property
    def any(self) -> frozenset[str]:
        return self.created | self.updated | self.deleted


def attribute_changes(before: ExpandedEntity | None, after: ExpandedEntity | None) -> AttributeChanges:
    created: set[str] = set()
    updated: set[str] = set()
    deleted: set[str] = set()
    old, new = before or {}, after or {}
    for key in old.keys() | new.keys():
        if key in _ENTITY_MEMBERS:
            continue
        old_instances = _by_dataset(old.get(key))
        new_instances = _by_dataset(new.get(key))
        for dataset_id, instance in new_instances.items():
            previous = old_instances.get(dataset_id)
            if previous is None:
                created.add(key)
            elif previous != instance:
                updated.add(key)
        if old_instances.keys() - new_instances.keys():
            deleted.add(key)
    return AttributeChanges(frozenset(created), frozenset(updated), frozenset(deleted))


def _by_dataset(instances: Any) -> dict[Any, Any]:
    if not isinstance(instances, list):
        return {}
    return {instance.get("datasetId") if isinstance(instance, dict) else None: instance for instance in instances}


def fired_triggers(sub: CompiledSubscription, event: EntityEvent, changes: AttributeChanges) -> frozenset[str]:
    triggers = sub.triggers
    watched = sub.watched
    fired: set[str] = set()
    if event.before is None:
        if "entityCreated" in triggers:
            fired.add("entityCreated")
        if "attributeCreated" in triggers and _touches(watched, changes.created):
            fired.add("attributeCreated")
        return frozenset(fired)
    if event.after is None:
        return frozenset({"entityDeleted"}) if "entityDeleted" in triggers else frozenset()
    if "entityUpdated" in triggers and (watched is None or watched & changes.any):
        fired.add("entityUpdated")
    for trigger, names in (
        ("attributeCreated", changes.created),
        ("attributeUpdated", changes.updated),
        ("attributeDeleted", changes.deleted),
    ):
        if trigger in triggers and _touches(watched, names):
            fired.add(trigger)
    return frozenset(fired)


def _touches(watched: frozenset[str] | None, names: frozenset[str]) -> bool:
    return bool(names) if watched is None else bool(watched & names)


def entity_matches(sub: CompiledSubscription, entity: ExpandedEntity) -> bool:
    """entities (any selector), q, geoQ and scopeQ, all on the expanded entity."""
    entity_id = entity["id"]
    if sub.selectors and not any(selector.matches(entity_id, entity) for selector in sub.selectors):
        return False
    if sub.q is not None and not matches_q(sub.q, entity):
        return False
    if sub.geo is not None and not matches_geo(sub.geo, entity):
        return False
    return sub.scope is None or matches_scope(sub.scope, entity)


def _instant_of(change: EntityChange) -> str:
    """The instant of the change, a deletion's deletedAt in notifications: the entity's modifiedAt as the
    write stamped it (an attribute deleted, so that both show one instant), or the deleted entity's
    deletedAt as the store recorded it in the history (the entity deleted), else now."""
    if change.after is not None:
        stamped = change.after.get("modifiedAt")
    else:
        stamped = change.before.get("deletedAt") if change.before is not None else None
    return stamped if isinstance(stamped, str) else now_iso()


class Matcher:
    """The ChangeListener: `EntityService(store, [matcher])`; run `matcher.run()` as a task."""

    def __init__(self, index: SubscriptionIndex, deliver: Callable[[Match], None], *, backlog: int = 100_000) -> None:
        self.index = index
        self.deliver = deliver
        self.backlog = backlog
        self._queue: deque[EntityEvent] = deque()
        self._wake = asyncio.Event()

    def __call__(self, change: EntityChange) -> None:
        if not self.index.has_any(change.tenant):
            return
        event = EntityEvent(change.tenant, change.before, change.after, _instant_of(change))
        if len(self._queue) >= self.backlog:
            self.drain()  # keep the order: what waits goes first
            self.match(event)
            return
        self._queue.append(event)
        self._wake.set()

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            done = 0
            while self._queue:
                self._match_safely(self._queue.popleft())
                done += 1
                if done % _YIELD_EVERY == 0:
                    await asyncio.sleep(0)

    @property
    def waiting(self) -> int:
        return len(self._queue)

    def drain(self) -> None:
        """Match every change waiting, now (at shutdown, and when the backlog is full)."""
        while self._queue:
            self._match_safely(self._queue.popleft())

    def _match_safely(self, event: EntityEvent) -> None:
        try:
            self.match(event)
        except Exception:  # one bad subscription or entity must not stop every notification
            log.exception("matching the change of %s failed", event.entity_id)

    def match(self, event: EntityEvent) -> None:
        entity = event.entity
        types = set(entity.get("type", ()))
        if event.before is not None and event.after is not None:
            types.update(event.before.get("type", ()))
        attributes = (event.before or {}).keys() | (event.after or {}).keys()
        candidates = self.index.candidates(event.tenant, event.entity_id, types, attributes, entity)
        if not candidates:
            return
        changes = attribute_changes(event.before, event.after)
        now = now_s()
        fired_by_key: dict[int, frozenset[str]] = {}
        for group in candidates:
            example = group.example
            fired = fired_by_key.get(example.trigger_key)
            if fired is None:
                fired = fired_by_key[example.trigger_key] = fired_triggers(example, event, changes)
            if not fired or not entity_matches(example, entity):
                continue
            for sub in group.subscriptions.values():
                if sub.is_live(now):
                    self.deliver(Match(sub, event, fired))


__all__ = ["AttributeChanges", "EntityEvent", "Match", "Matcher", "attribute_changes", "entity_matches", "fired_triggers"]
