# SPDX-License-Identifier: EUPL-1.2
"""The JSON agent's device registry: service groups and devices, kept as the JSON documents the FIWARE
provisioning API takes, in SQLite (default) or PostgreSQL (`postgresql://...`, shared by several agents).

Keys follow iotagent-node-lib: a group is (service, subservice, apikey, resource), a device is
(service, subservice, device_id); a measure finds its group by apikey (and resource, when given).
Both back ends run the same SQL (written with `?`, numbered for asyncpg) and raise the same errors.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import orjson

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS iot_groups (
        service TEXT NOT NULL, subservice TEXT NOT NULL, apikey TEXT NOT NULL, resource TEXT NOT NULL,
        doc TEXT NOT NULL, PRIMARY KEY (service, subservice, apikey, resource))""",
    "CREATE INDEX IF NOT EXISTS iot_groups_apikey ON iot_groups (apikey)",
    """CREATE TABLE IF NOT EXISTS iot_devices (
        service TEXT NOT NULL, subservice TEXT NOT NULL, device_id TEXT NOT NULL,
        doc TEXT NOT NULL, PRIMARY KEY (service, subservice, device_id))""",
)


class RegistryError(Exception):
    """Base of the registry's errors."""


class Duplicate(RegistryError):
    """A group (apikey, resource) or device id that already exists in this service and subservice."""


class UnsupportedRegistry(RegistryError):
    """A registry URL that is neither sqlite:/// nor postgresql://."""


class Registry(Protocol):
    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def create_groups(self, service: str, subservice: str, groups: Sequence[dict[str, Any]]) -> None: ...
    async def list_groups(self, service: str, subservice: str | None, limit: int, offset: int) -> tuple[int, list[dict[str, Any]]]: ...
    async def find_group(self, apikey: str, resource: str | None) -> dict[str, Any] | None: ...
    async def replace_group(self, service: str, subservice: str, apikey: str, resource: str, doc: dict[str, Any]) -> bool: ...
    async def get_group(self, service: str, subservice: str, apikey: str, resource: str) -> dict[str, Any] | None: ...
    async def delete_group(self, service: str, subservice: str, apikey: str, resource: str) -> bool: ...
    async def create_devices(self, service: str, subservice: str, devices: Sequence[dict[str, Any]]) -> None: ...
    async def list_devices(self, service: str, subservice: str | None, limit: int, offset: int) -> tuple[int, list[dict[str, Any]]]: ...
    async def get_device(self, service: str, subservice: str, device_id: str) -> dict[str, Any] | None: ...
    async def replace_device(self, service: str, subservice: str, device_id: str, doc: dict[str, Any]) -> bool: ...
    async def delete_device(self, service: str, subservice: str, device_id: str) -> bool: ...


def open_registry(url: str) -> Registry:
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        return SqliteRegistry(url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else ":memory:")
    if scheme in {"postgresql", "postgres"}:
        return PostgresRegistry(url)
    raise UnsupportedRegistry(f"registry {url!r}: use sqlite:///path.db or postgresql://user@host:5432/db")


class _SqlRegistry:
    """The SQL both back ends share; subclasses run it."""

    async def _fetch(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    async def _execute(self, sql: str, *args: Any) -> int:
        """Run a statement; the number of rows it changed."""
        raise NotImplementedError

    async def _insert_many(self, sql: str, rows: Sequence[tuple[Any, ...]]) -> None:
        """Insert every row in one transaction, or none; Duplicate on a key that exists."""
        raise NotImplementedError

    async def create_groups(self, service: str, subservice: str, groups: Sequence[dict[str, Any]]) -> None:
        rows = [(service, subservice, g["apikey"], g["resource"], _dump(g)) for g in groups]
        await self._insert_many("INSERT INTO iot_groups (service, subservice, apikey, resource, doc) VALUES (?, ?, ?, ?, ?)", rows)

    async def list_groups(self, service: str, subservice: str | None, limit: int, offset: int) -> tuple[int, list[dict[str, Any]]]:
        where, args = _scope(service, subservice)
        count = (await self._fetch(f"SELECT count(*) FROM iot_groups WHERE {where}", *args))[0][0]
        rows = await self._fetch(
            f"SELECT doc FROM iot_groups WHERE {where} ORDER BY subservice, apikey, resource LIMIT ? OFFSET ?", *args, limit, offset
        )
        return int(count), [orjson.loads(row[0]) for row in rows]

    async def find_group(self, apikey: str, resource: str | None) -> dict[str, Any] | None:
        rows = await self._fetch("SELECT resource, doc FROM iot_groups WHERE apikey = ? ORDER BY service, subservice, resource", apikey)
        for row_resource, doc in rows:
            if resource is None or row_resource == resource:
                return orjson.loads(doc)  # type: ignore[no-any-return]
        return orjson.loads(rows[0][1]) if rows else None

    async def get_group(self, service: str, subservice: str, apikey: str, resource: str) -> dict[str, Any] | None:
        rows = await self._fetch(
            "SELECT doc FROM iot_groups WHERE service = ? AND subservice = ? AND apikey = ? AND resource = ?",
            service, subservice, apikey, resource,
        )
        return orjson.loads(rows[0][0]) if rows else None

    async def replace_group(self, service: str, subservice: str, apikey: str, resource: str, doc: dict[str, Any]) -> bool:
        changed = await self._execute(
            "UPDATE iot_groups SET apikey = ?, resource = ?, doc = ? WHERE service = ? AND subservice = ? AND apikey = ? AND resource = ?",
            doc["apikey"], doc["resource"], _dump(doc), service, subservice, apikey, resource,
        )
        return changed > 0

    async def delete_group(self, service: str, subservice: str, apikey: str, resource: str) -> bool:
        changed = await self._execute(
            "DELETE FROM iot_groups WHERE service = ? AND subservice = ? AND apikey = ? AND resource = ?",
            service, subservice, apikey, resource,
        )
        return changed > 0

    async def create_devices(self, service: str, subservice: str, devices: Sequence[dict[str, Any]]) -> None:
        rows = [(service, subservice, d["device_id"], _dump(d)) for d in devices]
        await self._insert_many("INSERT INTO iot_devices (service, subservice, device_id, doc) VALUES (?, ?, ?, ?)", rows)

    async def list_devices(self, service: str, subservice: str | None, limit: int, offset: int) -> tuple[int, list[dict[str, Any]]]:
        where, args = _scope(service, subservice)
        count = (await self._fetch(f"SELECT count(*) FROM iot_devices WHERE {where}", *args))[0][0]
        rows = await self._fetch(
            f"SELECT doc FROM iot_devices WHERE {where} ORDER BY subservice, device_id LIMIT ? OFFSET ?", *args, limit, offset
        )
        return int(count), [orjson.loads(row[0]) for row in rows]

    async def get_device(self, service: str, subservice: str, device_id: str) -> dict[str, Any] | None:
        rows = await self._fetch(
            "SELECT doc FROM iot_devices WHERE service = ? AND subservice = ? AND device_id = ?", service, subservice, device_id
        )
        return orjson.loads(rows[0][0]) if rows else None

    async def replace_device(self, service: str, subservice: str, device_id: str, doc: dict[str, Any]) -> bool:
        changed = await self._execute(
            "UPDATE iot_devices SET doc = ? WHERE service = ? AND subservice = ? AND device_id = ?",
            _dump(doc), service, subservice, device_id,
        )
        return changed > 0

    async def delete_device(self, service: str, subservice: str, device_id: str) -> bool:
        changed = await self._execute(
            "DELETE FROM iot_devices WHERE service = ? AND subservice = ? AND device_id = ?", service, subservice, device_id
        )
        return changed > 0


class SqliteRegistry(_SqlRegistry):
    """SQLite, synchronous calls from the event loop: each is a single indexed statement."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._db: sqlite3.Connection | None = None

    async def open(self) -> None:
        if self._path != ":memory:":
            Path(self._path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        for statement in _SCHEMA:
            self._db.execute(statement)

    async def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    async def _fetch(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        assert self._db is not None
        return self._db.execute(sql, args).fetchall()

    async def _execute(self, sql: str, *args: Any) -> int:
        assert self._db is not None
        try:
            return self._db.execute(sql, args).rowcount
        except sqlite3.IntegrityError as exc:
            raise Duplicate(str(exc)) from exc

    async def _insert_many(self, sql: str, rows: Sequence[tuple[Any, ...]]) -> None:
        assert self._db is not None
        try:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany(sql, rows)
            self._db.execute("COMMIT")
        except sqlite3.IntegrityError as exc:
            self._db.execute("ROLLBACK")
            raise Duplicate(str(exc)) from exc


class PostgresRegistry(_SqlRegistry):
    """PostgreSQL through an asyncpg pool: several agent processes can share one registry."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._pool: Any = None

    async def open(self) -> None:
        import asyncpg  # type: ignore[import-untyped]

        self._pool = await asyncpg.create_pool(self._dsn, min_size=1, max_size=4, timeout=10)
        # one agent at a time creates the tables
        async with self._pool.acquire() as connection, connection.transaction():
            await connection.execute("SELECT pg_advisory_xact_lock(4041)")
            for statement in _SCHEMA:
                await connection.execute(statement)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def _fetch(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        rows = await self._pool.fetch(_numbered(sql), *args)
        return [tuple(row) for row in rows]

    async def _execute(self, sql: str, *args: Any) -> int:
        import asyncpg

        try:
            status = await self._pool.execute(_numbered(sql), *args)
        except asyncpg.UniqueViolationError as exc:
            raise Duplicate(str(exc)) from exc
        return int(status.rsplit(" ", 1)[-1]) if status and status[-1].isdigit() else 0

    async def _insert_many(self, sql: str, rows: Sequence[tuple[Any, ...]]) -> None:
        import asyncpg

        async with self._pool.acquire() as connection:
            try:
                async with connection.transaction():
                    await connection.executemany(_numbered(sql), rows)
            except asyncpg.UniqueViolationError as exc:
                raise Duplicate(str(exc)) from exc


def _scope(service: str, subservice: str | None) -> tuple[str, list[Any]]:
    """fiware-servicepath `/*` (or none) lists every subservice of the service."""
    if subservice is None or subservice in {"/*", "/#"}:
        return "service = ?", [service]
    return "service = ? AND subservice = ?", [service, subservice]


def _numbered(sql: str) -> str:
    counter = iter(range(1, 1000))
    return re.sub(r"\?", lambda _: f"${next(counter)}", sql)


def _dump(doc: dict[str, Any]) -> str:
    return orjson.dumps(doc).decode()
