# SPDX-License-Identifier: EUPL-1.2
"""Databases as an older citycontext left them: the first migrations of a store's schema, recorded, so that
a test can put rows in the old shape and open the store to see the later migrations carry them over."""

from __future__ import annotations

import sqlite3
from typing import Any

from broker.store import postgres_schema, sqlite_schema


def sqlite_at_version(conn: sqlite3.Connection, version: int) -> None:
    for script in sqlite_schema.MIGRATIONS[:version]:
        for statement in script.split(";"):
            if statement.strip():
                conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {version}")


async def postgres_at_version(conn: Any, version: int) -> None:
    await conn.execute(postgres_schema.CREATE_MIGRATIONS_TABLE)
    for number, script in enumerate(postgres_schema.MIGRATIONS[:version], start=1):
        await conn.execute(script)
        await conn.execute(postgres_schema.RECORD_MIGRATION, number)
