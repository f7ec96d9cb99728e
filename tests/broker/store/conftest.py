# SPDX-License-Identifier: EUPL-1.2
"""PostgreSQL for the store tests: a fresh database per session on 127.0.0.1, dropped at the end.

Each test that uses it empties it first (reset_postgres). If PostgreSQL is down, those tests
fail naming it (postgres_service.create_database); they never skip.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import asyncpg  # type: ignore[import-untyped]
import pytest

from tests.broker.store.postgres_service import (
    create_database,
    database_dsn,
    drop_database,
    ensure_postgres_running,
    run_in_own_loop,
)

# Everything a test may have written; the migrations table and the default tenant stay. DELETE,
# not TRUNCATE: on these small tables it takes milliseconds where TRUNCATE takes a tenth of a second.
RESET_DATA = """
DELETE FROM entities; DELETE FROM type_counts; DELETE FROM type_attribute_counts; DELETE FROM attribute_counts;
DELETE FROM entity_types; DELETE FROM documents; DELETE FROM entity_geometries;
DELETE FROM tenants WHERE name <> ''; UPDATE tenants SET entity_count = 0;
"""


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    """One fresh database for the session (made and dropped outside any test's event loop)."""
    name = run_in_own_loop(lambda: create_database("citycontext_test"))
    try:
        yield database_dsn(name)
    finally:
        ensure_postgres_running()
        run_in_own_loop(lambda: drop_database(name))


@pytest.fixture
def reset_postgres(postgres_dsn: str) -> Callable[[], Awaitable[None]]:
    """Empty the session database; call it once a store has opened (and so migrated) it."""

    async def reset() -> None:
        conn = await asyncpg.connect(postgres_dsn, timeout=5)
        try:
            await conn.execute(RESET_DATA)
        finally:
            await conn.close()

    return reset


@pytest.fixture
async def fresh_database() -> AsyncIterator[Callable[[], Awaitable[str]]]:
    """Make new, empty databases (no migrations applied) for a test; all dropped at its end."""
    made: list[str] = []

    async def make() -> str:
        name = await create_database("citycontext_fresh")
        made.append(name)
        return database_dsn(name)

    yield make
    ensure_postgres_running()
    for name in made:
        await drop_database(name)
