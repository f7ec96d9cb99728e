# SPDX-License-Identifier: EUPL-1.2
"""The embedded SQLite store: `citycontext serve` needs no server.

Relies on SQLite's WAL journal (readers never wait for the writer) and JSON1. One writer
connection lives on its own thread, so every write transaction is one hop to that thread and
writes are serialised; reads use a small pool of reader threads with a connection each. With
PRAGMA synchronous=FULL (the default setting) a write is durable before its request is answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import orjson

from broker.errors import AlreadyExists, InternalError, NgsiLdError, ResourceNotFound, ServiceUnavailable
from broker.store.base import ExpandedEntity, Modification

T = TypeVar("T")

# Each entry moves the schema one version forward; PRAGMA user_version records how far we are.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE entities (
        tenant      TEXT NOT NULL,
        id          TEXT NOT NULL,
        types       TEXT NOT NULL,  -- JSON array of expanded type IRIs
        created_at  TEXT NOT NULL,
        modified_at TEXT NOT NULL,
        doc         TEXT NOT NULL,  -- the expanded entity, JSON
        UNIQUE (tenant, id)
    );
    """,
)

_SELECT_DOC = "SELECT doc FROM entities WHERE tenant = ? AND id = ?"
_INSERT = "INSERT INTO entities (tenant, id, types, created_at, modified_at, doc) VALUES (?, ?, ?, ?, ?, ?)"
_UPDATE = "UPDATE entities SET types = ?, modified_at = ?, doc = ? WHERE tenant = ? AND id = ?"
_DELETE = "DELETE FROM entities WHERE tenant = ? AND id = ?"
_READER_THREADS = 2


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


class SqliteStore:
    """Store on one SQLite file (or a private in-memory database for `:memory:`)."""

    kind = "sqlite"

    def __init__(self, path: str, *, synchronous: str = "FULL") -> None:
        self._memory = path == ":memory:"
        self._path = f"file:citycontext-{uuid.uuid4().hex}?mode=memory&cache=shared" if self._memory else path
        self._synchronous = synchronous
        self._writer: ThreadPoolExecutor | None = None
        self._readers: ThreadPoolExecutor | None = None
        self._wconn: sqlite3.Connection | None = None
        self._local = threading.local()
        self._reader_conns: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

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
        await self._on_writer(self._open_writer)
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
        await self._on_writer(self._close_all)
        self._writer.shutdown(wait=True)
        self._writer = self._readers = None

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self._path, uri=self._memory, isolation_level=None, check_same_thread=False, timeout=30
        )
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute(f"PRAGMA synchronous = {self._synchronous}")
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
                    conn.execute(f"PRAGMA user_version = {number}")
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise

    def _close_all(self) -> None:
        with self._lock:
            for conn in self._reader_conns:
                conn.close()
            self._reader_conns.clear()
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
        if self._writer is None:
            raise ServiceUnavailable("the store is closed")
        return await asyncio.get_running_loop().run_in_executor(self._writer, fn)

    async def _on_reader(self, fn: Callable[[], T]) -> T:
        if self._readers is None:
            raise ServiceUnavailable("the store is closed")
        return await asyncio.get_running_loop().run_in_executor(self._readers, fn)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self._wconn
        if conn is None:
            raise ServiceUnavailable("the store is closed")
        with _translate_errors():
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    # -- Store -------------------------------------------------------------------------------

    async def ping(self) -> None:
        def run() -> None:
            with _translate_errors():
                self._reader_connection().execute("SELECT 1").fetchone()

        await self._on_reader(run)

    async def create_entity(self, tenant: str, expanded_entity: ExpandedEntity) -> None:
        row = (
            tenant,
            expanded_entity["id"],
            _dumps(expanded_entity["type"]),
            expanded_entity["createdAt"],
            expanded_entity["modifiedAt"],
            _dumps(expanded_entity),
        )

        def run() -> None:
            with self._transaction() as conn:
                try:
                    conn.execute(_INSERT, row)
                except sqlite3.IntegrityError as exc:
                    raise AlreadyExists(f"entity {row[1]} already exists") from exc

        await self._on_writer(run)

    async def retrieve_entity(self, tenant: str, entity_id: str) -> ExpandedEntity | None:
        def run() -> str | None:
            with _translate_errors():
                found = self._reader_connection().execute(_SELECT_DOC, (tenant, entity_id)).fetchone()
            return None if found is None else str(found[0])

        doc = await self._on_reader(run)
        return None if doc is None else orjson.loads(doc)  # type: ignore[no-any-return]

    async def modify_entity(
        self, tenant: str, entity_id: str, change: Callable[[ExpandedEntity], T]
    ) -> Modification[T]:
        def run() -> Modification[T]:
            with self._transaction() as conn:
                found = conn.execute(_SELECT_DOC, (tenant, entity_id)).fetchone()
                if found is None:
                    raise ResourceNotFound(f"entity {entity_id} not found")
                before = orjson.loads(found[0])
                after = orjson.loads(found[0])
                result = change(after)
                conn.execute(
                    _UPDATE, (_dumps(after["type"]), after["modifiedAt"], _dumps(after), tenant, entity_id)
                )
            return Modification(before, after, result)

        return await self._on_writer(run)

    async def delete_entity(self, tenant: str, entity_id: str) -> ExpandedEntity:
        def run() -> ExpandedEntity:
            with self._transaction() as conn:
                found = conn.execute(_SELECT_DOC, (tenant, entity_id)).fetchone()
                if found is None:
                    raise ResourceNotFound(f"entity {entity_id} not found")
                conn.execute(_DELETE, (tenant, entity_id))
            return orjson.loads(found[0])  # type: ignore[no-any-return]

        return await self._on_writer(run)


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
