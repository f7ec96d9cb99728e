# SPDX-License-Identifier: EUPL-1.2
"""The store tests use the PostgreSQL fixtures of tests/conftest.py (postgres_dsn, reset_postgres, fresh_database).

`store` is every store the contract holds for: a SQLite file, a SQLite in-memory database and
PostgreSQL (a module that tests one store only defines its own `store`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from broker.store import PostgresStore, SqliteStore, Store


@pytest.fixture(params=["sqlite-file", "sqlite-memory", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    opened: Store
    if request.param == "postgres":
        dsn: str = request.getfixturevalue("postgres_dsn")
        reset: Callable[[], Awaitable[None]] = request.getfixturevalue("reset_postgres")
        opened = PostgresStore(dsn, pool_size=4)
        async with opened:
            await reset()
            yield opened
        return
    path = str(tmp_path / "store.db") if request.param == "sqlite-file" else ":memory:"
    async with SqliteStore(path) as opened:
        yield opened
