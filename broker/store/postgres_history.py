# SPDX-License-Identifier: EUPL-1.2
"""The history in the PostgreSQL store: attribute instances, one row each (ETSI GS CIM 009 clause 4.5.7).

`history` is partitioned by range of `ts` (the instance's instant: observedAt, else the write):
one partition per month plus a DEFAULT partition. `ensure_partitions` is the creation step: at
start-up and on every retention run it creates the partitions of this month and the next ones,
moving into a new partition whatever rows of its range the DEFAULT partition holds (an import
of older data lands there), so inserts never wait for DDL. The index (tenant, entity_id,
attribute, ts) exists on every partition; a window of one attribute is an index range in the
partitions the window touches (pruning). Retention deletes by `ts`, which prunes the same way.

`history_entities` and `history_attributes` play the same role as in the SQLite store. Instants
cross this module as epoch milliseconds; SQL converts them (to_timestamp, extract(epoch)).
Aggregations run in one GROUP BY: date_bin for fixed periods, month arithmetic for calendar
ones, var_pop for the variance (stddev is its square root: the population standard deviation).

The history of an entity can be deleted while the entity lives on (DELETE /temporal/entities/{id}
or .../attrs/{attrId}); its next writes start a new one. Those deletions mark the entity's row
(`entities.history_deleted`, MARK_DELETED), which the entity writes read with the document they
read anyway. Only the writes of a marked entity make its history_entities row again if it is gone
and list every attribute they give an instance; the others list only the attributes new to the
entity. The hot path (an update of attributes the entity has) stays one plain INSERT
(INSERT_INSTANCES); the listing, when there is any, is folded into that statement
(RECORD_INSTANCES). The mark is never cleared: a marked entity keeps paying an index probe per
attribute it writes.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import orjson
from asyncpg import exceptions as pg  # type: ignore[import-untyped]

from broker.temporal.instances import entity_change, history_records, new_attributes
from broker.temporal.model import (
    AggregatedPeriod,
    AggregationPlan,
    HistoryCursor,
    HistoryEntity,
    HistoryInstance,
    HistoryWindow,
    InstanceRecord,
)
from broker.temporal.times import format_ms, month_index, month_start_ms

Write = tuple[dict[str, Any] | None, dict[str, Any] | None]
# "citypart" in ASCII: serialises partition creation across broker processes.
PARTITION_LOCK = 0x6369747970617274
MONTHS_AHEAD = 2

MIGRATION = """
CREATE TABLE history (
    id          bigserial,
    tenant      text COLLATE "C" NOT NULL,
    entity_id   text COLLATE "C" NOT NULL,
    attribute   text COLLATE "C" NOT NULL,  -- expanded attribute IRI
    dataset_id  text COLLATE "C" NOT NULL,  -- '' for the default instance
    ts          timestamptz NOT NULL,       -- observedAt, else the write (modifiedAt), or deletedAt
    observed_at timestamptz,
    created_at  timestamptz NOT NULL,
    modified_at timestamptz NOT NULL,
    deleted_at  timestamptz,
    num         double precision,           -- the value as a number, for aggregations
    value       text NOT NULL,              -- JSON of the value member, for distinctCount and exports
    doc         jsonb NOT NULL              -- the instance (expanded) without createdAt/modifiedAt
) PARTITION BY RANGE (ts);
CREATE INDEX history_by_time ON history (tenant, entity_id, attribute, ts);
CREATE TABLE history_default PARTITION OF history DEFAULT;

CREATE TABLE history_entities (
    tenant     text COLLATE "C" NOT NULL,
    id         text COLLATE "C" NOT NULL,
    types      text[] COLLATE "C" NOT NULL,
    scope      text[] COLLATE "C",
    deleted_at timestamptz,
    PRIMARY KEY (tenant, id)
);
CREATE INDEX history_entities_types ON history_entities USING gin (types);
CREATE TABLE history_attributes (
    tenant    text COLLATE "C" NOT NULL,
    entity_id text COLLATE "C" NOT NULL,
    attribute text COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant, entity_id, attribute)
);
"""

# An entity whose history the temporal API deleted, in whole or an attribute of it, while the entity
# lived on: its later writes must make its history row again and list the attributes they record
# (record_writes' `relist`). The writes read the entity's row anyway, so the mark costs them nothing;
# the entities marked are those whose history today lacks their row or one of their attributes (the
# keys of the expanded document but its core members). A constant default: no table rewrite.
MIGRATION_RELIST = """
ALTER TABLE entities ADD COLUMN history_deleted boolean NOT NULL DEFAULT false;
UPDATE entities AS e SET history_deleted = true
WHERE NOT EXISTS (SELECT 1 FROM history_entities AS h WHERE h.tenant = e.tenant AND h.id = e.id)
OR EXISTS (
    SELECT 1 FROM jsonb_object_keys(e.doc) AS k(attribute)
    WHERE k.attribute NOT IN ('id', 'type', 'scope', 'createdAt', 'modifiedAt', 'deletedAt')
    AND NOT EXISTS (
        SELECT 1 FROM history_attributes AS l WHERE l.tenant = e.tenant AND l.entity_id = e.id AND l.attribute = k.attribute
    )
);
"""
# The first statement of a temporal deletion: the entity's row is locked before any history row is
# deleted, as the entity writes lock it before they write the history, so that a write of the entity
# and the deletion of its history wait for each other (a write's instance is not lost between them)
# and cannot deadlock. MARK_DELETED alone would not do: it matches no row once the entity is marked.
LOCK_ENTITY = "SELECT 1 FROM entities WHERE tenant = $1 AND id = $2 FOR UPDATE"
# A marked row is left as it is (no new row version).
MARK_DELETED = "UPDATE entities SET history_deleted = true WHERE tenant = $1 AND id = $2 AND NOT history_deleted"


def _ts(placeholder: str) -> str:
    return f"to_timestamp({placeholder}::float8 / 1000)"


def _ms(column: str) -> str:
    return f"(extract(epoch FROM {column}) * 1000)::int8"


_UNNEST_INSTANCES = (
    "unnest($2::text[], $3::text[], $4::text[], $5::int8[], $6::int8[], $7::int8[], $8::int8[], $9::int8[], "
    "$10::float8[], $11::text[], $12::text[]) AS u(e, a, d, t, o, c, m, x, n, v, doc)"
)
_INSERT_HISTORY = (
    "INSERT INTO history (tenant, entity_id, attribute, dataset_id, ts, observed_at, created_at, modified_at, "
    "deleted_at, num, value, doc) "
    f"SELECT $1, u.e, u.a, u.d, {_ts('u.t')}, {_ts('u.o')}, {_ts('u.c')}, {_ts('u.m')}, {_ts('u.x')}, u.n, u.v, u.doc::jsonb "
)
# The instances, one array per column ($2 to $12): the hot path of the entity writes.
INSERT_INSTANCES = f"{_INSERT_HISTORY}FROM {_UNNEST_INSTANCES}"
# The same, with two more effects in the one statement: the (entity, attribute) pairs of $13 and $14
# (sorted) are listed in history_attributes, and each entity of $15 (sorted; marked entities updated
# without an entity change) gets a history_entities row, with its current types and scope (its
# entities row, already written in this transaction), if it has none. The entities row is read only
# for a missing history row; ON CONFLICT DO NOTHING for a concurrent writer.
RECORD_INSTANCES = (
    "WITH listed AS (INSERT INTO history_attributes (tenant, entity_id, attribute) "
    "SELECT $1, l.e, l.a FROM unnest($13::text[], $14::text[]) AS l(e, a) ON CONFLICT DO NOTHING), "
    "known AS (INSERT INTO history_entities (tenant, id, types, scope) "
    "SELECT e.tenant, e.id, e.types, e.scope FROM unnest($15::text[]) AS k(id) "
    "JOIN entities AS e ON e.tenant = $1 AND e.id = k.id "
    "WHERE NOT EXISTS (SELECT 1 FROM history_entities AS h WHERE h.tenant = $1 AND h.id = k.id) "
    "ORDER BY e.id ON CONFLICT DO NOTHING) "
    f"{_INSERT_HISTORY}FROM {_UNNEST_INSTANCES}"
)
UPSERT_ENTITY = (
    "INSERT INTO history_entities (tenant, id, types, scope, deleted_at) VALUES ($1, $2, $3, $4, "
    f"{_ts('$5')}) ON CONFLICT (tenant, id) DO UPDATE SET types = excluded.types, scope = excluded.scope, "
    "deleted_at = excluded.deleted_at"
)
_ENTITY_COLUMNS = f"id, types, scope, {_ms('deleted_at')}"
SELECT_ENTITY = f"SELECT {_ENTITY_COLUMNS} FROM history_entities WHERE tenant = $1 AND id = $2"
SELECT_ENTITY_FOR_UPDATE = SELECT_ENTITY + " FOR UPDATE"
SELECT_ATTRIBUTES = "SELECT attribute FROM history_attributes WHERE tenant = $1 AND entity_id = $2 ORDER BY attribute"
SELECT_TENANTS = "SELECT DISTINCT tenant FROM history_entities ORDER BY tenant"
PARTITION_EXISTS = (
    "SELECT EXISTS (SELECT 1 FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace "
    "WHERE c.relname = $1 AND n.nspname = current_schema())"
)

_TIME_COLUMNS = {"observedAt": "ts", "createdAt": "created_at", "modifiedAt": "modified_at", "deletedAt": "deleted_at"}


def _columns(rows: Sequence[tuple[Any, ...]], width: int) -> list[list[Any]]:
    return [[row[i] for row in rows] for i in range(width)]


def _row(record: InstanceRecord) -> tuple[Any, ...]:
    return (
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


async def insert_instances(
    conn: Any,
    tenant: str,
    records: Sequence[InstanceRecord],
    attributes: Collection[tuple[str, str]] = (),
    ensured_ids: Collection[str] = (),
) -> None:
    """Insert the instances; list the (entity, attribute) pairs of `attributes` and make the history
    entities of `ensured_ids` that have none, from their current row, in the same statement."""
    if not records:
        return
    columns = _columns([_row(record) for record in records], 11)
    if not attributes and not ensured_ids:
        await conn.execute(INSERT_INSTANCES, tenant, *columns)
        return
    await conn.execute(RECORD_INSTANCES, tenant, *columns, *_columns(sorted(attributes), 2), sorted(ensured_ids))


async def record_writes(
    conn: Any, tenant: str, writes: Sequence[Write], now_ms: int, relist: Collection[str] = frozenset()
) -> None:
    """Record what the entity writes changed, in one INSERT for all their instances.

    The history's entity row is written where the entity changes as a whole (created, deleted, its
    types or scope changed). The attributes new to an entity are listed. `relist`: the entities whose
    rows are marked history_deleted (the temporal API deleted some of their history); every attribute
    their writes give an instance (a value or a deletion) is listed, and an update of one without an
    entity change makes its history row if it is gone (insert_instances).
    """
    records: list[InstanceRecord] = []
    changes: list[HistoryEntity] = []
    attributes: set[tuple[str, str]] = set()
    ensured: set[str] = set()
    for before, after in writes:
        found = history_records(before, after, now_ms)
        change = entity_change(before, after, now_ms)
        if change is not None:
            changes.append(change)
        if not found:
            continue
        records.extend(found)
        entity_id = found[0].entity_id
        if entity_id in relist:
            attributes.update((entity_id, record.attribute) for record in found)
            if change is None:
                ensured.add(entity_id)
        else:
            attributes.update((entity_id, attribute) for attribute in new_attributes(before, found))
    if len(changes) == 1:
        await write_entity(conn, tenant, changes[0])
    elif changes:  # a batch: one pipelined statement (the writes come sorted by id: locks in one order)
        await conn.executemany(UPSERT_ENTITY, [_entity_row(tenant, change) for change in changes])
    await insert_instances(conn, tenant, records, attributes, ensured)


def _entity_row(tenant: str, entity: HistoryEntity) -> tuple[Any, ...]:
    scope = list(entity.scope) if entity.scope is not None else None
    return (tenant, entity.id, list(entity.types), scope, entity.deleted_at_ms)


async def write_entity(conn: Any, tenant: str, entity: HistoryEntity) -> None:
    await conn.execute(UPSERT_ENTITY, *_entity_row(tenant, entity))


async def add_instances(conn: Any, tenant: str, entity: HistoryEntity, records: Sequence[InstanceRecord]) -> bool:
    """The temporal API's write: merge the entity's types, add the instances; True when the entity is new."""
    found = await conn.fetchrow(SELECT_ENTITY_FOR_UPDATE, tenant, entity.id)
    types = list(entity.types)
    scope = entity.scope
    deleted_at = None
    if found is not None:
        known = list(found[1])
        types = known + [t for t in types if t not in known]
        if scope is None and found[2] is not None:
            scope = tuple(found[2])
        deleted_at = found[3]
    await write_entity(conn, tenant, HistoryEntity(entity.id, tuple(types), scope, deleted_at))
    await insert_instances(conn, tenant, records, {(record.entity_id, record.attribute) for record in records})
    return found is None


def entity_of(row: Any) -> HistoryEntity:
    return HistoryEntity(row[0], tuple(row[1]), tuple(row[2]) if row[2] is not None else None, row[3])


async def select_entities(
    conn: Any,
    tenant: str,
    *,
    ids: Sequence[str] | None,
    types: Sequence[str] | None,
    attrs: Sequence[str] | None,
    after_id: str | None,
    limit: int,
) -> list[HistoryEntity]:
    params: list[Any] = [tenant]

    def param(value: Any, cast: str) -> str:
        params.append(value)
        return f"${len(params)}::{cast}"

    where = ["h.tenant = $1"]
    if ids is not None:
        where.append(f"h.id = ANY({param(list(ids), 'text[]')})")
    if types is not None:
        where.append(f"h.types && {param(list(types), 'text[]')}")
    if attrs is not None:
        where.append(
            "EXISTS (SELECT 1 FROM history_attributes AS a WHERE a.tenant = h.tenant AND a.entity_id = h.id "
            f"AND a.attribute = ANY({param(list(attrs), 'text[]')}))"
        )
    if after_id is not None:
        where.append(f"h.id > {param(after_id, 'text')}")
    rows = await conn.fetch(
        f"SELECT h.id, h.types, h.scope, {_ms('h.deleted_at')} FROM history_entities AS h "
        f"WHERE {' AND '.join(where)} ORDER BY h.id LIMIT {param(limit, 'int8')}",
        *params,
    )
    return [entity_of(row) for row in rows]


def _window(window: HistoryWindow, params: list[Any]) -> tuple[str, list[str]]:
    column = _TIME_COLUMNS[window.timeproperty]
    conditions: list[str] = []
    if window.timeproperty == "deletedAt":
        conditions.append("deleted_at IS NOT NULL")
    elif window.timeproperty == "observedAt" and window.bounded:
        conditions.append("observed_at IS NOT NULL")
    if window.start_ms is not None:
        params.append(window.start_ms)
        conditions.append(f"{column} >= {_ts(f'${len(params)}')}")
    if window.end_ms is not None:
        params.append(window.end_ms)
        conditions.append(f"{column} < {_ts(f'${len(params)}')}")
    if window.dataset_ids is not None:
        params.append(list(window.dataset_ids))
        conditions.append(f"dataset_id = ANY(${len(params)}::text[])")
    return column, conditions


async def select_instances(
    conn: Any,
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
        sign = "<" if descending else ">"
        params.extend([after.time_ms, after.row_id])
        at = _ts(f"${len(params) - 1}")
        # The bound on the time column alone first, so that the index range starts there.
        conditions.append(f"{column} {sign}= {at} AND ({column} {sign} {at} OR id {sign} ${len(params)}::int8)")
    params.append(limit)
    direction = "DESC" if descending else "ASC"
    where = "".join(f" AND {condition}" for condition in conditions)
    rows = await conn.fetch(
        f"SELECT id, attribute, dataset_id, doc, {_ms(column)}, {_ms('created_at')}, {_ms('modified_at')}, "
        f"{_ms('deleted_at')} FROM history WHERE tenant = $1 AND entity_id = $2 AND attribute = $3{where} "
        f"ORDER BY {column} {direction}, id {direction} LIMIT ${len(params)}::int8",
        *params,
    )
    return [HistoryInstance(*row) for row in rows]


async def select_bounds(
    conn: Any, tenant: str, entity_id: str, attribute: str, window: HistoryWindow
) -> tuple[int, int] | None:
    params: list[Any] = [tenant, entity_id, attribute]
    column, conditions = _window(window, params)
    where = "".join(f" AND {condition}" for condition in conditions)
    row = await conn.fetchrow(
        f"SELECT {_ms(f'min({column})')}, {_ms(f'max({column})')} FROM history "
        f"WHERE tenant = $1 AND entity_id = $2 AND attribute = $3 AND deleted_at IS NULL{where}",
        *params,
    )
    return None if row is None or row[0] is None else (row[0], row[1])


async def aggregate(
    conn: Any, tenant: str, entity_id: str, attribute: str, window: HistoryWindow, plan: AggregationPlan
) -> list[AggregatedPeriod]:
    """One GROUP BY: per dataset and period, the aggregates asked for (the deletion rows excluded)."""
    params: list[Any] = [tenant, entity_id, attribute]
    column, conditions = _window(window, params)
    if plan.period.is_zero:
        bucket = "0::int8"
    elif plan.period.months:
        params.extend([month_index(plan.origin_ms), plan.period.months])
        utc = f"({column} AT TIME ZONE 'UTC')"
        bucket = (
            f"(((extract(year FROM {utc}) * 12 + extract(month FROM {utc}) - 1)::int8 - ${len(params) - 1}::int8)"
            f" / ${len(params)}::int8)"
        )
    else:
        params.extend([plan.origin_ms, plan.period.ms])
        origin, width = f"${len(params) - 1}", f"${len(params)}"
        start = f"date_bin(make_interval(secs => {width}::float8 / 1000), {column}, {_ts(origin)})"
        bucket = f"(({_ms(start)} - {origin}::int8) / {width}::int8)"
    where = "".join(f" AND {condition}" for condition in conditions)
    wanted = set(plan.methods)
    aggregates = ", ".join(
        expression if method in wanted else "NULL"
        for method, expression in (
            ("distinctCount", "count(DISTINCT value)"),
            ("sum", "sum(num)"),
            ("avg", "avg(num)"),
            ("min", "min(num)"),
            ("max", "max(num)"),
            ("stddev", "var_pop(num)"),
            ("sumsq", "sum(num * num)"),
        )
    )
    rows = await conn.fetch(
        f"SELECT dataset_id, {bucket} AS bucket, count(*), {aggregates}, "
        f"{_ms(f'min({column})')}, {_ms(f'max({column})')} FROM history "
        f"WHERE tenant = $1 AND entity_id = $2 AND attribute = $3 AND deleted_at IS NULL{where} "
        "GROUP BY 1, 2 ORDER BY 1, 2",
        *params,
    )
    return [AggregatedPeriod(*row) for row in rows]


async def select_instance_doc(
    conn: Any, tenant: str, entity_id: str, attribute: str, row_id: int
) -> tuple[dict[str, Any], int] | None:
    row = await conn.fetchrow(
        f"SELECT doc, {_ms('created_at')} FROM history WHERE id = $1 AND tenant = $2 AND entity_id = $3 "
        "AND attribute = $4 FOR UPDATE",
        row_id,
        tenant,
        entity_id,
        attribute,
    )
    return None if row is None else (row[0], row[1])


async def update_instance(conn: Any, tenant: str, row_id: int, record: InstanceRecord) -> None:
    await conn.execute(
        f"UPDATE history SET dataset_id = $3, ts = {_ts('$4')}, observed_at = {_ts('$5')}, modified_at = {_ts('$6')}, "
        "num = $7, value = $8, doc = $9::text::jsonb WHERE id = $1 AND tenant = $2",
        row_id,
        tenant,
        record.dataset_id,
        record.time_ms,
        record.observed_at_ms,
        record.modified_at_ms,
        record.number,
        record.value,
        orjson.dumps(record.doc).decode(),
    )


async def delete_instance(conn: Any, tenant: str, entity_id: str, attribute: str, row_id: int) -> bool:
    status: str = await conn.execute(
        "DELETE FROM history WHERE id = $1 AND tenant = $2 AND entity_id = $3 AND attribute = $4",
        row_id,
        tenant,
        entity_id,
        attribute,
    )
    return not status.endswith(" 0")


async def delete_attribute(conn: Any, tenant: str, entity_id: str, attribute: str, dataset_id: str | None) -> bool:
    await conn.execute(LOCK_ENTITY, tenant, entity_id)
    if dataset_id is None:
        status: str = await conn.execute(
            "DELETE FROM history WHERE tenant = $1 AND entity_id = $2 AND attribute = $3", tenant, entity_id, attribute
        )
    else:
        status = await conn.execute(
            "DELETE FROM history WHERE tenant = $1 AND entity_id = $2 AND attribute = $3 AND dataset_id = $4",
            tenant,
            entity_id,
            attribute,
            dataset_id,
        )
    remaining = await conn.fetchval(
        "SELECT 1 FROM history WHERE tenant = $1 AND entity_id = $2 AND attribute = $3 LIMIT 1",
        tenant,
        entity_id,
        attribute,
    )
    if remaining is None:
        await conn.execute(MARK_DELETED, tenant, entity_id)
        await conn.execute(
            "DELETE FROM history_attributes WHERE tenant = $1 AND entity_id = $2 AND attribute = $3",
            tenant,
            entity_id,
            attribute,
        )
    return not status.endswith(" 0")


async def delete_entity(conn: Any, tenant: str, entity_id: str) -> bool:
    """Delete the entity's history, and mark its row (MARK_DELETED); a caller rolls back on False."""
    await conn.execute(LOCK_ENTITY, tenant, entity_id)
    await conn.execute(MARK_DELETED, tenant, entity_id)
    await conn.execute("DELETE FROM history WHERE tenant = $1 AND entity_id = $2", tenant, entity_id)
    await conn.execute("DELETE FROM history_attributes WHERE tenant = $1 AND entity_id = $2", tenant, entity_id)
    status: str = await conn.execute("DELETE FROM history_entities WHERE tenant = $1 AND id = $2", tenant, entity_id)
    return not status.endswith(" 0")


async def purge(conn: Any, tenant: str, before_ms: int) -> int:
    """Delete the tenant's instances older than before_ms; partitions entirely newer are pruned."""
    status: str = await conn.execute(f"DELETE FROM history WHERE tenant = $1 AND ts < {_ts('$2')}", tenant, before_ms)
    return int(status.rsplit(" ", 1)[1])


def partition_name(index: int) -> str:
    year, month = divmod(index, 12)
    return f"history_{year:04d}{month + 1:02d}"


LAST_MONTH = 9999 * 12 + 11  # month_index of December 9999


async def ensure_partitions(conn: Any, now_ms: int, months_ahead: int = MONTHS_AHEAD) -> list[str]:
    """Create the monthly partitions of this month and the next ones, and of every month whose rows
    wait in the DEFAULT partition (older data imported); the names created."""
    created: list[str] = []
    first = month_index(now_ms)
    waiting = await conn.fetch(
        "SELECT DISTINCT (extract(year FROM ts AT TIME ZONE 'UTC') * 12 + extract(month FROM ts AT TIME ZONE 'UTC') - 1)::int8 "
        "FROM history_default"
    )
    months = {*range(first, first + months_ahead + 1), *(row[0] for row in waiting)}
    # December 9999 keeps its rows in DEFAULT: its upper bound, 10000-01-01, is no DateTime.
    for index in sorted(month for month in months if month < LAST_MONTH):
        name = partition_name(index)
        if await conn.fetchval(PARTITION_EXISTS, name):
            continue
        try:
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock($1)", PARTITION_LOCK)
                # pg_class read by a query (a fresh snapshot), not to_regclass (the catalog cache, which
                # may not yet show the table another process created while we waited for the lock).
                if await conn.fetchval(PARTITION_EXISTS, name):
                    continue
                low, high = month_start_ms(index), month_start_ms(index + 1)
                await conn.execute(f"CREATE TABLE {name} (LIKE history INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
                moved: str = await conn.execute(
                    f"WITH moved AS (DELETE FROM history_default WHERE ts >= {_ts('$1')} AND ts < {_ts('$2')} "
                    f"RETURNING *) INSERT INTO {name} SELECT * FROM moved",
                    low,
                    high,
                )
                if not moved.endswith(" 0"):  # statistics for the planner now, not at autovacuum's next visit
                    await conn.execute(f"ANALYZE {name}")
                await conn.execute(
                    f"ALTER TABLE history ATTACH PARTITION {name} "
                    f"FOR VALUES FROM ('{format_ms(low)}') TO ('{format_ms(high)}')"
                )
        except pg.DuplicateTableError:
            continue  # another process made it first
        created.append(name)
    return created


__all__ = [
    "MIGRATION",
    "MIGRATION_RELIST",
    "add_instances",
    "aggregate",
    "delete_attribute",
    "delete_entity",
    "delete_instance",
    "ensure_partitions",
    "entity_of",
    "insert_instances",
    "partition_name",
    "purge",
    "record_writes",
    "select_bounds",
    "select_entities",
    "select_instance_doc",
    "select_instances",
    "update_instance",
    "write_entity",
]
