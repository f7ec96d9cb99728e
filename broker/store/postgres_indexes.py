# SPDX-License-Identifier: EUPL-1.2
"""What the PostgreSQL store keeps beside each entity row, in the entity's own transaction.

The discovery counters and the type index move by the difference between the entity before and
after (broker.store.indexes), summed over a batch; the PostGIS mirror of GeoProperties is
rewritten for the entities whose GeoProperty values changed, and only for those. Keys are written
in sorted order, so concurrent transactions lock counter rows in one order and do not deadlock.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from broker.ld.members import ENTITY_MEMBERS
from broker.store import postgres_schema as sql
from broker.store.base import ExpandedEntity
from broker.store.indexes import counter_changes, expiry_ms, update_changes

Write = tuple[ExpandedEntity | None, ExpandedEntity | None]  # (before, after); None: absent
_CORE = ENTITY_MEMBERS  # the core members of an entity (broker.ld.members)


def entity_id_of(before: ExpandedEntity | None, after: ExpandedEntity | None) -> str:
    entity_id: str = (after or before or {})["id"]
    return entity_id


UpdateFlags = list[tuple[bool, bool, bool]]  # indexes.update_changes of each write, in the order of the writes


def update_flags_of(writes: list[Write]) -> UpdateFlags:
    """update_changes of each write, once for write_counters, write_geometries and write_expirations."""
    return [update_changes(before, after) for before, after in writes]


async def write_counters(conn: Any, tenant: str, writes: list[Write], update_flags: UpdateFlags | None = None) -> None:
    """Move the discovery counters and the type index by the writes' summed differences."""
    types: dict[str, int] = {}
    type_attributes: dict[tuple[str, str, str], int] = {}
    attributes: dict[tuple[str, str], int] = {}
    typed_ids: dict[tuple[str, str], int] = {}
    for (before, after), flags in zip(writes, update_flags or update_flags_of(writes)):
        if not flags[1]:
            continue
        changes = counter_changes(before, after)
        if not changes:
            continue
        entity_id = entity_id_of(before, after)
        for entity_type, delta in changes.types.items():
            types[entity_type] = types.get(entity_type, 0) + delta
            typed_ids[(entity_type, entity_id)] = delta
        for type_key, delta in changes.type_attributes.items():
            type_attributes[type_key] = type_attributes.get(type_key, 0) + delta
        for attribute_key, delta in changes.attributes.items():
            attributes[attribute_key] = attributes.get(attribute_key, 0) + delta
    if types := {key: delta for key, delta in types.items() if delta}:
        keys = sorted(types)
        await conn.execute(sql.UPSERT_TYPE_COUNTS, tenant, keys, [types[key] for key in keys])
        await conn.execute(sql.DROP_ZERO_TYPE_COUNTS, tenant, keys)
    if typed_ids:
        for statement, sign in ((sql.INSERT_ENTITY_TYPES, 1), (sql.DELETE_ENTITY_TYPES, -1)):
            pairs = sorted(key for key, delta in typed_ids.items() if delta == sign)
            if pairs:
                await conn.execute(statement, tenant, *_columns(pairs, 2))
    if type_attributes := {key: delta for key, delta in type_attributes.items() if delta}:
        keys3 = sorted(type_attributes)
        await conn.execute(
            sql.UPSERT_TYPE_ATTRIBUTE_COUNTS, tenant, *_columns(keys3, 3), [type_attributes[key] for key in keys3]
        )
        await conn.execute(sql.DROP_ZERO_TYPE_ATTRIBUTE_COUNTS, tenant, *_columns(keys3, 3))
    if attributes := {key: delta for key, delta in attributes.items() if delta}:
        keys2 = sorted(attributes)
        await conn.execute(sql.UPSERT_ATTRIBUTE_COUNTS, tenant, *_columns(keys2, 2), [attributes[key] for key in keys2])
        await conn.execute(sql.DROP_ZERO_ATTRIBUTE_COUNTS, tenant, *_columns(keys2, 2))


def _columns(rows: Sequence[tuple[str, ...]], width: int) -> list[list[str]]:
    return [[row[i] for row in rows] for i in range(width)]


def _geometries(entity: ExpandedEntity | None) -> list[tuple[str, str, str]]:
    """(attribute IRI, datasetId or "", GeoJSON text with sorted keys) of each GeoProperty instance."""
    if entity is None:
        return []
    found = []
    for key, instances in entity.items():
        if key in _CORE or not isinstance(instances, list):
            continue
        for instance in instances:
            if (
                isinstance(instance, dict)
                and instance.get("type") == "GeoProperty"
                and isinstance(instance.get("value"), dict)
            ):
                geojson = orjson.dumps(instance["value"], option=orjson.OPT_SORT_KEYS).decode()
                found.append((key, str(instance.get("datasetId") or ""), geojson))
    return sorted(found)


async def write_geometries(conn: Any, tenant: str, writes: list[Write], update_flags: UpdateFlags | None = None) -> None:
    """Rewrite the geometry rows of the entities whose GeoProperties or types changed, and only those."""
    changed: list[str] = []
    rows: list[tuple[str, str, str, str, str]] = []
    for (before, after), flags in zip(writes, update_flags or update_flags_of(writes)):
        if not flags[0]:
            continue
        old, new = _geometries(before), _geometries(after)
        same_types = before is not None and after is not None and before.get("type") == after.get("type")
        if old == new and (not new or same_types):
            continue
        types = orjson.dumps(after.get("type", [])).decode() if after is not None and new else "[]"
        entity_id = entity_id_of(before, after)
        if old:
            changed.append(entity_id)
        rows.extend((entity_id, *entry, types) for entry in new)
    if changed:
        await conn.execute(sql.DELETE_GEOMETRIES, tenant, sorted(changed))
    if rows:
        await conn.execute(sql.INSERT_GEOMETRIES, tenant, *_columns(sorted(rows), 5))


async def write_expirations(conn: Any, tenant: str, writes: list[Write], update_flags: UpdateFlags | None = None) -> None:
    """Move the expiry index (entity_expirations) for the entities whose expiry_ms changed."""
    expirations: dict[str, int | None] = {}
    for (before, after), flags in zip(writes, update_flags or update_flags_of(writes)):
        if flags[2]:
            expires = expiry_ms(after)
            if expires != expiry_ms(before):
                expirations[entity_id_of(before, after)] = expires
    if gone := sorted(entity_id for entity_id, at in expirations.items() if at is None):
        await conn.execute(sql.DELETE_EXPIRATIONS, tenant, gone)
    if kept := sorted((entity_id, at) for entity_id, at in expirations.items() if at is not None):
        await conn.execute(sql.UPSERT_EXPIRATIONS, tenant, [row[0] for row in kept], [row[1] for row in kept])


__all__ = ["UpdateFlags", "Write", "update_flags_of", "entity_id_of", "write_counters", "write_expirations", "write_geometries"]
