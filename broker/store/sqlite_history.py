# SPDX-License-Identifier: EUPL-1.2
"""The history in the SQLite store: attribute instances, one row each (ETSI GS CIM 009 clause 4.5.7).

Three tables (migration 4 of broker.store.sqlite_schema): `history` holds the instances, indexed on
(tenant, entity_id, attribute, ts) so that a window of one attribute is one index range;
`history_entities` the entities the history knows (types and scope, for type selection, kept
when an entity is deleted); `history_attributes` which attributes each entity has a history of.
Instants are epoch milliseconds (INTEGER). Aggregations are one GROUP BY over period numbers
computed by integer arithmetic, for calendar periods on the month number from strftime.

The functions take the connection of the caller's transaction (writes) or reader (reads).
"""

from __future__ import annotations

import sqlite3
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

INSERT_INSTANCE = (
    "INSERT INTO history (tenant, entity_id, attribute, dataset_id, ts, observed_at, created_at, modified_at, "
    "deleted_at, num, value, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
UPSERT_ENTITY = (
    "INSERT INTO history_entities (tenant, id, types, scope, deleted_at) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (tenant, id) DO UPDATE SET types = excluded.types, scope = excluded.scope, deleted_at = excluded.deleted_at"
)
INSERT_ATTRIBUTE = "INSERT OR IGNORE INTO history_attributes (tenant, entity_id, attribute) VALUES (?, ?, ?)"
SELECT_ENTITY = "SELECT id, types, scope, deleted_at FROM history_entities WHERE tenant = ? AND id = ?"
SELECT_ATTRIBUTES = "SELECT attribute FROM history_attributes WHERE tenant = ? AND entity_id = ? ORDER BY attribute"
SELECT_ALL_ATTRIBUTES = "SELECT entity_id, attribute FROM history_attributes WHERE tenant = ?"
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
    """The history rows of a batch, written with one executemany per table at its end (`flush`)."""

    def __init__(self) -> None:
        self.entities: list[tuple[Any, ...]] = []
        self.attributes: list[tuple[str, str, str]] = []
        self.instances: list[tuple[Any, ...]] = []

    def flush(self, conn: sqlite3.Connection) -> None:
        if self.entities:  # in order: an entity written twice in the batch ends as written last
            conn.executemany(UPSERT_ENTITY, self.entities)
        if self.attributes:
            conn.executemany(INSERT_ATTRIBUTE, self.attributes)
        if self.instances:
            conn.executemany(INSERT_INSTANCE, self.instances)


def record_write(
    conn: sqlite3.Connection,
    tenant: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    pending: PendingHistory | None = None,
) -> None:
    """Record what an entity write changed: its new or changed instances, and deletions.

    With `pending`, the rows are collected for a batch's `PendingHistory.flush` instead of written now.
    """
    history = pending if pending is not None else PendingHistory()
    records = history_fields(before, after)
    if before is None and after is not None:  # a creation: entity_change is the entity as created
        history.entities.append(_created_entity_row(tenant, after))
    else:
        change = entity_change(before, after)
        if change is not None:
            history.entities.append(entity_row(tenant, change))
    if records:
        entity_id = records[0][0]
        history.attributes.extend((tenant, entity_id, attribute) for attribute in _new_attributes(before, records))
        history.instances.extend(_row_of_fields(tenant, fields) for fields in records)
    if pending is None:
        history.flush(conn)


def _created_entity_row(tenant: str, entity: dict[str, Any]) -> tuple[Any, ...]:
    """entity_row(tenant, entity_change(None, entity)) without the HistoryEntity."""
    scope = entity.get("scope")
    if scope is not None:
        scope = orjson.dumps([scope] if isinstance(scope, str) else list(scope)).decode()
    return (tenant, entity["id"], orjson.dumps(list(entity["type"])).decode(), scope, None)


def _new_attributes(before: dict[str, Any] | None, records: list[RecordFields]) -> list[str]:
    """temporal.instances.new_attributes on record fields (attribute 1, deleted_at_ms 10)."""
    return sorted({r[1] for r in records if r[10] is None and (before is None or r[1] not in before)})


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


def write_entity(conn: sqlite3.Connection, tenant: str, entity: HistoryEntity) -> None:
    conn.execute(UPSERT_ENTITY, entity_row(tenant, entity))


def entity_row(tenant: str, entity: HistoryEntity) -> tuple[Any, ...]:
    scope = orjson.dumps(list(entity.scope)).decode() if entity.scope is not None else None
    return (tenant, entity.id, orjson.dumps(list(entity.types)).decode(), scope, entity.deleted_at_ms)


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
    write_entity(conn, tenant, HistoryEntity(entity.id, tuple(types), scope, None if found is None else found[3]))
    attributes = sorted({record.attribute for record in records})
    conn.executemany(INSERT_ATTRIBUTE, [(tenant, entity.id, attribute) for attribute in attributes])
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
        where.append(
            "EXISTS (SELECT 1 FROM history_attributes AS a WHERE a.tenant = history_entities.tenant "
            f"AND a.entity_id = history_entities.id AND a.attribute IN ({','.join('?' * len(attrs))}))"
        )
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
        conn.execute(
            "DELETE FROM history_attributes WHERE tenant = ? AND entity_id = ? AND attribute = ?",
            (tenant, entity_id, attribute),
        )
    return cursor.rowcount > 0


def delete_entity(conn: sqlite3.Connection, tenant: str, entity_id: str) -> bool:
    conn.execute("DELETE FROM history WHERE tenant = ? AND entity_id = ?", (tenant, entity_id))
    conn.execute("DELETE FROM history_attributes WHERE tenant = ? AND entity_id = ?", (tenant, entity_id))
    return conn.execute("DELETE FROM history_entities WHERE tenant = ? AND id = ?", (tenant, entity_id)).rowcount > 0


def purge(conn: sqlite3.Connection, tenant: str, before_ms: int) -> int:
    """Delete the tenant's instances older than before_ms, one index range per entity attribute."""
    deleted = 0
    for entity_id, attribute in conn.execute(SELECT_ALL_ATTRIBUTES, (tenant,)).fetchall():
        deleted += conn.execute(
            "DELETE FROM history WHERE tenant = ? AND entity_id = ? AND attribute = ? AND ts < ?",
            (tenant, entity_id, attribute, before_ms),
        ).rowcount
    return deleted


__all__ = [
    "MIGRATION",
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
