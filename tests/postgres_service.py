# SPDX-License-Identifier: EUPL-1.2
"""The PostgreSQL service the store tests use (127.0.0.1:5432, trust auth), and how to reach it.

PostgreSQL 15 with PostGIS is a service of the development and CI machines (scripts/services
starts it). When it does not answer, a test that needs it FAILS naming the service; it never skips.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import uuid
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import asyncpg  # type: ignore[import-untyped]
import pytest

POSTGRES_HOST = "127.0.0.1"
POSTGRES_PORT = 5432
POSTGRES_VERSION = "15"
ADMIN_DSN = f"postgresql://postgres@{POSTGRES_HOST}:{POSTGRES_PORT}/postgres"

R = TypeVar("R")


def database_dsn(name: str) -> str:
    return f"postgresql://postgres@{POSTGRES_HOST}:{POSTGRES_PORT}/{name}"


def postgres_answers() -> bool:
    try:
        with socket.create_connection((POSTGRES_HOST, POSTGRES_PORT), timeout=1):
            return True
    except OSError:
        return False


def pg_ctlcluster(action: str) -> None:
    """Start, stop or restart the cluster; blocks until pg_ctlcluster is done."""
    done = subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", POSTGRES_VERSION, "main", action],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, f"pg_ctlcluster {action} failed: {done.stdout}{done.stderr}"


def ensure_postgres_running() -> None:
    """Start the cluster when it does not answer (after a test stopped it, whatever happened)."""
    if not postgres_answers():
        pg_ctlcluster("start")


def run_in_own_loop(make: Callable[[], Coroutine[Any, Any, R]]) -> R:
    """Run a coroutine to completion on a private event loop, even while a test's loop runs."""
    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(asyncio.run, make()).result()


async def _admin(statement: str) -> None:
    conn = await asyncpg.connect(ADMIN_DSN, timeout=5)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def create_database(prefix: str) -> str:
    """A new, empty database with a unique name; fails the test, naming the service, when it is down."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        await _admin(f'CREATE DATABASE "{name}"')
    except (OSError, asyncpg.PostgresError) as exc:
        problem = f"{type(exc).__name__}: {exc}"
    else:
        return name
    pytest.fail(
        f"PostgreSQL {POSTGRES_VERSION} is not available on {POSTGRES_HOST}:{POSTGRES_PORT} ({problem}); "
        "start it with scripts/services",
        pytrace=False,
    )


async def drop_database(name: str) -> None:
    await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
