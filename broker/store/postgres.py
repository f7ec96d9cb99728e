# SPDX-License-Identifier: EUPL-1.2
"""The production store: PostgreSQL (JSONB) + PostGIS, shared by any number of broker processes.

Relies on JSONB (each entity is one row holding its expanded form), PostGIS (every GeoProperty
instance is mirrored into `entity_geometries` as a 2D geometry in SRID 4326 with a GiST index,
for geo-queries) and row locks: `modify_entity` reads the entity with SELECT ... FOR UPDATE and
writes it back in the same transaction, so concurrent writers, in this process or another, are
serialised per entity and lose nothing. The discovery counters, the type index and the geometry
mirror change in the same transaction as the entity, by difference (broker.store.indexes).

Tenants are a column, not a schema or a database per tenant: NGSI-LD creates a tenant implicitly
when something is first created in it, and a column makes that a row insert rather than DDL run
on a request path; one schema means one set of migrations and prepared statements, cheap cross-tenant
counts, and every key (primary keys lead with the tenant) keeps tenants apart. Should one tenant
outgrow the rest, LIST partitioning on that column keeps this design.

A transaction that loses a deadlock or a serialisation conflict runs again, so a change function
may be called more than once; that is safe because the broker's change functions
(broker.entities.operations and .batch) are pure functions of the entity copy they are given.

The pool reconnects by itself. A call that finds its connection dead (the database restarted)
expires every pooled connection, since they died together, and is retried once on a fresh one
when that is safe: a read, or a write whose transaction had not begun. A call while the database
is away raises ServiceUnavailable (503).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import time
from collections.abc import Awaitable, Callable, Collection, Iterator
from datetime import datetime
from types import TracebackType
from typing import Any, Self, TypeVar

import asyncpg  # type: ignore[import-untyped]
import orjson
from asyncpg import exceptions as pg

from broker.errors import (
    AlreadyExists,
    BadRequestData,
    InternalError,
    NgsiLdError,
    ResourceNotFound,
    ServiceUnavailable,
)
from broker.store import postgres_delivery, postgres_history
from broker.store import postgres_schema as sql
from broker.store.base import (
    AttributeCount,
    BatchChange,
    BatchOutcome,
    EntityQuery,
    ExpandedEntity,
    Modification,
    TypeAttributeCount,
    as_deleted,
    deletions_stamped,
    lists_copied,
    shares_instances,
)
from broker.store.delivery_state import DeliveryDelta, state_of
from broker.store.postgres_indexes import (
    Write,
    update_flags_of,
    entity_id_of,
    write_counters,
    write_expirations,
    write_geometries,
)
from broker.store.postgres_query import plan_query, run_query
from broker.temporal.model import (
    AggregatedPeriod,
    AggregationPlan,
    HistoryCursor,
    HistoryEntity,
    HistoryInstance,
    HistoryWindow,
    InstanceRecord,
)

T = TypeVar("T")
Connection = Any  # asyncpg.Connection; asyncpg ships no type information
MIGRATIONS = sql.MIGRATIONS

# A transaction that lost a deadlock or a serialisation conflict is run again, at most this often.
_ATTEMPTS = 3
_CLOSE_TIMEOUT_S = 10.0
# Errors that mean "this connection is gone", after which a call may be retried on a fresh one.
_CONNECTION_LOST: tuple[type[BaseException], ...] = (
    pg.PostgresConnectionError,  # includes ConnectionDoesNotExistError
    pg.AdminShutdownError,
    pg.CrashShutdownError,
    ConnectionError,
    # A pooled connection left mid-operation by a server restart ("cannot switch to state ...;
    # another operation is in progress"): unusable, like a lost one.
    pg.InternalClientError,
    pg.InterfaceError,
)
_CONFLICTS: tuple[type[BaseException], ...] = (pg.DeadlockDetectedError, pg.SerializationError)


def _jsonb_encode(value: Any) -> bytes:
    return b"\x01" + orjson.dumps(value)  # binary jsonb: format version 1, then the JSON text


def _jsonb_decode(data: bytes) -> Any:
    return orjson.loads(memoryview(data)[1:])


def _copy(entity: ExpandedEntity) -> ExpandedEntity:
    copied: ExpandedEntity = orjson.loads(orjson.dumps(entity))
    return copied


def _timestamp(value: str) -> datetime:
    return datetime.fromisoformat(value)


class PostgresStore:
    """Store on one PostgreSQL database with PostGIS; `dsn` is a postgresql:// URL."""

    kind = "postgres"

    def __init__(
        self,
        dsn: str,
        *,
        pool_size: int = 10,
        connect_timeout_s: float = 5.0,
        command_timeout_s: float = 30.0,
        acquire_timeout_s: float = 10.0,
        observe: Callable[[str, float], None] | None = None,
    ) -> None:
        if pool_size < 1:
            raise ValueError("pool_size must be at least 1")
        self._dsn = dsn
        self._pool_size = pool_size
        self._connect_timeout_s = connect_timeout_s
        self._command_timeout_s = command_timeout_s
        self._acquire_timeout_s = acquire_timeout_s
        self._observe = observe
        self._pool: Any = None  # asyncpg.Pool once open
        # Tenants are never deleted, so "known to exist" stays true in every process.
        self._known_tenants: set[str] = {""}

    # -- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        with _translate_errors():
            self._pool = await asyncpg.create_pool(
                self._dsn,
                min_size=1,
                max_size=self._pool_size,
                timeout=self._connect_timeout_s,
                command_timeout=self._command_timeout_s,
                init=_init_connection,
                # No JIT: the broker's queries are short, and compiling them costs more than it saves
                # (20-40 ms per geo-query on 1,000,000 entities, bench/RESULTS.md).
                server_settings={"jit": "off"},
                **_POOL_OPTIONS,
            )
        try:
            with _translate_errors():
                async with self._pool.acquire(timeout=self._acquire_timeout_s) as conn:
                    await sql.migrate(conn)
                    await postgres_history.ensure_partitions(conn, int(time.time() * 1000))
        except BaseException:
            await self.aclose()
            raise
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        try:
            await asyncio.wait_for(pool.close(), _CLOSE_TIMEOUT_S)
        except (OSError, pg.PostgresError, pg.InterfaceError):  # OSError includes TimeoutError
            pool.terminate()

    def _open_pool(self) -> Any:
        if self._pool is None:
            raise ServiceUnavailable("the store is closed")
        return self._pool

    async def _read(self, work: Callable[[Connection], Awaitable[T]]) -> T:
        """Run a read; on a dead connection, once more on a fresh one (a read is safe to repeat)."""
        started = time.perf_counter()
        try:
            with _translate_errors():
                pool = self._open_pool()
                for attempt in range(2):
                    try:
                        async with pool.acquire(timeout=self._acquire_timeout_s) as conn:
                            return await work(conn)
                    except _CONNECTION_LOST:
                        if attempt:
                            raise
                        await pool.expire_connections()
            raise AssertionError("unreachable")
        finally:
            self._observed("read", started)

    async def _write(self, work: Callable[[Connection], Awaitable[T]], *, retry_unique: bool = False) -> T:
        """Run `work` in one transaction, and again when that is safe and may succeed.

        Again after a deadlock or serialisation failure (nothing was written), after a lost
        connection only when the transaction had not begun, and after a unique violation when
        `retry_unique` (a batch that raced another writer creating the same entity: run again,
        it sees that entity).
        """
        started = time.perf_counter()
        try:
            with _translate_errors():
                pool = self._open_pool()
                for attempt in range(1, _ATTEMPTS + 1):
                    began = False
                    try:
                        async with pool.acquire(timeout=self._acquire_timeout_s) as conn, conn.transaction():
                            began = True
                            return await work(conn)
                    except _CONFLICTS:
                        if attempt == _ATTEMPTS:
                            raise
                    except pg.UniqueViolationError:
                        if not retry_unique or attempt == _ATTEMPTS:
                            raise
                    except _CONNECTION_LOST:
                        await pool.expire_connections()  # every pooled connection may be as broken
                        if began or attempt > 1:
                            raise
            raise AssertionError("unreachable")
        finally:
            self._observed("write", started)

    def _observed(self, kind: str, started: float) -> None:
        if self._observe is not None:
            self._observe(kind, time.perf_counter() - started)

    async def _fetch(self, statement: str, *args: Any) -> list[Any]:
        async def work(conn: Connection) -> list[Any]:
            rows: list[Any] = await conn.fetch(statement, *args)
            return rows

        return await self._read(work)

    async def _fetchval(self, statement: str, *args: Any) -> Any:
        async def work(conn: Connection) -> Any:
            return await conn.fetchval(statement, *args)

        return await self._read(work)

    # -- entities ----------------------------------------------------------------------------

    async def ping(self) -> None:
        await self._fetchval("SELECT 1")

    async def create_entity(self, tenant: str, expanded_entity: ExpandedEntity) -> None:
        async def work(conn: Connection) -> None:
            await self._write_entities(conn, tenant, [(None, expanded_entity)])

        try:
            await self._write(work)
        except AlreadyExists as exc:
            raise AlreadyExists(f"entity {expanded_entity['id']} already exists") from exc.__cause__
        self._known_tenants.add(tenant)

    async def retrieve_entity(self, tenant: str, entity_id: str) -> ExpandedEntity | None:
        found: ExpandedEntity | None = await self._fetchval(sql.SELECT_DOC, tenant, entity_id)
        return found

    async def modify_entity(
        self, tenant: str, entity_id: str, change: Callable[[ExpandedEntity], T]
    ) -> Modification[T]:
        async def work(conn: Connection) -> Modification[T]:
            found = await conn.fetchrow(sql.SELECT_FOR_WRITE, tenant, entity_id)
            if found is None:
                raise ResourceNotFound(f"entity {entity_id} not found")
            before: ExpandedEntity = found[0]
            after = _copy(before)
            result = change(after)
            await self._write_entities(conn, tenant, [(before, after)], relist=_marked(entity_id, found[1]))
            return Modification(before, after, result)

        return await self._write(work)

    async def delete_entity(self, tenant: str, entity_id: str) -> ExpandedEntity:
        async def work(conn: Connection) -> ExpandedEntity:
            found = await conn.fetchrow(sql.SELECT_FOR_WRITE, tenant, entity_id)
            if found is None:
                raise ResourceNotFound(f"entity {entity_id} not found")
            before: ExpandedEntity = found[0]
            now_ms = int(time.time() * 1000)
            await self._write_entities(conn, tenant, [(before, None)], now_ms, relist=_marked(entity_id, found[1]))
            return as_deleted(before, now_ms)

        return await self._write(work)

    async def batch_modify(self, tenant: str, changes: list[tuple[str, BatchChange]]) -> list[BatchOutcome]:
        async def work(conn: Connection) -> tuple[list[BatchOutcome], bool]:
            ids = list(dict.fromkeys(entity_id for entity_id, _ in changes))
            stored: dict[str, ExpandedEntity] = {}
            relist: set[str] = set()
            for row in await conn.fetch(sql.SELECT_MANY_FOR_WRITE, tenant, ids):
                stored[row[0]] = row[1]
                if row[2]:
                    relist.add(row[0])
            current: dict[str, ExpandedEntity | None] = dict(stored)
            outcomes: list[BatchOutcome] = []
            for entity_id, change in changes:
                before = current.get(entity_id)
                if before is None:
                    working = None
                else:  # a private copy: the dict and lists for a change that shares instances, else a deep copy
                    working = lists_copied(before) if shares_instances(change) else _copy(before)
                try:
                    after, result = change(working)
                except NgsiLdError as error:
                    outcomes.append(BatchOutcome(entity_id, error=error))
                    continue
                current[entity_id] = after
                outcomes.append(BatchOutcome(entity_id, before, after, result))
            writes = [
                (stored.get(entity_id), after)
                for entity_id, after in current.items()
                if stored.get(entity_id) is not after
            ]
            # History step by step: an entity updated twice in one batch keeps both instances.
            steps = [
                (outcome.before, outcome.after)
                for outcome in outcomes
                if outcome.error is None and outcome.before is not outcome.after
            ]
            now_ms = int(time.time() * 1000)
            created = await self._write_entities(conn, tenant, writes, now_ms, history_writes=steps, relist=relist)
            return deletions_stamped(outcomes, now_ms), created

        outcomes, created = await self._write(work, retry_unique=True)
        if created:
            self._known_tenants.add(tenant)
        return outcomes

    async def expired_entities(self, now_ms: int, limit: int) -> list[tuple[str, str]]:
        return [(row[0], row[1]) for row in await self._fetch(sql.SELECT_EXPIRED, now_ms, limit)]

    async def entity_ids_of_types(self, tenant: str, types: list[str]) -> list[str]:
        return [row[0] for row in await self._fetch(sql.SELECT_IDS_OF_TYPES, tenant, types)]

    async def query_entities(
        self, tenant: str, query: EntityQuery, *, limit: int, offset: int, count: bool
    ) -> tuple[list[ExpandedEntity], int | None]:
        plan = plan_query(tenant, query)

        async def work(conn: Connection) -> tuple[list[ExpandedEntity], int | None]:
            return await run_query(conn, plan, limit=limit, offset=offset, count=count)

        return await self._read(work)

    async def _write_entities(
        self,
        conn: Connection,
        tenant: str,
        writes: list[Write],
        now_ms: int | None = None,
        *,
        history_writes: list[Write] | None = None,
        relist: Collection[str] = frozenset(),
    ) -> bool:
        """Insert, update and delete entity rows, with their counters, type index, geometries and history.

        Rows and counter keys are written in sorted order, so concurrent transactions lock them
        in one order and do not deadlock. True when an entity was created (the tenant now exists).
        `relist`: the ids among the writes whose rows are marked history_deleted
        (postgres_history.record_writes). `now_ms`: the instant of the deletions in the history (the
        clock when not given), which the caller gives the deleted entities as deletedAt (as_deleted).
        """
        inserts, updates, deletes = [], [], []
        for before, after in sorted(writes, key=lambda pair: entity_id_of(*pair)):
            if after is not None:
                row = (
                    tenant,
                    after["id"],
                    after["type"],
                    _scope(after),
                    _timestamp(after["modifiedAt"]),
                    after,
                )
                if before is None:
                    inserts.append((*row[:4], _timestamp(after["createdAt"]), *row[4:]))
                else:
                    updates.append(row)
            elif before is not None:
                deletes.append(before["id"])
        if inserts:
            await conn.executemany(sql.INSERT_ENTITY, inserts)
        if len(updates) == 1:
            await conn.execute(sql.UPDATE_ENTITY, *updates[0])
        elif updates:
            await conn.executemany(sql.UPDATE_ENTITY, updates)
        if deletes:
            await conn.execute(sql.DELETE_ENTITIES, tenant, deletes)
        if inserts and tenant not in self._known_tenants:
            await conn.execute(sql.INSERT_TENANT, tenant)
        if len(inserts) != len(deletes):
            await conn.execute(sql.COUNT_ENTITIES, tenant, len(inserts) - len(deletes))
        update_flags = update_flags_of(writes)
        await write_counters(conn, tenant, writes, update_flags)
        await write_geometries(conn, tenant, writes, update_flags)
        await write_expirations(conn, tenant, writes, update_flags)
        await postgres_history.record_writes(
            conn,
            tenant,
            writes if history_writes is None else history_writes,
            int(time.time() * 1000) if now_ms is None else now_ms,
            relist,
        )
        return bool(inserts)

    # -- tenants -----------------------------------------------------------------------------

    async def tenant_exists(self, tenant: str) -> bool:
        if tenant in self._known_tenants:
            return True
        if await self._fetchval(sql.SELECT_TENANT, tenant) is not None:
            self._known_tenants.add(tenant)
            return True
        return False

    async def ensure_tenant(self, tenant: str) -> None:
        if tenant in self._known_tenants:
            return

        async def work(conn: Connection) -> None:
            await conn.execute(sql.INSERT_TENANT, tenant)

        await self._write(work)
        self._known_tenants.add(tenant)

    async def entity_counts(self) -> dict[str, int]:
        return {row[0]: row[1] for row in await self._fetch(sql.SELECT_ENTITY_COUNTS)}

    # -- discovery ---------------------------------------------------------------------------

    async def type_counts(self, tenant: str) -> dict[str, int]:
        return {row[0]: row[1] for row in await self._fetch(sql.SELECT_TYPE_COUNTS, tenant)}

    async def type_attribute_counts(self, tenant: str, entity_type: str | None = None) -> list[TypeAttributeCount]:
        if entity_type is None:
            rows = await self._fetch(sql.SELECT_TYPE_ATTRIBUTES, tenant)
        else:
            rows = await self._fetch(sql.SELECT_TYPE_ATTRIBUTES_OF, tenant, entity_type)
        return [TypeAttributeCount(*row) for row in rows]

    async def attribute_counts(self, tenant: str, attribute: str | None = None) -> list[AttributeCount]:
        if attribute is None:
            rows = await self._fetch(sql.SELECT_ATTRIBUTE_COUNTS, tenant)
        else:
            rows = await self._fetch(sql.SELECT_ATTRIBUTE_COUNTS_OF, tenant, attribute)
        return [AttributeCount(*row) for row in rows]

    # -- history (temporal API, broker.store.postgres_history) -------------------------------

    async def add_history(self, tenant: str, entity: HistoryEntity, records: list[InstanceRecord]) -> bool:
        async def work(conn: Connection) -> bool:
            if tenant not in self._known_tenants:
                await conn.execute(sql.INSERT_TENANT, tenant)
            return await postgres_history.add_instances(conn, tenant, entity, records)

        created = await self._write(work)
        self._known_tenants.add(tenant)
        return created

    async def retrieve_history_entity(self, tenant: str, entity_id: str) -> HistoryEntity | None:
        async def work(conn: Connection) -> HistoryEntity | None:
            row = await conn.fetchrow(postgres_history.SELECT_ENTITY, tenant, entity_id)
            return postgres_history.entity_of(row) if row is not None else None

        return await self._read(work)

    async def history_entities(
        self,
        tenant: str,
        *,
        ids: list[str] | None = None,
        types: list[str] | None = None,
        attrs: list[str] | None = None,
        after_id: str | None = None,
        limit: int,
    ) -> list[HistoryEntity]:
        async def work(conn: Connection) -> list[HistoryEntity]:
            return await postgres_history.select_entities(
                conn, tenant, ids=ids, types=types, attrs=attrs, after_id=after_id, limit=limit
            )

        return await self._read(work)

    async def history_attributes(self, tenant: str, entity_id: str) -> list[str]:
        return [row[0] for row in await self._fetch(postgres_history.SELECT_ATTRIBUTES, tenant, entity_id)]

    async def read_history(
        self,
        tenant: str,
        entity_id: str,
        attribute: str,
        window: HistoryWindow,
        *,
        limit: int,
        descending: bool = False,
        after: HistoryCursor | None = None,
    ) -> list[HistoryInstance]:
        async def work(conn: Connection) -> list[HistoryInstance]:
            return await postgres_history.select_instances(
                conn, tenant, entity_id, attribute, window, limit=limit, descending=descending, after=after
            )

        return await self._read(work)

    async def history_bounds(
        self, tenant: str, entity_id: str, attribute: str, window: HistoryWindow
    ) -> tuple[int, int] | None:
        async def work(conn: Connection) -> tuple[int, int] | None:
            return await postgres_history.select_bounds(conn, tenant, entity_id, attribute, window)

        return await self._read(work)

    async def aggregate_history(
        self, tenant: str, entity_id: str, attribute: str, window: HistoryWindow, plan: AggregationPlan
    ) -> list[AggregatedPeriod]:
        async def work(conn: Connection) -> list[AggregatedPeriod]:
            return await postgres_history.aggregate(conn, tenant, entity_id, attribute, window, plan)

        return await self._read(work)

    async def modify_history_instance(
        self,
        tenant: str,
        entity_id: str,
        attribute: str,
        row_id: int,
        change: Callable[[dict[str, Any], int], InstanceRecord],
    ) -> None:
        async def work(conn: Connection) -> None:
            found = await postgres_history.select_instance_doc(conn, tenant, entity_id, attribute, row_id)
            if found is None:
                raise ResourceNotFound(f"attribute instance {row_id} of {attribute} of {entity_id} not found")
            await postgres_history.update_instance(conn, tenant, row_id, change(*found))

        await self._write(work)

    async def delete_history_instance(self, tenant: str, entity_id: str, attribute: str, row_id: int) -> None:
        async def work(conn: Connection) -> None:
            if not await postgres_history.delete_instance(conn, tenant, entity_id, attribute, row_id):
                raise ResourceNotFound(f"attribute instance {row_id} of {attribute} of {entity_id} not found")

        await self._write(work)

    async def delete_history_attribute(
        self, tenant: str, entity_id: str, attribute: str, dataset_id: str | None
    ) -> None:
        async def work(conn: Connection) -> None:
            if not await postgres_history.delete_attribute(conn, tenant, entity_id, attribute, dataset_id):
                where = f" in dataset {dataset_id}" if dataset_id else ""
                raise ResourceNotFound(f"attribute {attribute} of {entity_id} has no history{where}")

        await self._write(work)

    async def delete_history_entity(self, tenant: str, entity_id: str) -> None:
        async def work(conn: Connection) -> None:
            if not await postgres_history.delete_entity(conn, tenant, entity_id):
                raise ResourceNotFound(f"entity {entity_id} has no history")

        await self._write(work)

    async def purge_history(self, tenant: str, before_ms: int) -> int:
        async def work(conn: Connection) -> int:
            return await postgres_history.purge(conn, tenant, before_ms)

        return await self._write(work)

    async def history_tenants(self) -> list[str]:
        return [row[0] for row in await self._fetch(postgres_history.SELECT_TENANTS)]

    async def maintain_history(self, now_ms: int) -> None:
        """The partition creation step: this month's and the next months' partitions."""

        async def work(conn: Connection) -> None:
            await postgres_history.ensure_partitions(conn, now_ms)

        await self._read(work)  # ensure_partitions runs its own transactions

    # -- documents ---------------------------------------------------------------------------

    async def create_document(self, kind: str, tenant: str, doc_id: str, doc: dict[str, Any]) -> None:
        async def work(conn: Connection) -> None:
            await conn.execute(sql.INSERT_DOCUMENT, kind, tenant, doc_id, doc)
            if tenant not in self._known_tenants:
                await conn.execute(sql.INSERT_TENANT, tenant)

        try:
            await self._write(work)
        except AlreadyExists as exc:
            raise AlreadyExists(f"{kind} {doc_id} already exists") from exc.__cause__
        self._known_tenants.add(tenant)

    async def retrieve_document(self, kind: str, tenant: str, doc_id: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = await self._fetchval(sql.SELECT_DOCUMENT, kind, tenant, doc_id)
        return found

    async def list_documents(self, kind: str, tenant: str) -> list[dict[str, Any]]:
        return [row[0] for row in await self._fetch(sql.SELECT_DOCUMENTS, kind, tenant)]

    async def replace_document(self, kind: str, tenant: str, doc_id: str, doc: dict[str, Any]) -> None:
        await self._change_document(sql.REPLACE_DOCUMENT, kind, tenant, doc_id, doc)

    async def delete_document(self, kind: str, tenant: str, doc_id: str) -> None:
        await self._change_document(sql.DELETE_DOCUMENT, kind, tenant, doc_id)

    async def _change_document(self, statement: str, kind: str, tenant: str, doc_id: str, *args: Any) -> None:
        async def work(conn: Connection) -> None:
            status: str = await conn.execute(statement, kind, tenant, doc_id, *args)
            if status.endswith(" 0"):
                raise ResourceNotFound(f"{kind} {doc_id} not found")

        await self._write(work)

    # -- delivery state (broker.store.postgres_delivery) -----------------------------------------

    async def add_delivery_state(self, tenant: str, subscription_id: str, delta: DeliveryDelta) -> None:
        async def work(conn: Connection) -> None:
            await conn.execute(postgres_delivery.ADD_DELIVERY_STATE, tenant, subscription_id, *delta.params())

        await self._write(work)

    async def delivery_state(self, tenant: str, subscription_id: str) -> dict[str, Any]:
        rows = await self._fetch(postgres_delivery.SELECT_DELIVERY_STATE, tenant, subscription_id)
        return state_of(tuple(rows[0])) if rows else {}

    async def delivery_states(self, tenant: str) -> dict[str, dict[str, Any]]:
        rows = await self._fetch(postgres_delivery.SELECT_DELIVERY_STATES, tenant)
        return {row[0]: state_of(tuple(row)[1:]) for row in rows}

    async def delete_delivery_state(self, tenant: str, subscription_id: str) -> None:
        async def work(conn: Connection) -> None:
            await conn.execute(postgres_delivery.DELETE_DELIVERY_STATE, tenant, subscription_id)

        await self._write(work)

    async def claim_periodic(
        self, tenant: str, subscription_id: str, version: str, now_s: float, next_due_s: float
    ) -> tuple[bool, float | None]:
        async def work(conn: Connection) -> tuple[bool, float | None]:
            won = await conn.fetchval(
                postgres_delivery.CLAIM_PERIODIC, tenant, subscription_id, version, next_due_s, now_s
            )
            if won:
                return True, next_due_s
            stored: float | None = await conn.fetchval(postgres_delivery.SELECT_NEXT_DUE, tenant, subscription_id)
            return False, stored

        return await self._write(work)


async def _keep_session(conn: Connection) -> None:
    """Nothing to reset when a connection goes back to the pool: the store sets no session state.

    asyncpg still rolls back a transaction left open; what this saves is its RESET ALL round trip,
    about 40 % of a retrieve_entity call on a local server.
    """


# The `reset` option of create_pool came with asyncpg 0.30; older versions keep their default.
_POOL_OPTIONS: dict[str, Any] = (
    {"reset": _keep_session} if "reset" in inspect.signature(asyncpg.create_pool).parameters else {}
)


async def _init_connection(conn: Connection) -> None:
    await conn.set_type_codec(
        "jsonb", schema="pg_catalog", encoder=_jsonb_encode, decoder=_jsonb_decode, format="binary"
    )


def _marked(entity_id: str, history_deleted: bool) -> frozenset[str]:
    """The `relist` of one entity's write: the entity, if its row is marked history_deleted."""
    return frozenset((entity_id,)) if history_deleted else frozenset()


def _scope(entity: ExpandedEntity) -> list[str] | None:
    scope = entity.get("scope")
    if scope is None:
        return None
    return [scope] if isinstance(scope, str) else list(scope)


@contextlib.contextmanager
def _translate_errors() -> Iterator[None]:
    """Turn asyncpg and socket errors into ours; our own errors pass through untouched.

    A lost or refused connection, a server shutting down or starting up, too many connections
    and a read-only server (a replica during fail-over) are ServiceUnavailable (503): the call
    may succeed later. A unique violation is AlreadyExists; the caller names what exists.
    """
    try:
        yield
    except NgsiLdError:
        raise
    except pg.UniqueViolationError as exc:
        raise AlreadyExists("already exists") from exc
    except (pg.UntranslatableCharacterError, pg.CharacterNotInRepertoireError) as exc:
        raise BadRequestData("a value holds a character PostgreSQL cannot store (such as \\u0000)") from exc
    except (
        pg.PostgresConnectionError,
        pg.OperatorInterventionError,  # admin shutdown, cannot connect now, statement cancelled
        pg.InsufficientResourcesError,  # too many connections, disk full
        pg.TransactionRollbackError,  # deadlock or serialisation failure, after our retries
        pg.ReadOnlySQLTransactionError,
        OSError,  # includes ConnectionRefusedError and TimeoutError (connect, acquire, command)
    ) as exc:
        raise ServiceUnavailable(f"the PostgreSQL store is not available ({type(exc).__name__})") from exc
    except pg.InvalidCatalogNameError as exc:
        raise InternalError("the PostgreSQL database named in the store URL does not exist") from exc
    except pg.InvalidAuthorizationSpecificationError as exc:  # includes a wrong password
        raise InternalError("PostgreSQL refused the store's credentials") from exc
    except (pg.InterfaceError, pg.InternalClientError) as exc:
        # a connection the server dropped or left mid-operation (a restart): the call may succeed later
        raise ServiceUnavailable(f"the PostgreSQL store is not available ({type(exc).__name__})") from exc
    except pg.PostgresError as exc:
        raise InternalError(f"the PostgreSQL store failed ({type(exc).__name__})") from exc


__all__ = ["MIGRATIONS", "PostgresStore"]
