# SPDX-License-Identifier: EUPL-1.2
"""What a store keeps beside each entity so discovery is cheap (clause 5.7.5 to 5.7.10).

GET /types and GET /attributes are answered from per-tenant counters, not by reading entities:
how many entities have each type, each (type, attribute, attribute type) and each (attribute,
attribute type). A write changes the counters by the difference between the entity's index
entries before and after, so a value update, the common case, changes none of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from broker.ld.members import ENTITY_MEMBERS
from broker.store.base import ExpandedEntity
from broker.temporal.times import datetime_ms

CORE_MEMBERS = ENTITY_MEMBERS  # the core members of an entity (broker.ld.members)


@dataclass(frozen=True, slots=True)
class IndexEntries:
    types: frozenset[str]
    type_attributes: frozenset[tuple[str, str, str]]  # (type, attribute, attribute type)
    attributes: frozenset[tuple[str, str]]  # (attribute, attribute type)


EMPTY = IndexEntries(frozenset(), frozenset(), frozenset())


def index_entries(entity: ExpandedEntity | None) -> IndexEntries:
    if entity is None:
        return EMPTY
    types = frozenset(entity["type"])
    attributes = frozenset(
        (key, instance.get("type", "Property"))
        for key, instances in entity.items()
        if key not in CORE_MEMBERS
        for instance in instances
    )
    return IndexEntries(
        types,
        frozenset((t, attribute, kind) for t in types for attribute, kind in attributes),
        attributes,
    )


@dataclass(frozen=True, slots=True)
class CounterChanges:
    """+1/-1 per counter key; empty when an update leaves types and attributes as they were."""

    types: dict[str, int]
    type_attributes: dict[tuple[str, str, str], int]
    attributes: dict[tuple[str, str], int]

    def __bool__(self) -> bool:
        return bool(self.types or self.type_attributes or self.attributes)


def counter_changes(before: ExpandedEntity | None, after: ExpandedEntity | None) -> CounterChanges:
    if before is None:  # a creation (the batch load's case): every entry of `after` counts +1
        if after is None:
            return CounterChanges({}, {}, {})
        types = dict.fromkeys(after["type"], 1)
        attributes = dict.fromkeys(
            [
                (key, instance.get("type", "Property"))
                for key, instances in after.items()
                if key not in CORE_MEMBERS
                for instance in instances
            ],
            1,
        )
        return CounterChanges(types, {(t, attribute, kind): 1 for t in types for attribute, kind in attributes}, attributes)
    old, new = index_entries(before), index_entries(after)
    return CounterChanges(_diff(old.types, new.types), _diff(old.type_attributes, new.type_attributes), _diff(old.attributes, new.attributes))


def _changed_attributes(before: ExpandedEntity, after: ExpandedEntity) -> list[str]:
    """The attributes (not core members) whose instances differ between two states of one entity,
    including those present in one state only."""
    changed = [key for key, instances in after.items() if key not in CORE_MEMBERS and before.get(key) != instances]
    changed.extend(key for key in before if key not in CORE_MEMBERS and key not in after)
    return changed


def _same_kinds(before: ExpandedEntity, after: ExpandedEntity, changed: list[str]) -> bool:
    """Whether the `changed` attributes (_changed_attributes) leave the index entries as they were: each
    is in both states with the same attribute types. With the same entity types, counter_changes is
    then empty."""
    for key in changed:
        old, new = before.get(key), after.get(key)
        if old is None or new is None or _kinds(old) != _kinds(new):
            return False
    return True


def update_changes(before: ExpandedEntity | None, after: ExpandedEntity | None) -> tuple[bool, bool, bool]:
    """(whether the GeoProperties may differ, whether counter_changes may be non-empty, whether expiry_ms
    may differ) between two states of an entity: all three unless it is an update that keeps its types,
    which then changes them only through the attributes it changed (an IoT agent's new measurement
    changes none of them)."""
    if before is None or after is None or before["type"] != after["type"]:
        return True, True, True
    changed = _changed_attributes(before, after)
    geometry = False
    expiry = before.get("expiresAt") != after.get("expiresAt")
    for key in changed:  # an update changes one or two attributes: plain loops, no generators
        old, new = before.get(key), after.get(key)
        geometry = geometry or _has_geometry(old) or _has_geometry(new)
        expiry = expiry or _has_expiry(old) or _has_expiry(new)
    return geometry, not _same_kinds(before, after, changed), expiry


def expiry_ms(entity: ExpandedEntity | None) -> int | None:
    """When the entity, or the first of its attribute instances, expires (expiresAt, clause 4.22), in
    epoch milliseconds; None when nothing of it expires. The stores index it (entity_expirations)."""
    if entity is None:
        return None
    earliest = datetime_ms(entity["expiresAt"]) if "expiresAt" in entity else None
    for key, instances in entity.items():
        if key in CORE_MEMBERS:
            continue
        for instance in instances:
            if "expiresAt" in instance:
                at = datetime_ms(instance["expiresAt"])
                if earliest is None or at < earliest:
                    earliest = at
    return earliest


def _has_expiry(instances: Any) -> bool:
    if isinstance(instances, list):
        for instance in instances:
            if isinstance(instance, dict) and "expiresAt" in instance:
                return True
    return False


def _has_geometry(instances: Any) -> bool:
    """Whether an attribute's instances include a GeoProperty."""
    return isinstance(instances, list) and any(
        isinstance(instance, dict) and instance.get("type") == "GeoProperty" for instance in instances
    )


def _kinds(instances: list[Any]) -> set[str]:
    return {instance.get("type", "Property") for instance in instances}


def _diff(old: frozenset[Any], new: frozenset[Any]) -> dict[Any, int]:
    changes = {key: -1 for key in old - new}
    changes.update({key: 1 for key in new - old})
    return changes


__all__ = [
    "CORE_MEMBERS",
    "IndexEntries",
    "index_entries",
    "CounterChanges",
    "counter_changes",
    "update_changes",
    "expiry_ms",
]
