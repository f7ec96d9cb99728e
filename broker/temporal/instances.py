# SPDX-License-Identifier: EUPL-1.2
"""Which attribute instances a write adds to the history: the difference between before and after.

Every entity write of either store goes through `history_records(before, after)` inside its
transaction. An instance is recorded when it is new or differs from the instance it replaces
(compared without createdAt/modifiedAt, so a write that restates an instance unchanged adds no
row). An instance that disappears (attribute or datasetId deleted, or the entity deleted) is
recorded as a deletion: its value member is "urn:ngsi-ld:null" and it carries deletedAt, the
temporal property of clause 4.5.7 for deleted attributes. A value update is one row.

Pure functions on expanded entities; no I/O.
"""

from __future__ import annotations

import math
import time
from typing import Any

import orjson

from broker.ld.members import ENTITY_MEMBERS
from broker.temporal.model import HistoryEntity, InstanceRecord
from broker.temporal.times import datetime_ms

NGSI_LD_NULL = "urn:ngsi-ld:null"
# InstanceRecord's fields in its order: entity_id, attribute, dataset_id, doc, value, number, time_ms,
# observed_at_ms, created_at_ms, modified_at_ms, deleted_at_ms.
RecordFields = tuple[str, str, str, dict[str, Any], str, float | None, int, int | None, int, int, int | None]
ENTITY_CORE = ENTITY_MEMBERS  # the core members of an entity (broker.ld.members)
STAMPS = frozenset({"createdAt", "modifiedAt", "instanceId"})
# The member holding an attribute's value, by attribute type (clause 4.5; broker.entities.normalize).
VALUE_MEMBER = {
    "Property": "value",
    "GeoProperty": "value",
    "Relationship": "object",
    "LanguageProperty": "languageMap",
    "VocabProperty": "vocab",
    "ListProperty": "valueList",
    "ListRelationship": "objectList",
    "JsonProperty": "json",
}


def history_records(
    before: dict[str, Any] | None, after: dict[str, Any] | None, now_ms: int | None = None
) -> list[InstanceRecord]:
    """The instances a write from `before` to `after` (None: absent) adds to the history."""
    return [InstanceRecord(*fields) for fields in history_fields(before, after, now_ms)]


def history_fields(
    before: dict[str, Any] | None, after: dict[str, Any] | None, now_ms: int | None = None
) -> list[RecordFields]:
    """history_records as plain tuples of InstanceRecord's fields, in its order.

    A store that turns the records into rows right away (SQLite, a batch of a thousand entities)
    spares itself a frozen dataclass per instance; `InstanceRecord(*fields)` is the record.
    """
    if after is None:
        if before is None:
            return []
        deleted_ms = now_ms if now_ms is not None else int(time.time() * 1000)
        return [
            deletion_fields(before["id"], key, instance, deleted_ms)
            for key, instances in before.items()
            if key not in ENTITY_CORE and isinstance(instances, list)
            for instance in instances
        ]
    entity_id = after["id"]
    write_ms = _ms(after.get("modifiedAt"), now_ms)
    records: list[RecordFields] = []
    if before is None:  # a creation: every instance is new
        for key, instances in after.items():
            if key not in ENTITY_CORE and isinstance(instances, list):
                for instance in instances:
                    records.append(instance_fields(entity_id, key, instance, write_ms))
        return records
    for key, instances in after.items():
        if key in ENTITY_CORE or not isinstance(instances, list):
            continue
        previous = before.get(key)
        if previous == instances:  # untouched by this write (most attributes of an update)
            continue
        old = {instance.get("datasetId"): instance for instance in previous} if isinstance(previous, list) else {}
        for instance in instances:
            prior = old.pop(instance.get("datasetId"), None)
            if prior is not None and (prior == instance or _same_unstamped(prior, instance)):
                continue
            records.append(instance_fields(entity_id, key, instance, write_ms))
        records.extend(deletion_fields(entity_id, key, instance, write_ms) for instance in old.values())
    for key, instances in before.items():
        if key not in ENTITY_CORE and key not in after and isinstance(instances, list):
            records.extend(deletion_fields(entity_id, key, instance, write_ms) for instance in instances)
    return records


def entity_change(before: dict[str, Any] | None, after: dict[str, Any] | None, now_ms: int | None = None) -> HistoryEntity | None:
    """The history's entity row to write: on creation, deletion, or a change of types or scope; else None."""
    if after is None:
        if before is None:
            return None
        return HistoryEntity(
            before["id"], tuple(before["type"]), _scope(before), now_ms if now_ms is not None else int(time.time() * 1000)
        )
    if before is not None and before["type"] == after["type"] and before.get("scope") == after.get("scope"):
        return None
    return HistoryEntity(after["id"], tuple(after["type"]), _scope(after))


def new_attributes(before: dict[str, Any] | None, records: list[InstanceRecord]) -> list[str]:
    """Attributes the history sees for the first time for this entity (before lacked them)."""
    return sorted({r.attribute for r in records if r.deleted_at_ms is None and (before is None or r.attribute not in before)})


def instance_record(entity_id: str, attribute: str, instance: dict[str, Any], write_ms: int) -> InstanceRecord:
    """An instance as written: observedAt (if any) orders it, else the instant of the write."""
    return InstanceRecord(*instance_fields(entity_id, attribute, instance, write_ms))


def instance_fields(entity_id: str, attribute: str, instance: dict[str, Any], write_ms: int) -> RecordFields:
    """instance_record's fields, in InstanceRecord's order."""
    get = instance.get
    observed = get("observedAt")
    observed_ms = datetime_ms(observed) if isinstance(observed, str) else None
    modified = get("modifiedAt")
    modified_ms = datetime_ms(modified) if isinstance(modified, str) else write_ms
    created = get("createdAt")
    if not isinstance(created, str):
        created_ms = modified_ms
    else:  # a new instance: created when modified
        created_ms = modified_ms if created == modified else datetime_ms(created)
    value = get(VALUE_MEMBER.get(get("type", "Property"), "value"))
    return (
        entity_id,
        attribute,
        str(get("datasetId") or ""),
        {key: member for key, member in instance.items() if key not in STAMPS},  # doc
        _json(value),  # value
        as_number(value),  # number
        observed_ms if observed_ms is not None else modified_ms,  # time_ms
        observed_ms,
        created_ms,
        modified_ms,
        None,  # deleted_at_ms
    )


def deletion_record(entity_id: str, attribute: str, instance: dict[str, Any], deleted_ms: int) -> InstanceRecord:
    return InstanceRecord(*deletion_fields(entity_id, attribute, instance, deleted_ms))


def deletion_fields(entity_id: str, attribute: str, instance: dict[str, Any], deleted_ms: int) -> RecordFields:
    attribute_type = instance.get("type", "Property")
    doc: dict[str, Any] = {"type": attribute_type, VALUE_MEMBER.get(attribute_type, "value"): NGSI_LD_NULL}
    if instance.get("datasetId"):
        doc["datasetId"] = instance["datasetId"]
    return (
        entity_id,
        attribute,
        str(instance.get("datasetId") or ""),
        doc,
        _json(NGSI_LD_NULL),
        None,
        deleted_ms,
        None,
        _ms(instance.get("createdAt"), deleted_ms),
        deleted_ms,
        deleted_ms,
    )


def as_number(value: Any) -> float | None:
    """The value aggregations compute with: numbers, and booleans as 0 and 1; None for anything else."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        number = float(value)
        return number if math.isfinite(number) else None
    return None


def _same_unstamped(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Equal once the stamps (STAMPS, in every nested object) are left out; no copy of either is made."""
    members = 0
    for key, member in a.items():
        if key in STAMPS:
            continue
        members += 1
        if key not in b:
            return False
        other = b[key]
        if isinstance(member, dict):
            if not isinstance(other, dict) or not _same_unstamped(member, other):
                return False
        elif isinstance(other, dict) or member != other:
            return False
    return members == sum(1 for key in b if key not in STAMPS)


def _scope(entity: dict[str, Any]) -> tuple[str, ...] | None:
    scope = entity.get("scope")
    if scope is None:
        return None
    return (scope,) if isinstance(scope, str) else tuple(scope)


def _ms(text: Any, default: int | None) -> int:
    if isinstance(text, str):
        return datetime_ms(text)
    return default if default is not None else int(time.time() * 1000)


def _json(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


__all__ = [
    "NGSI_LD_NULL",
    "VALUE_MEMBER",
    "as_number",
    "deletion_fields",
    "deletion_record",
    "entity_change",
    "history_fields",
    "history_records",
    "instance_fields",
    "instance_record",
    "RecordFields",
    "new_attributes",
]
