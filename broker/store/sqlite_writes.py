# SPDX-License-Identifier: EUPL-1.2
"""The rows one write changes in the SQLite store, collected and then written with one statement each.

An entity write touches the entity row, the tenant's entity count, the type index (entity_types), the
discovery counters (type_counts, type_attribute_counts, attribute_counts) and the spatial index
(geo_entries, keyed by geo_keys; Points by Z-order cell, other geometries in geo_rtree) and the
expiry index (entity_expirations: when the entity or one of its attributes expires). `EntityWrites`
gathers those changes for any number of entities, sums the counter deltas, and `flush` writes them
with one executemany per statement: a batch of 1,000 entities costs a dozen statements instead of
twenty per entity. An update that keeps the entity's types touches the index and the counters only
through the attributes it changed (indexes.update_changes). The caller holds the write transaction.
"""

from __future__ import annotations

import math
import sqlite3
from collections import defaultdict
from typing import Any

import orjson

from broker.errors import InternalError
from broker.query import geometry_bbox
from broker.store import sqlite_schema as sql
from broker.store.base import ExpandedEntity
from broker.store.indexes import CORE_MEMBERS, counter_changes, expiry_ms, update_changes
from broker.store.zorder import cell_of


_EXPIRES_AT = '"expiresAt"'  # as a key in a JSON document: in any expiresAt member, if only there


class EntityWrites:
    def __init__(self, tenant: str) -> None:
        self.tenant = tenant
        self.inserts: list[tuple[Any, ...]] = []
        self.updates: list[tuple[Any, ...]] = []
        self.deletes: list[tuple[str, str]] = []
        self.entity_count = 0
        self.geo_cleared: list[tuple[str, str]] = []
        # (entity id, attribute, entity type, box, a Point's (lon, lat) or None)
        self.geo_boxes: list[tuple[str, str, str, tuple[float, float, float, float], tuple[float, float] | None]] = []
        self.type_counts: defaultdict[str, int] = defaultdict(int)
        self.type_attribute_counts: defaultdict[tuple[str, str, str], int] = defaultdict(int)
        self.attribute_counts: defaultdict[tuple[str, str], int] = defaultdict(int)
        self.members_added: list[tuple[str, str, str]] = []
        self.members_removed: list[tuple[str, str, str]] = []
        self.expirations: dict[str, int | None] = {}  # entity id -> its expiry_ms after the write

    def add(self, before: ExpandedEntity | None, after: ExpandedEntity | None) -> None:
        """One entity goes from `before` to `after` (None: absent)."""
        tenant = self.tenant
        if after is not None:
            types, doc = _dumps(after["type"]), _dumps(after)
            if before is None:
                self.inserts.append((tenant, after["id"], types, after["createdAt"], after["modifiedAt"], doc))
                self.entity_count += 1
            else:
                self.updates.append((types, after["modifiedAt"], doc, tenant, after["id"]))
        elif before is not None:
            self.deletes.append((tenant, before["id"]))
            self.entity_count -= 1
        entity_id = (after or before or {})["id"]
        geometry, counters, expiry = update_changes(before, after)
        if geometry:
            self.index_geometries(entity_id, before, after)
        if expiry:
            # The document's text tells cheaply that nothing of it expires (a creation, the batch load's case).
            expires = expiry_ms(after) if after is not None and _EXPIRES_AT in doc else None
            if expires != expiry_ms(before):
                self.expirations[entity_id] = expires
        if not counters:
            return
        if before is None and after is not None:
            self._count_created(entity_id, after)
            return
        changes = counter_changes(before, after)
        if not changes:
            return
        for entity_type, delta in changes.types.items():
            self.type_counts[entity_type] += delta
            (self.members_added if delta > 0 else self.members_removed).append((tenant, entity_type, entity_id))
        for key, delta in changes.type_attributes.items():
            self.type_attribute_counts[key] += delta
        for attribute_key, delta in changes.attributes.items():
            self.attribute_counts[attribute_key] += delta

    def _count_created(self, entity_id: str, entity: ExpandedEntity) -> None:
        """counter_changes(None, entity) added in, without the CounterChanges (a batch load creates thousands)."""
        types = dict.fromkeys(entity["type"])
        attributes = {
            (key, instance.get("type", "Property"))
            for key, instances in entity.items()
            if key not in CORE_MEMBERS
            for instance in instances
        }
        for entity_type in types:
            self.type_counts[entity_type] += 1
            self.members_added.append((self.tenant, entity_type, entity_id))
            for attribute, kind in attributes:
                self.type_attribute_counts[(entity_type, attribute, kind)] += 1
        for attribute_key in attributes:
            self.attribute_counts[attribute_key] += 1

    def index_geometries(self, entity_id: str, before: ExpandedEntity | None, after: ExpandedEntity | None) -> None:
        """Untouched geometries and types cost nothing; otherwise all of the entity's entries are replaced:
        one per GeoProperty instance and entity type (the type is part of the index key)."""
        new = geo_instances(after)
        if before is not None:
            old = geo_instances(before)
            same_types = after is not None and after.get("type") == before.get("type")
            if _as_text(new) == _as_text(old) and (not new or same_types):
                return
            if old:
                self.geo_cleared.append((self.tenant, entity_id))
        if not new or after is None:
            return
        if len(new) > 1:  # one entry per distinct geometry of an attribute, as the comparison above sees them
            new = list({(attribute, _dumps(geojson)): (attribute, geojson) for attribute, geojson in new}.values())
        for attribute, geojson in new:
            point = _point(geojson)
            box = (point[0], point[1], point[0], point[1]) if point is not None else geometry_bbox(geojson)
            if box is None:
                continue
            for entity_type in after.get("type", []):
                self.geo_boxes.append((entity_id, attribute, entity_type, box, point))

    def flush(self, conn: sqlite3.Connection) -> None:
        tenant = self.tenant
        # Deletes first: an entity deleted and created again in one batch ends up present.
        if self.geo_cleared:
            conn.executemany(sql.DELETE_GEO_RTREE, self.geo_cleared)
            conn.executemany(sql.DELETE_GEO_ENTRIES, self.geo_cleared)
        if self.deletes:
            conn.executemany(sql.DELETE_ENTITY, self.deletes)
        if self.inserts:
            conn.executemany(sql.INSERT_ENTITY, self.inserts)
        if self.updates:
            conn.executemany(sql.UPDATE_ENTITY, self.updates)
        if self.entity_count:
            conn.execute(sql.COUNT_ENTITY, (self.entity_count, tenant))
        if self.geo_boxes:
            # Entry ids are given here (one writer holds the transaction), so that the R*Tree rows can
            # be written with executemany too.
            keys = _geo_keys(conn, tenant, {(attribute, entity_type) for _, attribute, entity_type, _, _ in self.geo_boxes})
            serial = conn.execute(sql.SELECT_LAST_GEO_ENTRY).fetchone()[0] // sql.GEO_KEYS + 1
            ids = [
                (serial + n) * sql.GEO_KEYS + keys[attribute, entity_type]
                for n, (_, attribute, entity_type, _, _) in enumerate(self.geo_boxes)
            ]
            conn.executemany(
                sql.INSERT_GEO_ENTRY,
                [
                    (row_id, tenant, entity_id, attribute, row_id % sql.GEO_KEYS, *_cell_and_position(point))
                    for row_id, (entity_id, attribute, _, _, point) in zip(ids, self.geo_boxes)
                ],
            )
            shapes = [
                (row_id, box[0], box[2], box[1], box[3])
                for row_id, (_, _, _, box, point) in zip(ids, self.geo_boxes)
                if point is None
            ]
            if shapes:  # Points are found by their cell (broker.store.zorder), other geometries by box
                conn.executemany(sql.INSERT_GEO_RTREE, shapes)
        if self.expirations:
            conn.executemany(sql.DELETE_EXPIRATION, [(tenant, entity_id) for entity_id, at in self.expirations.items() if at is None])
            conn.executemany(
                sql.UPSERT_EXPIRATION, [(tenant, entity_id, at) for entity_id, at in self.expirations.items() if at is not None]
            )
        if self.members_removed:
            conn.executemany(sql.DELETE_ENTITY_TYPE, self.members_removed)
        if self.members_added:
            conn.executemany(sql.INSERT_ENTITY_TYPE, self.members_added)
        counted = False
        if self.type_counts:
            conn.executemany(sql.UPSERT_TYPE_COUNT, [(tenant, key, delta) for key, delta in self.type_counts.items() if delta])
            counted = True
        if self.type_attribute_counts:
            conn.executemany(
                sql.UPSERT_TYPE_ATTRIBUTE_COUNT,
                [(tenant, *key, delta) for key, delta in self.type_attribute_counts.items() if delta],
            )
            counted = True
        if self.attribute_counts:
            conn.executemany(
                sql.UPSERT_ATTRIBUTE_COUNT, [(tenant, *key, delta) for key, delta in self.attribute_counts.items() if delta]
            )
            counted = True
        if counted:
            for statement in sql.DROP_ZERO_COUNTS:
                conn.execute(statement, (tenant,))


def geo_instances(entity: ExpandedEntity | None) -> list[tuple[str, Any]]:
    """(attribute IRI, GeoJSON) of every GeoProperty instance."""
    if entity is None:
        return []
    return [
        (key, instance["value"])
        for key, instances in entity.items()
        if isinstance(instances, list)
        for instance in instances
        if isinstance(instance, dict) and instance.get("type") == "GeoProperty"
    ]


def _as_text(instances: list[tuple[str, Any]]) -> set[tuple[str, str]]:
    """The instances as comparable text, to see whether geometry changed."""
    return {(attribute, _dumps(geojson)) for attribute, geojson in instances}


def _geo_keys(conn: sqlite3.Connection, tenant: str, pairs: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """The index key of each (GeoProperty, entity type) of the tenant, made when new."""
    keys = {}
    for attribute, entity_type in pairs:
        conn.execute(sql.INSERT_GEO_KEY, (tenant, attribute, entity_type))
        key = conn.execute(sql.SELECT_GEO_KEY, (tenant, attribute, entity_type)).fetchone()[0]
        if key >= sql.GEO_KEYS:
            raise InternalError(f"the spatial index holds {sql.GEO_KEYS} (tenant, GeoProperty, type) keys, its most")
        keys[attribute, entity_type] = key
    return keys


def _cell_and_position(point: tuple[float, float] | None) -> tuple[int | None, float | None, float | None]:
    if point is None:
        return (None, None, None)
    return (cell_of(*point), *point)


def _point(geojson: Any) -> tuple[float, float] | None:
    """A Point's longitude and latitude, as shapely reads them; None for any other geometry."""
    if not isinstance(geojson, dict):
        return None
    coordinates = geojson.get("coordinates")
    if geojson.get("type") != "Point" or not isinstance(coordinates, list) or not 2 <= len(coordinates) <= 3:
        return None
    if not all(isinstance(n, (int, float)) and not isinstance(n, bool) and math.isfinite(n) for n in coordinates):
        return None  # not a position (data stored before validation was strict): its document decides
    return (float(coordinates[0]), float(coordinates[1]))


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


__all__ = ["EntityWrites", "geo_instances"]
