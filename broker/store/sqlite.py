# SPDX-License-Identifier: EUPL-1.2
"""The embedded SQLite store: `citycontext serve` needs no server.

Relies on SQLite's WAL journal (readers never wait for the writer) and JSON1. One writer
connection lives on its own thread, so every write transaction is one hop to that thread and
writes are serialised; reads use a small pool of reader threads with a connection each. With
PRAGMA synchronous=FULL (the default setting) a write is durable before its request is answered.
Every entity write goes through `_write_entity` (or, for a batch, one `EntityWrites`), which keeps the discovery counters and the
type index in the same transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar, cast

import orjson

from broker.errors import AlreadyExists, InternalError, NgsiLdError, ResourceNotFound, ServiceUnavailable
from broker.store import sqlite_delivery, sqlite_geo, sqlite_history
from broker.store import sqlite_schema as sql
from broker.store.sqlite_writes import EntityWrites
from broker.query import compile_q, compile_scope, compile_types, plain_type_names, register_functions
from broker.query.sql_sqlite import json_path
from broker.store.base import (
    AttributeCount,
    EntityQuery,
    OrderKey,
    BatchChange,
    BatchOutcome,
    ExpandedEntity,
    Modification,
    TypeAttributeCount,
    as_deleted,
    deletions_stamped,
    lists_copied,
    shares_instances,
)
from broker.store.delivery_state import DeliveryDelta, state_of
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
MIGRATIONS = sql.MIGRATIONS
_READER_THREADS = 2
_GEO_INDEX_VERSION = 7  # the migration that last (re)made the spatial index, which the store then fills
_IN_CHUNK = 500

# sqlite3 binds int, float and str as they are, but hands any other parameter, None included, to its
# adaptation protocol, which looks for __adapt__ and __conform__ and raises and clears an AttributeError
# for each: about 0.4 µs per NULL, and a created entity binds a dozen NULLs (observedAt, deletedAt, num of
# its history rows...). An adapter registered for None is found in the adapters dict first; dict.get
# (with no such key) hands None back unchanged, in C. Process-wide, and harmless: None stays None.
sqlite3.register_adapter(type(None), cast(Callable[[None], None], {}.get))


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class SqliteStore:
    """Store on one SQLite file (or a private in-memory database for `:memory:`)."""

    kind = "sqlite"

    def __init__(
        self,
        path: str,
        *,
        synchronous: str = "FULL",
        cache_mib: int = 32,
        observe: Callable[[str, float], None] | None = None,
    ) -> None:
        self._observe = observe
        self._memory = path == ":memory:"
        self._path = f"file:citycontext-{uuid.uuid4().hex}?mode=memory&cache=shared" if self._memory else path
        self._synchronous = synchronous
        self._cache_kib = cache_mib * 1024
        self._writer: ThreadPoolExecutor | None = None
        self._readers: ThreadPoolExecutor | None = None
        self._wconn: sqlite3.Connection | None = None
        self._local = threading.local()
        self._reader_conns: list[sqlite3.Connection] = []
        self._point_reader: sqlite3.Connection | None = None  # the event loop thread's (see _point_read_here)
        self._lock = threading.Lock()
        # Group commit (see _on_writer): writes waiting for the writer thread, and whether a drain is queued.
        self._pending_writes: list[tuple[Callable[[], Any], asyncio.Future[Any]]] = []
        self._drain_queued = False
        self._in_group = False  # the writer thread is inside a group's transaction: _transaction uses savepoints
        self._known_tenants: set[str] = {""}

    # -- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> "SqliteStore":
        if not self._memory:
            Path(self._path).parent.mkdir(parents=True, exist_ok=True)
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")
        # An in-memory database has one connection only: reads go to the writer thread too.
        self._readers = (
            self._writer
            if self._memory
            else ThreadPoolExecutor(max_workers=_READER_THREADS, thread_name_prefix="sqlite-reader")
        )
        await self._run(self._writer, self._open_writer, "write")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._writer is None:
            return
        if self._readers is not self._writer and self._readers is not None:
            self._readers.shutdown(wait=True)
        await self._run(self._writer, self._close_all, "write")
        self._writer.shutdown(wait=True)
        self._writer = self._readers = None

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self._path, uri=self._memory, isolation_level=None, check_same_thread=False, timeout=30
        )
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute(f"PRAGMA synchronous = {self._synchronous}")
        # A bounded page cache per connection: SQLite's default (2 MiB) makes a geo-query's scattered
        # page reads system calls; 32 MiB halved the candidate query at 100,000 entities.
        conn.execute(f"PRAGMA cache_size = -{self._cache_kib}")
        register_functions(conn)
        return conn

    def _open_writer(self) -> None:
        with _translate_errors():
            conn = self._connect()
            if not self._memory:
                conn.execute("PRAGMA journal_mode = WAL")
            self._wconn = conn
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                conn.execute("BEGIN IMMEDIATE")
                try:
                    for statement in script.split(";"):
                        if statement.strip():
                            conn.execute(statement)
                    if number == _GEO_INDEX_VERSION:
                        self._index_all_geometries(conn)  # in the migration's transaction: all or nothing
                    conn.execute(f"PRAGMA user_version = {number}")
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise

    def _index_all_geometries(self, conn: sqlite3.Connection) -> None:
        """Fill the spatial index from the stored entities (when it is made anew on old data)."""
        for tenant, doc in conn.execute("SELECT tenant, doc FROM entities").fetchall():
            self._index_geometries(conn, tenant, orjson.loads(doc))

    def _close_all(self) -> None:
        with self._lock:
            for conn in self._reader_conns:
                conn.close()
            self._reader_conns.clear()
            self._point_reader = None
        if self._wconn is not None:
            self._wconn.close()
            self._wconn = None

    def _reader_connection(self) -> sqlite3.Connection:
        if self._memory:
            assert self._wconn is not None
            return self._wconn
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
            with self._lock:
                self._reader_conns.append(conn)
        return conn

    async def _on_writer(self, fn: Callable[[], T]) -> T:
        """Run a write on the writer thread, committed before this returns.

        Group commit: the writes that queue up while the writer is busy run together, each in a savepoint of
        one transaction, and share its COMMIT, so that the synchronous=FULL fsync is paid once per group, not
        once per write. A write that fails rolls back to its savepoint and fails alone; if the COMMIT fails,
        every write of the group fails."""
        if self._writer is None:
            raise ServiceUnavailable("the store is closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        started = time.perf_counter()
        with self._lock:
            self._pending_writes.append((fn, future))
            queue_drain = not self._drain_queued
            self._drain_queued = True
        if queue_drain:
            self._writer.submit(self._drain_writes, loop)
        try:
            return await future
        finally:
            if self._observe is not None:
                self._observe("write", time.perf_counter() - started)

    def _drain_writes(self, loop: asyncio.AbstractEventLoop) -> None:
        while True:
            with self._lock:
                jobs = self._pending_writes[:_GROUP_COMMIT_MAX]
                del self._pending_writes[:_GROUP_COMMIT_MAX]
                if not jobs:
                    self._drain_queued = False
                    return
            outcomes = self._run_group(jobs)
            for (_, future), outcome in zip(jobs, outcomes):
                loop.call_soon_threadsafe(_settle, future, outcome)

    def _run_group(self, jobs: list[tuple[Callable[[], Any], asyncio.Future[Any]]]) -> list[tuple[bool, Any]]:
        conn = self._wconn
        if conn is None:
            return [(False, ServiceUnavailable("the store is closed"))] * len(jobs)
        try:
            with _translate_errors():
                conn.execute("BEGIN IMMEDIATE")
        except NgsiLdError as exc:
            return [(False, exc)] * len(jobs)
        outcomes: list[tuple[bool, Any]] = []
        self._in_group = True
        try:
            for fn, _ in jobs:
                try:
                    outcomes.append((True, fn()))
                except BaseException as exc:  # noqa: BLE001 - handed to the caller's future
                    outcomes.append((False, exc))
                if not conn.in_transaction:  # SQLite rolled the whole transaction back (e.g. disk full)
                    lost = ServiceUnavailable("the write was rolled back by the database; try again")
                    outcomes = [outcome if not outcome[0] else (False, lost) for outcome in outcomes]
                    with _translate_errors():
                        conn.execute("BEGIN IMMEDIATE")
        finally:
            self._in_group = False
        try:
            with _translate_errors():
                conn.execute("COMMIT")
        except NgsiLdError as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            return [outcome if not outcome[0] else (False, exc) for outcome in outcomes]
        return outcomes

    async def _on_reader(self, fn: Callable[[], T]) -> T:
        return await self._run(self._readers, fn, "read")

    async def _run(self, executor: ThreadPoolExecutor | None, fn: Callable[[], T], kind: str) -> T:
        if executor is None:
            raise ServiceUnavailable("the store is closed")
        started = time.perf_counter()
        try:
            return await asyncio.get_running_loop().run_in_executor(executor, fn)
        finally:
            if self._observe is not None:
                self._observe(kind, time.perf_counter() - started)

    def _point_read_here(self, statement: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]] | None:
        """A read by primary key on the calling thread (the event loop's). In WAL mode a reader never waits
        for the writer and such a read takes microseconds, less than the hop to a reader thread and back.
        None when it cannot run here (an in-memory database, whose one connection the writer thread owns;
        or the rare busy moment of WAL recovery): the caller then reads on a reader thread."""
        if self._memory or self._writer is None:
            return None
        conn = self._point_reader
        if conn is None:
            conn = self._point_reader = self._connect()
            conn.execute(f"PRAGMA busy_timeout = {_POINT_READ_BUSY_MS}")
            with self._lock:
                self._reader_conns.append(conn)
        started = time.perf_counter()
        try:
            rows = conn.execute(statement, params).fetchall()
        except (sqlite3.OperationalError, sqlite3.ProgrammingError):  # busy, or closed by aclose meanwhile
            return None
        if self._observe is not None:
            self._observe("read", time.perf_counter() - started)
        return rows

    async def _read(self, statement: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        def run() -> list[tuple[Any, ...]]:
            with _translate_errors():
                return self._reader_connection().execute(statement, params).fetchall()

        return await self._on_reader(run)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self._wconn
        if conn is None:
            raise ServiceUnavailable("the store is closed")
        with _translate_errors():
            if self._in_group:  # one write of a group commit (see _on_writer)
                conn.execute("SAVEPOINT one_write")
                try:
                    yield conn
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK TO one_write")
                        conn.execute("RELEASE one_write")
                    raise
                conn.execute("RELEASE one_write")
                return
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _write_entity(
        self,
        conn: sqlite3.Connection,
        tenant: str,
        before: ExpandedEntity | None,
        after: ExpandedEntity | None,
        *,
        relist: bool = False,
        now_ms: int | None = None,
    ) -> None:
        """Insert, update or delete one entity row, with its counters, type index and history rows
        (`relist`: the entity's row is marked history_deleted, see sqlite_history.record_write;
        `now_ms`: the instant of a deletion)."""
        sqlite_history.record_write(conn, tenant, before, after, relist=relist, now_ms=now_ms)
        writes = EntityWrites(tenant)
        writes.add(before, after)
        self._flush(conn, writes)

    def _flush(self, conn: sqlite3.Connection, writes: EntityWrites) -> None:
        if writes.inserts and writes.tenant not in self._known_tenants:
            conn.execute(sql.INSERT_TENANT, (writes.tenant, _now()))
        writes.flush(conn)

    def _index_geometries(self, conn: sqlite3.Connection, tenant: str, entity: ExpandedEntity) -> None:
        writes = EntityWrites(tenant)
        writes.index_geometries(entity["id"], None, entity)
        writes.flush(conn)

    def _after_commit(self, tenant: str) -> None:
        self._known_tenants.add(tenant)

    # -- entities ----------------------------------------------------------------------------

    async def ping(self) -> None:
        await self._read("SELECT 1", ())

    async def create_entity(self, tenant: str, expanded_entity: ExpandedEntity) -> None:
        def run() -> None:
            with self._transaction() as conn:
                if conn.execute(sql.SELECT_DOC, (tenant, expanded_entity["id"])).fetchone() is not None:
                    raise AlreadyExists(f"entity {expanded_entity['id']} already exists")
                self._write_entity(conn, tenant, None, expanded_entity)
            self._after_commit(tenant)

        await self._on_writer(run)

    async def retrieve_entity(self, tenant: str, entity_id: str) -> ExpandedEntity | None:
        rows = self._point_read_here(sql.SELECT_DOC, (tenant, entity_id))
        if rows is None:
            rows = await self._read(sql.SELECT_DOC, (tenant, entity_id))
        return orjson.loads(rows[0][0]) if rows else None

    async def modify_entity(
        self, tenant: str, entity_id: str, change: Callable[[ExpandedEntity], T]
    ) -> Modification[T]:
        def run() -> Modification[T]:
            with self._transaction() as conn:
                found = conn.execute(sql.SELECT_FOR_WRITE, (tenant, entity_id)).fetchone()
                if found is None:
                    raise ResourceNotFound(f"entity {entity_id} not found")
                before = orjson.loads(found[0])
                after = orjson.loads(found[0])
                result = change(after)
                self._write_entity(conn, tenant, before, after, relist=bool(found[1]))
            return Modification(before, after, result)

        return await self._on_writer(run)

    async def delete_entity(self, tenant: str, entity_id: str) -> ExpandedEntity:
        def run() -> ExpandedEntity:
            with self._transaction() as conn:
                found = conn.execute(sql.SELECT_FOR_WRITE, (tenant, entity_id)).fetchone()
                if found is None:
                    raise ResourceNotFound(f"entity {entity_id} not found")
                before: ExpandedEntity = orjson.loads(found[0])
                now_ms = int(time.time() * 1000)
                self._write_entity(conn, tenant, before, None, relist=bool(found[1]), now_ms=now_ms)
            return as_deleted(before, now_ms)

        return await self._on_writer(run)

    async def batch_modify(self, tenant: str, changes: list[tuple[str, BatchChange]]) -> list[BatchOutcome]:
        def run() -> list[BatchOutcome]:
            with self._transaction() as conn:
                docs: dict[str, str] = {}
                relist: set[str] = set()
                stored = _load_many(conn, tenant, list(dict.fromkeys(entity_id for entity_id, _ in changes)), docs, relist)
                current: dict[str, ExpandedEntity | None] = dict(stored)
                outcomes: list[BatchOutcome] = []
                for entity_id, change in changes:
                    before = current.get(entity_id)
                    if before is None:
                        working = None
                    elif before is stored.get(entity_id) and entity_id in docs:
                        text = docs.pop(entity_id)
                        # A private copy: the dict and its lists for a change that shares instances, else the
                        # stored row parsed again.
                        working = lists_copied(before) if shares_instances(change) else orjson.loads(text)
                    else:
                        working = orjson.loads(_dumps(before))
                    try:
                        after, result = change(working)
                    except NgsiLdError as error:
                        outcomes.append(BatchOutcome(entity_id, error=error))
                        continue
                    current[entity_id] = after
                    outcomes.append(BatchOutcome(entity_id, before, after, result))
                # History step by step: an entity updated twice in one batch (an IoT agent's batch of
                # uplinks) keeps both instances; the entity row is then written once, final.
                history = sqlite_history.PendingHistory()
                now_ms = int(time.time() * 1000)
                for outcome in outcomes:
                    if outcome.error is None and outcome.before is not outcome.after:
                        sqlite_history.record_write(
                            conn, tenant, outcome.before, outcome.after, history,
                            relist=outcome.entity_id in relist, now_ms=now_ms,
                        )
                writes = EntityWrites(tenant)
                for entity_id, after in current.items():
                    before = stored.get(entity_id)
                    if before is not after:
                        writes.add(before, after)
                self._flush(conn, writes)
                history.flush(conn)
            self._after_commit(tenant)
            return deletions_stamped(outcomes, now_ms)

        return await self._on_writer(run)

    async def expired_entities(self, now_ms: int, limit: int) -> list[tuple[str, str]]:
        return [(tenant, entity_id) for tenant, entity_id in await self._read(sql.SELECT_EXPIRED, (now_ms, limit))]

    async def entity_ids_of_types(self, tenant: str, types: list[str]) -> list[str]:
        ids: dict[str, None] = {}
        for entity_type in types:
            for (entity_id,) in await self._read(sql.SELECT_IDS_OF_TYPE, (tenant, entity_type)):
                ids[entity_id] = None
        return list(ids)

    async def query_entities(
        self, tenant: str, query: EntityQuery, *, limit: int, offset: int, count: bool
    ) -> tuple[list[ExpandedEntity], int | None]:
        source, source_params, member_type = _entity_source(tenant, query)
        where, where_params = _compile_query(tenant, query, types_selected=member_type is not None)
        params = [*source_params, *where_params]
        condition = " AND ".join(where)
        order, order_params = _order_by(query.order_by)
        if member_type is not None:
            order = _MEMBER_ORDER  # the same order (id), read from the members index: no sort

        def run() -> tuple[list[ExpandedEntity], int | None]:
            with _translate_errors():
                conn = self._reader_connection()
                with _snapshot(conn):
                    return answer(conn)

        def answer(conn: sqlite3.Connection) -> tuple[list[ExpandedEntity], int | None]:
            if query.geo is None:
                rows = conn.execute(
                    f"SELECT doc FROM {source} WHERE {condition} ORDER BY {order} LIMIT ? OFFSET ?",
                    (*params, *order_params, limit, offset),
                ).fetchall()
                total = (
                    conn.execute(f"SELECT COUNT(*) FROM {source} WHERE {condition}", params).fetchone()[0]
                    if count
                    else None
                )
                return [orjson.loads(row[0]) for row in rows], total
            if not query.order_by:
                return _geo_page_in_id_order(conn, tenant, query, limit=limit, offset=offset, count=count)
            # The spatial index gives the candidates; the exact predicate decides here.
            ids, _ = sqlite_geo.candidates(conn, tenant, query.geo, None)
            cursor = conn.execute(
                f"SELECT doc FROM entities WHERE {condition} AND id IN (SELECT value FROM json_each(?)) ORDER BY {order}",
                (*params, orjson.dumps(ids).decode(), *order_params),
            )
            return sqlite_geo.geo_page(((doc, False) for (doc,) in cursor), query.geo, limit=limit, offset=offset, count=count)

        return await self._on_reader(run)

    # -- tenants -----------------------------------------------------------------------------

    async def tenant_exists(self, tenant: str) -> bool:
        if tenant in self._known_tenants:
            return True
        if await self._read(sql.SELECT_TENANT, (tenant,)):
            self._known_tenants.add(tenant)
            return True
        return False

    async def ensure_tenant(self, tenant: str) -> None:
        if tenant in self._known_tenants:
            return

        def run() -> None:
            with self._transaction() as conn:
                conn.execute(sql.INSERT_TENANT, (tenant, _now()))
            self._after_commit(tenant)

        await self._on_writer(run)

    async def entity_counts(self) -> dict[str, int]:
        return {row[0]: row[1] for row in await self._read(sql.SELECT_ENTITY_COUNTS, ())}

    # -- discovery ---------------------------------------------------------------------------

    async def type_counts(self, tenant: str) -> dict[str, int]:
        return {row[0]: row[1] for row in await self._read(sql.SELECT_TYPE_COUNTS, (tenant,))}

    async def type_attribute_counts(self, tenant: str, entity_type: str | None = None) -> list[TypeAttributeCount]:
        if entity_type is None:
            rows = await self._read(sql.SELECT_TYPE_ATTRIBUTES, (tenant,))
        else:
            rows = await self._read(sql.SELECT_TYPE_ATTRIBUTES_OF, (tenant, entity_type))
        return [TypeAttributeCount(*row) for row in rows]

    async def attribute_counts(self, tenant: str, attribute: str | None = None) -> list[AttributeCount]:
        if attribute is None:
            rows = await self._read(sql.SELECT_ATTRIBUTE_COUNTS, (tenant,))
        else:
            rows = await self._read(sql.SELECT_ATTRIBUTE_COUNTS_OF, (tenant, attribute))
        return [AttributeCount(*row) for row in rows]

    # -- history (temporal API, broker.store.sqlite_history) ---------------------------------

    async def add_history(self, tenant: str, entity: HistoryEntity, records: list[InstanceRecord]) -> bool:
        def run() -> bool:
            with self._transaction() as conn:
                if tenant not in self._known_tenants:
                    conn.execute(sql.INSERT_TENANT, (tenant, _now()))
                created = sqlite_history.add_instances(conn, tenant, entity, records)
            self._after_commit(tenant)
            return created

        return await self._on_writer(run)

    async def retrieve_history_entity(self, tenant: str, entity_id: str) -> HistoryEntity | None:
        rows = await self._read(sqlite_history.SELECT_ENTITY, (tenant, entity_id))
        return sqlite_history.entity_of(rows[0]) if rows else None

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
        return await self._read_with(
            lambda conn: sqlite_history.select_entities(
                conn, tenant, ids=ids, types=types, attrs=attrs, after_id=after_id, limit=limit
            )
        )

    async def history_attributes(self, tenant: str, entity_id: str) -> list[str]:
        return [row[0] for row in await self._read(sqlite_history.SELECT_ATTRIBUTES, (tenant, entity_id))]

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
        return await self._read_with(
            lambda conn: sqlite_history.select_instances(
                conn, tenant, entity_id, attribute, window, limit=limit, descending=descending, after=after
            )
        )

    async def history_bounds(
        self, tenant: str, entity_id: str, attribute: str, window: HistoryWindow
    ) -> tuple[int, int] | None:
        return await self._read_with(lambda conn: sqlite_history.select_bounds(conn, tenant, entity_id, attribute, window))

    async def aggregate_history(
        self, tenant: str, entity_id: str, attribute: str, window: HistoryWindow, plan: AggregationPlan
    ) -> list[AggregatedPeriod]:
        return await self._read_with(lambda conn: sqlite_history.aggregate(conn, tenant, entity_id, attribute, window, plan))

    async def modify_history_instance(
        self,
        tenant: str,
        entity_id: str,
        attribute: str,
        row_id: int,
        change: Callable[[dict[str, Any], int], InstanceRecord],
    ) -> None:
        def run() -> None:
            with self._transaction() as conn:
                found = sqlite_history.select_instance_doc(conn, tenant, entity_id, attribute, row_id)
                if found is None:
                    raise ResourceNotFound(f"attribute instance {row_id} of {attribute} of {entity_id} not found")
                sqlite_history.update_instance(conn, tenant, row_id, change(*found))

        await self._on_writer(run)

    async def delete_history_instance(self, tenant: str, entity_id: str, attribute: str, row_id: int) -> None:
        await self._history_delete(
            lambda conn: sqlite_history.delete_instance(conn, tenant, entity_id, attribute, row_id),
            f"attribute instance {row_id} of {attribute} of {entity_id} not found",
        )

    async def delete_history_attribute(
        self, tenant: str, entity_id: str, attribute: str, dataset_id: str | None
    ) -> None:
        await self._history_delete(
            lambda conn: sqlite_history.delete_attribute(conn, tenant, entity_id, attribute, dataset_id),
            f"attribute {attribute} of {entity_id} has no history" + (f" in dataset {dataset_id}" if dataset_id else ""),
        )

    async def delete_history_entity(self, tenant: str, entity_id: str) -> None:
        await self._history_delete(
            lambda conn: sqlite_history.delete_entity(conn, tenant, entity_id), f"entity {entity_id} has no history"
        )

    async def _history_delete(self, delete: Callable[[sqlite3.Connection], bool], missing: str) -> None:
        def run() -> None:
            with self._transaction() as conn:
                if not delete(conn):
                    raise ResourceNotFound(missing)

        await self._on_writer(run)

    async def purge_history(self, tenant: str, before_ms: int) -> int:
        def run() -> int:
            with self._transaction() as conn:
                return sqlite_history.purge(conn, tenant, before_ms)

        return await self._on_writer(run)

    async def history_tenants(self) -> list[str]:
        return [row[0] for row in await self._read(sqlite_history.SELECT_TENANTS, ())]

    async def maintain_history(self, now_ms: int) -> None:
        """Nothing to prepare: SQLite keeps the history in one table."""

    async def _read_with(self, work: Callable[[sqlite3.Connection], T]) -> T:
        def run() -> T:
            with _translate_errors():
                return work(self._reader_connection())

        return await self._on_reader(run)

    # -- documents ---------------------------------------------------------------------------

    async def create_document(self, kind: str, tenant: str, doc_id: str, doc: dict[str, Any]) -> None:
        def run() -> None:
            with self._transaction() as conn:
                if conn.execute(sql.SELECT_DOCUMENT, (kind, tenant, doc_id)).fetchone() is not None:
                    raise AlreadyExists(f"{kind} {doc_id} already exists")
                conn.execute(sql.INSERT_DOCUMENT, (kind, tenant, doc_id, _dumps(doc)))
                if tenant not in self._known_tenants:
                    conn.execute(sql.INSERT_TENANT, (tenant, _now()))
            self._after_commit(tenant)

        await self._on_writer(run)

    async def retrieve_document(self, kind: str, tenant: str, doc_id: str) -> dict[str, Any] | None:
        rows = await self._read(sql.SELECT_DOCUMENT, (kind, tenant, doc_id))
        return orjson.loads(rows[0][0]) if rows else None

    async def list_documents(self, kind: str, tenant: str) -> list[dict[str, Any]]:
        return [orjson.loads(row[0]) for row in await self._read(sql.SELECT_DOCUMENTS, (kind, tenant))]

    async def replace_document(self, kind: str, tenant: str, doc_id: str, doc: dict[str, Any]) -> None:
        await self._change_document(sql.REPLACE_DOCUMENT, (_dumps(doc), kind, tenant, doc_id), kind, doc_id)

    async def delete_document(self, kind: str, tenant: str, doc_id: str) -> None:
        await self._change_document(sql.DELETE_DOCUMENT, (kind, tenant, doc_id), kind, doc_id)

    async def _change_document(self, statement: str, params: tuple[Any, ...], kind: str, doc_id: str) -> None:
        def run() -> None:
            with self._transaction() as conn:
                if conn.execute(statement, params).rowcount == 0:
                    raise ResourceNotFound(f"{kind} {doc_id} not found")

        await self._on_writer(run)

    # -- delivery state (broker.store.sqlite_delivery) -------------------------------------------

    async def add_delivery_state(self, tenant: str, subscription_id: str, delta: DeliveryDelta) -> None:
        await self._write_one(sqlite_delivery.ADD_DELIVERY_STATE, (tenant, subscription_id, *delta.params()))

    async def delivery_state(self, tenant: str, subscription_id: str) -> dict[str, Any]:
        rows = await self._read(sqlite_delivery.SELECT_DELIVERY_STATE, (tenant, subscription_id))
        return state_of(rows[0]) if rows else {}

    async def delivery_states(self, tenant: str) -> dict[str, dict[str, Any]]:
        rows = await self._read(sqlite_delivery.SELECT_DELIVERY_STATES, (tenant,))
        return {row[0]: state_of(row[1:]) for row in rows}

    async def delete_delivery_state(self, tenant: str, subscription_id: str) -> None:
        await self._write_one(sqlite_delivery.DELETE_DELIVERY_STATE, (tenant, subscription_id))

    async def claim_periodic(
        self, tenant: str, subscription_id: str, version: str, now_s: float, next_due_s: float
    ) -> tuple[bool, float | None]:
        def run() -> tuple[bool, float | None]:
            with self._transaction() as conn:
                params = (tenant, subscription_id, version, next_due_s, now_s)
                if conn.execute(sqlite_delivery.CLAIM_PERIODIC, params).rowcount > 0:
                    return True, next_due_s
                row = conn.execute(sqlite_delivery.SELECT_NEXT_DUE, (tenant, subscription_id)).fetchone()
                return False, row[0] if row is not None else None

        return await self._on_writer(run)

    async def _write_one(self, statement: str, params: tuple[Any, ...]) -> None:
        def run() -> None:
            with self._transaction() as conn:
                conn.execute(statement, params)

        await self._on_writer(run)


_MEMBER_ORDER = "members.member_id"
_GROUP_COMMIT_MAX = 64  # writes sharing one COMMIT at most


def _settle(future: asyncio.Future[Any], outcome: tuple[bool, Any]) -> None:
    if future.cancelled():
        return
    ok, value = outcome
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)
_POINT_READ_BUSY_MS = 50  # a point read on the event loop waits no longer than this, then goes to a reader thread


def _geo_page_in_id_order(
    conn: sqlite3.Connection, tenant: str, query: EntityQuery, *, limit: int, offset: int, count: bool
) -> tuple[list[ExpandedEntity], int | None]:
    """A geo-query page in id order (broker.store.sqlite_geo): candidates from the spatial index (of the
    query's types, when it names plain types), then the documents that may be on the page."""
    assert query.geo is not None
    names = None
    if len(query.selectors) == 1 and query.selectors[0].types is not None:
        names = plain_type_names(query.selectors[0].types)
    ids, matched = sqlite_geo.candidates(conn, tenant, query.geo, names)
    # The candidates are of the type already: listing the type's members again would cost more than the page.
    where, where_params = _compile_query(tenant, replace(query, geo=None), types_selected=names is not None)
    return sqlite_geo.page_in_id_order(
        conn, query.geo, ids, matched, " AND ".join(where), where_params, limit=limit, offset=offset, count=count
    )


def _entity_source(tenant: str, query: EntityQuery) -> tuple[str, list[Any], str | None]:
    """FROM clause of an entity query. A query for one entity type (the most common kind) walks that type's
    members in id order from the entity_types index and looks each entity up, so that a page stops after
    `limit` matches instead of listing (and sorting) every entity of the type first. Returns the clause,
    its parameters, and the type it walks (None: plain `entities`)."""
    if query.geo is None and not query.order_by and len(query.selectors) == 1:
        types = query.selectors[0].types
        names = plain_type_names(types) if types is not None else None
        if names is not None and len(names) == 1:
            source = (
                "(SELECT id AS member_id FROM entity_types WHERE tenant = ? AND type = ?) AS members"
                " CROSS JOIN entities ON entities.tenant = ? AND entities.id = members.member_id"
            )
            return source, [tenant, names[0], tenant], names[0]
    return "entities", [], None


def _compile_query(
    tenant: str, query: EntityQuery, *, types_selected: bool = False
) -> tuple[list[str], list[Any]]:
    """WHERE terms over `entities`; `types_selected`: the rows come from the type index already, so the
    (single) selector's types are not checked again."""
    where = ["tenant = ?"]
    params: list[Any] = [tenant]
    alternatives: list[str] = []
    for selector in query.selectors:
        conditions: list[str] = []
        if types_selected:
            selector = replace(selector, types=None)
        if selector.ids is not None:
            conditions.append(f"id IN ({','.join('?' * len(selector.ids))})")
            params.extend(selector.ids)
        if selector.id_pattern is not None:
            conditions.append("id REGEXP ?")
            params.append(selector.id_pattern)
        if selector.types is not None:
            names = plain_type_names(selector.types)
            # With a geo-query the spatial candidates are the fewer rows: check their types on the
            # row rather than listing every entity of the type from the index.
            if names is not None and query.geo is None:
                conditions.append(sql.IDS_OF_TYPES.format(marks=",".join("?" * len(names))))
                params.extend([tenant, *names])
            else:
                _add(conditions, params, compile_types(selector.types))
        alternatives.append(" AND ".join(conditions) or "1")
    if alternatives:
        where.append("(" + " OR ".join(f"({alternative})" for alternative in alternatives) + ")")
    if query.attrs is not None:
        where.append("(" + " OR ".join("json_type(doc, ?) IS NOT NULL" for _ in query.attrs) + ")")
        params.extend(json_path(attribute) for attribute in sorted(query.attrs))
    if query.q is not None:
        _add(where, params, compile_q(query.q))
    if query.scope is not None:
        _add(where, params, compile_scope(query.scope))
    return where, params


_CORE_ORDER_COLUMNS = {"id": "id", "createdAt": "created_at", "modifiedAt": "modified_at"}


def _order_by(keys: tuple[OrderKey, ...]) -> tuple[str, list[Any]]:
    """ORDER BY for orderBy keys; entities lacking a key come last, the id breaks ties."""
    terms: list[str] = []
    params: list[Any] = []
    for key in keys:
        direction = "DESC" if key.descending else "ASC"
        if key.attribute is None:
            terms.append(f"{_CORE_ORDER_COLUMNS[key.member]} {direction}")
            continue
        if key.member == "value":
            expression = "COALESCE(json_extract(doc, ?), json_extract(doc, ?), json_extract(doc, ?))"
            params.extend(json_path(key.attribute) + f"[0].{member}" for member in ("value", "object", "vocab"))
        else:
            expression = "json_extract(doc, ?)"
            params.append(json_path(key.attribute) + f'[0]."{key.member}"')
        terms.append(f"({expression}) IS NULL")
        params.extend(params[-3:] if key.member == "value" else params[-1:])
        terms.append(f"{expression} {direction}")
    terms.append("id")
    return ", ".join(terms), params


def _add(where: list[str], params: list[Any], compiled: tuple[str, list[Any]]) -> None:
    where.append(f"({compiled[0]})")
    params.extend(compiled[1])


def _load_many(
    conn: sqlite3.Connection,
    tenant: str,
    ids: list[str],
    docs: dict[str, str] | None = None,
    relist: set[str] | None = None,
) -> dict[str, ExpandedEntity]:
    """The stored entities of `ids` that exist; `docs`, when given, receives each one's JSON text too,
    and `relist` the ids of those marked history_deleted (see sqlite_history.record_write)."""
    found: dict[str, ExpandedEntity] = {}
    for start in range(0, len(ids), _IN_CHUNK):
        chunk = ids[start : start + _IN_CHUNK]
        marks = ",".join("?" * len(chunk))
        rows = conn.execute(
            f"SELECT id, doc, history_deleted FROM entities WHERE tenant = ? AND id IN ({marks})", (tenant, *chunk)
        )
        for entity_id, doc, history_deleted in rows:
            found[entity_id] = orjson.loads(doc)
            if docs is not None:
                docs[entity_id] = doc
            if history_deleted and relist is not None:
                relist.add(entity_id)
    return found


@contextlib.contextmanager
def _snapshot(conn: sqlite3.Connection) -> Iterator[None]:
    """The statements of one read see one state of the database (a WAL read transaction): a page and its
    count agree, and a geo-query's candidates and the documents it then reads are of the same moment."""
    if conn.in_transaction:  # an in-memory database's one connection, inside the writer's transaction
        yield
        return
    conn.execute("BEGIN")
    try:
        yield
    finally:
        if conn.in_transaction:
            conn.execute("COMMIT")


@contextlib.contextmanager
def _translate_errors() -> Iterator[None]:
    """Turn sqlite3 errors into ours; our own errors pass through untouched."""
    try:
        yield
    except NgsiLdError:
        raise
    except sqlite3.OperationalError as exc:
        raise ServiceUnavailable(f"the SQLite store is not available: {exc}") from exc
    except sqlite3.Error as exc:
        raise InternalError("the SQLite store failed") from exc


__all__ = ["SqliteStore", "MIGRATIONS"]
