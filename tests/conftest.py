# SPDX-License-Identifier: EUPL-1.2
"""Shared fixtures: real SQLite stores, the real app in-process, and HTTP servers on 127.0.0.1."""

from __future__ import annotations

import contextlib
import os
import re
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx
import pytest
from aiohttp import web
from hypothesis import HealthCheck, settings as hypothesis_settings

from broker.api import create_app
from broker.settings import Settings
from tests.postgres_service import (
    create_database,
    database_dsn,
    drop_database,
    ensure_postgres_running,
    run_in_own_loop,
)

hypothesis_settings.register_profile(
    "ci", max_examples=60, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
hypothesis_settings.register_profile("dev", max_examples=100, deadline=None)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

API = "/ngsi-ld/v1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def serving(app: web.Application, **runner_options: Any) -> AsyncIterator[str]:
    """A real HTTP server of `app` on a free 127.0.0.1 port while the block runs; yields its base URL."""
    runner = web.AppRunner(app, **runner_options)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@pytest.fixture(params=["sqlite", "postgres"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """The broker's settings on each store: a SQLite file, or the session's PostgreSQL database."""
    if request.param == "postgres":
        return Settings.from_mapping({}, store=request.getfixturevalue("postgres_dsn"), postgres_pool_size=4)
    return Settings.from_mapping({}, store=f"sqlite:///{tmp_path}/broker.db")


@pytest.fixture
async def client(request: pytest.FixtureRequest, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The real app on a real store (SQLite file or PostgreSQL), called in-process (no sockets)."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        if settings.store.startswith("postgresql"):
            await request.getfixturevalue("reset_postgres")()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://broker.test") as http:
            yield http


class ContextServer:
    """A real HTTP server on 127.0.0.1 serving user @context documents, counting each GET."""

    def __init__(self) -> None:
        self.documents: dict[str, Any] = {}
        self.hits: dict[str, int] = {}
        self.base_url = ""

    def add(self, name: str, context: dict[str, Any]) -> str:
        self.documents[name] = {"@context": context}
        return f"{self.base_url}/{name}"

    async def handle(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        self.hits[name] = self.hits.get(name, 0) + 1
        if name not in self.documents:
            return web.Response(status=404)
        return web.json_response(self.documents[name], content_type="application/ld+json")


@pytest.fixture
async def context_server() -> AsyncIterator[ContextServer]:
    server = ContextServer()
    app = web.Application()
    app.router.add_get("/{name}", server.handle)
    async with serving(app) as server.base_url:
        yield server


@pytest.fixture
def unique_id(request: pytest.FixtureRequest) -> Callable[[str], str]:
    counter = iter(range(1_000_000))
    test_name = re.sub(r"[^A-Za-z0-9_-]", "-", request.node.name)[:60]

    def make(entity_type: str = "Thing") -> str:
        return f"urn:ngsi-ld:{entity_type}:{test_name}-{next(counter)}"

    return make


# Everything a test may have written; the migrations table and the default tenant stay. DELETE,
# not TRUNCATE: on these small tables it takes milliseconds where TRUNCATE takes a tenth of a second.
RESET_DATA = """
DELETE FROM entities; DELETE FROM type_counts; DELETE FROM type_attribute_counts; DELETE FROM attribute_counts;
DELETE FROM entity_types; DELETE FROM documents; DELETE FROM entity_geometries; DELETE FROM entity_expirations;
DELETE FROM tenants WHERE name <> ''; UPDATE tenants SET entity_count = 0;
DELETE FROM history; DELETE FROM history_entities; DELETE FROM history_attributes;
DELETE FROM subscription_states;
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
