# SPDX-License-Identifier: EUPL-1.2
"""The history in the SQLite store: attribute instances, one row each (ETSI GS CIM 009 clause 4.5.7).

Two tables (migration 4 of broker.store.sqlite_schema, then MIGRATION_ATTRIBUTES and MIGRATION_UNIQUE_IDS,
which gives `history` ids that are never reused): `history` holds
the instances, indexed on (tenant, entity_id, attribute, ts) so that a window of one attribute is one
index range; `history_entities` the entities the history knows (types and scope, for type selection,
kept when an entity is deleted) and, in `attributes`, which attributes each entity has a history of.
That list lives in the entity's row (it was a table, `history_attributes`, of a row per attribute):
a creation writes the entity row anyway, so its attributes cost no row of their own; a later write
touches the row only when it brings an attribute the entity's history did not have.
Instants are epoch milliseconds (INTEGER). Aggregations are one GROUP BY over period numbers
computed by integer arithmetic, for calendar periods on the month number from strftime.

The functions take the connection of the caller's transaction (writes) or reader (reads).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from typing import Any

import orjson

from broker.temporal.instances import RecordFields, entity_change, history_fields
from broker.temporal.model import (
    AggregatedPeriod,
    AggregationPlan,
    HistoryCursor,
    HistoryEntity,
    HistoryInstance,
    HistoryWindow,
    InstanceRecord,
)
from broker.temporal.times import month_index

MIGRATION = """
CREATE TABLE history (
    id          INTEGER PRIMARY KEY,
    tenant      TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    attribute   TEXT NOT NULL,          -- expanded attribute IRI
    dataset_id  TEXT NOT NULL,          -- '' for the default instance
    ts          INTEGER NOT NULL,       -- ms: observedAt, else the write (modifiedAt), or deletedAt
    observed_at INTEGER,
    created_at  INTEGER NOT NULL,
    modified_at INTEGER NOT NULL,
    deleted_at  INTEGER,
    num         REAL,                   -- the value as a number, for aggregations
    value       TEXT NOT NULL,          -- JSON of the value member, for distinctCount and exports
    doc         TEXT NOT NULL           -- the instance (expanded) without createdAt/modifiedAt
);
CREATE INDEX history_by_time ON history (tenant, entity_id, attribute, ts);
CREATE TABLE history_entities (
    tenant TEXT NOT NULL, id TEXT NOT NULL, types TEXT NOT NULL, scope TEXT, deleted_at INTEGER,
    PRIMARY KEY (tenant, id)
) WITHOUT ROWID;
CREATE TABLE history_attributes (
    tenant TEXT NOT NULL, entity_id TEXT NOT NULL, attribute TEXT NOT NULL,
    PRIMARY KEY (tenant, entity_id, attribute)
) WITHOUT ROWID;
"""

# The attributes each entity has a history of, a JSON array of expanded IRIs (sorted when written; the
# readers sort again) in the entity's row. The rows of history_attributes grouped per entity, in primary
# key order, become the arrays; those of an entity without a row in history_entities (written by an
# update after the history of the entity was deleted) have no row to go to and are dropped with the table.
# (The store runs a migration statement by statement, split on ';': none may appear inside SQL text.)
MIGRATION_ATTRIBUTES = """
ALTER TABLE history_entities ADD COLUMN attributes TEXT NOT NULL DEFAULT '[]';
UPDATE history_entities SET attributes = grouped.attributes
FROM (
    SELECT tenant, entity_id, json_group_array(attribute) AS attributes FROM history_attributes
    GROUP BY tenant, entity_id
) AS grouped
WHERE history_entities.tenant = grouped.tenant AND history_entities.id = grouped.entity_id;
DROP TABLE history_attributes;
"""

# An entity whose history the temporal API deleted, in whole or an attribute of it, while the entity lived
# on: its later writes must make its history row again and list the attributes they record
# (record_write's `relist`). The writes read the entity's row anyway, so the mark costs them nothing;
# the entities marked are those whose history today lacks their row or one of their attributes.
MIGRATION_RELIST = """
ALTER TABLE entities ADD COLUMN history_deleted INTEGER NOT NULL DEFAULT 0;
UPDATE entities SET history_deleted = 1 WHERE NOT EXISTS (
    SELECT 1 FROM history_entities AS h WHERE h.tenant = entities.tenant AND h.id = entities.id AND NOT EXISTS (
        SELECT 1 FROM json_each(entities.doc) AS a
        WHERE a.key NOT IN ('id', 'type', 'scope', 'createdAt', 'modifiedAt', 'deletedAt')
        AND a.key NOT IN (SELECT value FROM json_each(h.attributes))
    )
);
"""
# An instance's id is its instanceId (urn:ngsi-ld:attribute:instance:<id>): never given twice. A rowid
# table gives a new row the largest id + 1, so once the newest instances were deleted (by the temporal API
# or by retention) the next ones took their ids, and a client's instanceId of a deleted instance reached
# another. AUTOINCREMENT keeps the largest id ever given (in sqlite_sequence); it can only be declared
# with the table, which is made anew here: the instances are copied, ids and all, and the index made again.
# Ids freed before this migration above the largest one left may still be given once more. The copy runs
# in the migration's one transaction: on a large history it takes the history's size again on disk (and
# in the WAL) and holds the start of the broker while it runs.
MIGRATION_UNIQUE_IDS = """
CREATE TABLE history_numbered (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant      TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    attribute   TEXT NOT NULL,
    dataset_id  TEXT NOT NULL,
    ts          INTEGER NOT NULL,
    observed_at INTEGER,
    created_at  INTEGER NOT NULL,
    modified_at INTEGER NOT NULL,
    deleted_at  INTEGER,
    num         REAL,
    value       TEXT NOT NULL,
    doc         TEXT NOT NULL
);
INSERT INTO history_numbered (
    id, tenant, entity_id, attribute, dataset_id, ts, observed_at, created_at, modified_at, deleted_at, num, value, doc
) SELECT id, tenant, entity_id, attribute, dataset_id, ts, observed_at, created_at, modified_at, deleted_at, num, value, doc
FROM history ORDER BY id;
DROP TABLE history;
ALTER TABLE history_numbered RENAME TO history;
CREATE INDEX history_by_time ON history (tenant, entity_id, attribute, ts);
"""
MARK_DELETED = "UPDATE entities SET history_deleted = 1 WHERE tenant = ? AND id = ? AND history_deleted = 0"

INSERT_INSTANCE = (
    "INSERT INTO history (tenant, entity_id, attribute, dataset_id, ts, observed_at, created_at, modified_at, "
    "deleted_at, num, value, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
# The row's attributes with those of a JSON array `{new}` added (a union, sorted); '[]' leaves them as they are.
_MERGE_ATTRIBUTES = (
    "CASE WHEN {new} = '[]' THEN attributes ELSE (SELECT json_group_array(value) FROM "
    "(SELECT value FROM json_each(attributes) UNION SELECT value FROM json_each({new}) ORDER BY value)) END"
)
# A new entity's row carries its attributes; on a conflict (the entity known to the history already)
# types, scope and deletion are replaced, the attributes merged.
UPSERT_ENTITY = (
    "INSERT INTO history_entities (tenant, id, types, scope, deleted_at, attributes) VALUES (?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (tenant, id) DO UPDATE SET types = excluded.types, scope = excluded.scope, deleted_at = excluded.deleted_at, "
    f"attributes = {_MERGE_ATTRIBUTES.format(new='excluded.attributes')}"
)
# An update that keeps the entity's types and scope but records instances of attributes the history may
# not list: attributes new to the entity, or any after the temporal API deleted some of its history (the
# entity's row is then made again if it is gone). The row is rewritten only when it lacks one of them.
ENSURE_ENTITY = (
    "INSERT INTO history_entities (tenant, id, types, scope, deleted_at, attributes) VALUES (?, ?, ?, ?, NULL, ?) "
    f"ON CONFLICT (tenant, id) DO UPDATE SET attributes = {_MERGE_ATTRIBUTES.format(new='excluded.attributes')} "
    "WHERE EXISTS (SELECT 1 FROM json_each(excluded.attributes) AS n "
    "WHERE n.value NOT IN (SELECT value FROM json_each(history_entities.attributes)))"
)
REMOVE_ATTRIBUTE = (
    "UPDATE history_entities SET attributes = (SELECT json_group_array(value) FROM json_each(attributes) WHERE value <> ?1) "
    "WHERE tenant = ?2 AND id = ?3 AND EXISTS (SELECT 1 FROM json_each(attributes) WHERE value = ?1)"
)
SELECT_ENTITY = "SELECT id, types, scope, deleted_at FROM history_entities WHERE tenant = ? AND id = ?"
SELECT_ATTRIBUTES = (
    "SELECT a.value FROM history_entities AS h, json_each(h.attributes) AS a WHERE h.tenant = ? AND h.id = ? ORDER BY a.value"
)
SELECT_TENANTS = "SELECT DISTINCT tenant FROM history_entities ORDER BY tenant"

# The column a time property reads; observedAt reads ts (which is observedAt where there is one).
_TIME_COLUMNS = {"observedAt": "ts", "createdAt": "created_at", "modifiedAt": "modified_at", "deletedAt": "deleted_at"}
_INSTANCE_COLUMNS = "id, attribute, dataset_id, doc, {time}, created_at, modified_at, deleted_at"


def row_of(tenant: str, record: InstanceRecord) -> tuple[Any, ...]:
    return (
        tenant,
        record.entity_id,
        record.attribute,
        record.dataset_id,
        record.time_ms,
        record.observed_at_ms,
        record.created_at_ms,
        record.modified_at_ms,
        record.deleted_at_ms,
        record.number,
        record.value,
        orjson.dumps(record.doc).decode(),
    )


class PendingHistory:
    """The history rows of a batch, written with one executemany per statement at its end (`flush`).

    `entities` are UPSERT_ENTITY rows, `ensured` ENSURE_ENTITY rows (updates that leave the entity's
    row as it is unless the history lost it or some of its attributes), `instances` INSERT_INSTANCE rows.
    """

    def __init__(self) -> None:
        self.entities: list[tuple[Any, ...]] = []
        self.ensured: list[tuple[Any, ...]] = []
        self.instances: list[tuple[Any, ...]] = []

    def flush(self, conn: sqlite3.Connection) -> None:
        if self.entities:  # in order: an entity written twice in the batch ends as written last
            conn.executemany(UPSERT_ENTITY, self.entities)
        if self.ensured:  # after the entities: a union, to rows a creation in this batch may have made
            conn.executemany(ENSURE_ENTITY, self.ensured)
        if self.instances:
            conn.executemany(INSERT_INSTANCE, self.instances)


def record_write(
    conn: sqlite3.Connection,
    tenant: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    pending: PendingHistory | None = None,
    *,
    relist: bool = False,
    now_ms: int | None = None,
) -> None:
    """Record what an entity write changed: its new or changed instances, and deletions.

    Every attribute that gets an instance (a value or a deletion) is listed in the entity's history row.
    `relist`: the temporal API deleted some of the entity's history (its row is marked history_deleted),
    so the row is made again if it is gone and the attributes listed again: a write after such a deletion
    starts the history anew. With `pending`, the rows are collected for a batch's `PendingHistory.flush`
    instead of written now. `now_ms`: the instant of a deletion (the clock when not given), which the
    store gives the deleted entity as deletedAt.
    """
    history = pending if pending is not None else PendingHistory()
    # A deletion's instances and the entity's row carry one instant: the clock is read once.
    if after is not None:
        now_ms = None
    elif now_ms is None:
        now_ms = int(time.time() * 1000)
    records = history_fields(before, after, now_ms)
    if before is None and after is not None:  # a creation: entity_change is the entity as created
        history.entities.append(_created_entity_row(tenant, after, records))
    else:
        change = entity_change(before, after, now_ms)
        if change is not None:
            history.entities.append(entity_row(tenant, change, _attributes_of(records)))
        elif records and after is not None and before is not None and (relist or any(r[1] not in before for r in records)):
            history.ensured.append(_ensured_row(tenant, after, records))
    if records:
        history.instances.extend(_row_of_fields(tenant, fields) for fields in records)
    if pending is None:
        history.flush(conn)


def _created_entity_row(tenant: str, entity: dict[str, Any], records: list[RecordFields]) -> tuple[Any, ...]:
    """entity_row(tenant, entity_change(None, entity), _attributes_of(records)) without the HistoryEntity."""
    attributes = orjson.dumps(_attributes_of(records)).decode() if records else "[]"
    return (tenant, entity["id"], orjson.dumps(list(entity["type"])).decode(), _scope_text(entity), None, attributes)


def _ensured_row(tenant: str, entity: dict[str, Any], records: list[RecordFields]) -> tuple[Any, ...]:
    """The ENSURE_ENTITY row of an update of `entity` that recorded `records`."""
    attributes = orjson.dumps(_attributes_of(records)).decode()
    return (tenant, entity["id"], orjson.dumps(list(entity["type"])).decode(), _scope_text(entity), attributes)


def _scope_text(entity: dict[str, Any]) -> str | None:
    scope = entity.get("scope")
    if scope is None:
        return None
    return orjson.dumps([scope] if isinstance(scope, str) else list(scope)).decode()


def _attributes_of(records: list[RecordFields]) -> list[str]:
    """The attributes (field 1) that get an instance, sorted: all of them are listed in the history."""
    return sorted({r[1] for r in records})


def _row_of_fields(tenant: str, fields: RecordFields) -> tuple[Any, ...]:
    """row_of(tenant, InstanceRecord(*fields)) without the record."""
    entity_id, attribute, dataset_id, doc, value, number, time_ms, observed_ms, created_ms, modified_ms, deleted_ms = fields
    return (
        tenant,
        entity_id,
        attribute,
        dataset_id,
        time_ms,
        observed_ms,
        created_ms,
        modified_ms,
        deleted_ms,
        number,
        value,
        orjson.dumps(doc).decode(),
    )


def write_entity(conn: sqlite3.Connection, tenant: str, entity: HistoryEntity, attributes: Sequence[str] = ()) -> None:
    conn.execute(UPSERT_ENTITY, entity_row(tenant, entity, attributes))


def entity_row(tenant: str, entity: HistoryEntity, attributes: Sequence[str] = ()) -> tuple[Any, ...]:
    """The UPSERT_ENTITY row: `attributes` (sorted) are added to those the entity's history has."""
    scope = orjson.dumps(list(entity.scope)).decode() if entity.scope is not None else None
    return (
        tenant,
        entity.id,
        orjson.dumps(list(entity.types)).decode(),
        scope,
        entity.deleted_at_ms,
        orjson.dumps(list(attributes)).decode(),
    )


def add_instances(conn: sqlite3.Connection, tenant: str, entity: HistoryEntity, records: Sequence[InstanceRecord]) -> bool:
    """The temporal API's write: merge the entity's types, add the instances; True when the entity is new."""
    found = conn.execute(SELECT_ENTITY, (tenant, entity.id)).fetchone()
    types = list(entity.types)
    scope = entity.scope
    if found is not None:
        known = orjson.loads(found[1])
        types = known + [t for t in types if t not in known]
        if scope is None and found[2] is not None:
            scope = tuple(orjson.loads(found[2]))
    attributes = sorted({record.attribute for record in records})
    write_entity(conn, tenant, HistoryEntity(entity.id, tuple(types), scope, None if found is None else found[3]), attributes)
    conn.executemany(INSERT_INSTANCE, [row_of(tenant, record) for record in records])
    return found is None


def entity_of(row: Sequence[Any]) -> HistoryEntity:
    return HistoryEntity(
        row[0], tuple(orjson.loads(row[1])), tuple(orjson.loads(row[2])) if row[2] is not None else None, row[3]
    )


def select_entities(
    conn: sqlite3.Connection,
    tenant: str,
    *,
    ids: Sequence[str] | None,
    types: Sequence[str] | None,
    attrs: Sequence[str] | None,
    after_id: str | None,
    limit: int,
) -> list[HistoryEntity]:
    """Candidates in id order: with one of the ids, one of the types, a history of one of attrs."""
    where = ["tenant = ?"]
    params: list[Any] = [tenant]
    if ids is not None:
        where.append(f"id IN ({','.join('?' * len(ids))})")
        params.extend(ids)
    if types is not None:
        where.append(f"EXISTS (SELECT 1 FROM json_each(types) WHERE value IN ({','.join('?' * len(types))}))")
        params.extend(types)
    if attrs is not None:
        where.append(f"EXISTS (SELECT 1 FROM json_each(attributes) WHERE value IN ({','.join('?' * len(attrs))}))")
        params.extend(attrs)
    if after_id is not None:
        where.append("id > ?")
        params.append(after_id)
    rows = conn.execute(
        f"SELECT id, types, scope, deleted_at FROM history_entities WHERE {' AND '.join(where)} ORDER BY id LIMIT ?",
        (*params, limit),
    ).fetchall()
    return [entity_of(row) for row in rows]


def _window(window: HistoryWindow, params: list[Any]) -> tuple[str, list[str]]:
    column = _TIME_COLUMNS[window.timeproperty]
    conditions: list[str] = []
    if window.timeproperty == "deletedAt":
        conditions.append("deleted_at IS NOT NULL")
    elif window.timeproperty == "observedAt" and window.bounded:
        conditions.append("observed_at IS NOT NULL")
    if window.start_ms is not None:
        conditions.append(f"{column} >= ?")
        params.append(window.start_ms)
    if window.end_ms is not None:
        conditions.append(f"{column} < ?")
        params.append(window.end_ms)
    if window.dataset_ids is not None:
        conditions.append(f"dataset_id IN ({','.join('?' * len(window.dataset_ids))})")
        params.extend(window.dataset_ids)
    return column, conditions


def select_instances(
    conn: sqlite3.Connection,
    tenant: str,
    entity_id: str,
    attribute: str,
    window: HistoryWindow,
    *,
    limit: int,
    descending: bool = False,
    after: HistoryCursor | None = None,
) -> list[HistoryInstance]:
    params: list[Any] = [tenant, entity_id, attribute]
    column, conditions = _window(window, params)
    if after is not None:
        # The bound on the time column alone first, so that the index range starts there.
        sign = "<" if descending else ">"
        conditions.append(f"{column} {sign}= ? AND ({column} {sign} ? OR id {sign} ?)")
        params.extend([after.time_ms, after.time_ms, after.row_id])
    direction = "DESC" if descending else "ASC"
    where = "".join(f" AND {condition}" for condition in conditions)
    rows = conn.execute(
        f"SELECT {_INSTANCE_COLUMNS.format(time=column)} FROM history "
        f"WHERE tenant = ? AND entity_id = ? AND attribute = ?{where} ORDER BY {column} {direction}, id {direction} LIMIT ?",
        (*params, limit),
    ).fetchall()
    return [HistoryInstance(row[0], row[1], row[2], orjson.loads(row[3]), *row[4:]) for row in rows]


def select_bounds(
    conn: sqlite3.Connection, tenant: str, entity_id: str, attribute: str, window: HistoryWindow
) -> tuple[int, int] | None:
    params: list[Any] = [tenant, entity_id, attribute]
    column, conditions = _window(window, params)
    where = "".join(f" AND {condition}" for condition in conditions)
    row = conn.execute(
        f"SELECT min({column}), max({column}) FROM history WHERE tenant = ? AND entity_id = ? AND attribute = ?"
        f" AND deleted_at IS NULL{where}",
        params,
    ).fetchone()
    return None if row is None or row[0] is None else (row[0], row[1])


def aggregate(
    conn: sqlite3.Connection, tenant: str, entity_id: str, attribute: str, window: HistoryWindow, plan: AggregationPlan
) -> list[AggregatedPeriod]:
    """One GROUP BY: per dataset and period, the aggregates asked for (the deletion rows excluded).

    The population variance comes from the sums, (Σx² − (Σx)²/n)/n; its root is stddev.
    """
    params: list[Any] = []
    column = _TIME_COLUMNS[window.timeproperty]
    if plan.period.is_zero:
        bucket = "0"
    elif plan.period.months:
        bucket = (
            f"((CAST(strftime('%Y', {column} / 1000, 'unixepoch') AS INTEGER) * 12 "
            f"+ CAST(strftime('%m', {column} / 1000, 'unixepoch') AS INTEGER) - 1 - ?) / ?)"
        )
        params.extend([month_index(plan.origin_ms), plan.period.months])
    else:
        bucket = f"(({column} - ?) / ?)"
        params.extend([plan.origin_ms, plan.period.ms])
    params.extend([tenant, entity_id, attribute])
    _, conditions = _window(window, params)
    where = "".join(f" AND {condition}" for condition in conditions)
    wanted = set(plan.methods)
    aggregates = ", ".join(
        expression if method in wanted else "NULL"
        for method, expression in (
            ("distinctCount", "count(DISTINCT value)"),
            ("sum", "sum(num)"),
            ("avg", "sum(num) / count(num)"),
            ("min", "min(num)"),
            ("max", "max(num)"),
            ("stddev", "(sum(num * num) - sum(num) * sum(num) / count(num)) / count(num)"),
            ("sumsq", "sum(num * num)"),
        )
    )
    rows = conn.execute(
        f"SELECT dataset_id, {bucket} AS bucket, count(*), {aggregates}, "
        f"min({column}), max({column}) FROM history "
        f"WHERE tenant = ? AND entity_id = ? AND attribute = ? AND deleted_at IS NULL{where} "
        "GROUP BY dataset_id, bucket ORDER BY dataset_id, bucket",
        params,
    ).fetchall()
    return [AggregatedPeriod(*row) for row in rows]


def select_instance_doc(
    conn: sqlite3.Connection, tenant: str, entity_id: str, attribute: str, row_id: int
) -> tuple[dict[str, Any], int] | None:
    row = conn.execute(
        "SELECT doc, created_at FROM history WHERE id = ? AND tenant = ? AND entity_id = ? AND attribute = ?",
        (row_id, tenant, entity_id, attribute),
    ).fetchone()
    return None if row is None else (orjson.loads(row[0]), row[1])


def update_instance(conn: sqlite3.Connection, tenant: str, row_id: int, record: InstanceRecord) -> None:
    conn.execute(
        "UPDATE history SET dataset_id = ?, ts = ?, observed_at = ?, modified_at = ?, num = ?, value = ?, doc = ? "
        "WHERE id = ? AND tenant = ?",
        (
            record.dataset_id,
            record.time_ms,
            record.observed_at_ms,
            record.modified_at_ms,
            record.number,
            record.value,
            orjson.dumps(record.doc).decode(),
            row_id,
            tenant,
        ),
    )


def delete_instance(conn: sqlite3.Connection, tenant: str, entity_id: str, attribute: str, row_id: int) -> bool:
    cursor = conn.execute(
        "DELETE FROM history WHERE id = ? AND tenant = ? AND entity_id = ? AND attribute = ?",
        (row_id, tenant, entity_id, attribute),
    )
    return cursor.rowcount > 0


def delete_attribute(
    conn: sqlite3.Connection, tenant: str, entity_id: str, attribute: str, dataset_id: str | None
) -> bool:
    """Delete the instances of one dataset ('' the default one), or of all (dataset_id None)."""
    if dataset_id is None:
        cursor = conn.execute(
            "DELETE FROM history WHERE tenant = ? AND entity_id = ? AND attribute = ?", (tenant, entity_id, attribute)
        )
    else:
        cursor = conn.execute(
            "DELETE FROM history WHERE tenant = ? AND entity_id = ? AND attribute = ? AND dataset_id = ?",
            (tenant, entity_id, attribute, dataset_id),
        )
    remaining = conn.execute(
        "SELECT 1 FROM history WHERE tenant = ? AND entity_id = ? AND attribute = ? LIMIT 1", (tenant, entity_id, attribute)
    ).fetchone()
    if remaining is None:
        conn.execute(REMOVE_ATTRIBUTE, (attribute, tenant, entity_id))
        conn.execute(MARK_DELETED, (tenant, entity_id))
    return cursor.rowcount > 0


def delete_entity(conn: sqlite3.Connection, tenant: str, entity_id: str) -> bool:
    conn.execute("DELETE FROM history WHERE tenant = ? AND entity_id = ?", (tenant, entity_id))
    deleted = conn.execute("DELETE FROM history_entities WHERE tenant = ? AND id = ?", (tenant, entity_id)).rowcount > 0
    if deleted:
        conn.execute(MARK_DELETED, (tenant, entity_id))
    return deleted


def purge(conn: sqlite3.Connection, tenant: str, before_ms: int) -> int:
    """Delete the tenant's instances older than before_ms, by their time alone (as the PostgreSQL store
    does): also those of attributes the history lists no longer (instances an update wrote after the
    entity's history was deleted)."""
    return int(conn.execute("DELETE FROM history WHERE tenant = ? AND ts < ?", (tenant, before_ms)).rowcount)


__all__ = [
    "MIGRATION",
    "MIGRATION_ATTRIBUTES",
    "MIGRATION_RELIST",
    "MIGRATION_UNIQUE_IDS",
    "add_instances",
    "aggregate",
    "delete_attribute",
    "delete_entity",
    "delete_instance",
    "entity_of",
    "purge",
    "PendingHistory",
    "record_write",
    "select_bounds",
    "select_entities",
    "select_instance_doc",
    "select_instances",
    "update_instance",
    "write_entity",
]
