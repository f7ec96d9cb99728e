# SPDX-License-Identifier: EUPL-1.2
"""Shared by the temporal and open-data API tests: an empty history on the session's PostgreSQL database.

tests/conftest.py empties the entity tables before each PostgreSQL test (RESET_DATA); the history
tables it does not know, so the temporal tests empty them here, after that reset.
"""

from __future__ import annotations

import asyncpg  # type: ignore[import-untyped]
import pytest

from broker.settings import Settings

CLEAR_HISTORY = "DELETE FROM history; DELETE FROM history_entities; DELETE FROM history_attributes;"


async def clear_history(settings: Settings, request: pytest.FixtureRequest) -> None:
    if not settings.store.startswith("postgresql"):
        return  # each SQLite test has a file of its own
    conn = await asyncpg.connect(request.getfixturevalue("postgres_dsn"), timeout=5)
    try:
        await conn.execute(CLEAR_HISTORY)
    finally:
        await conn.close()
