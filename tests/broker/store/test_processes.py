# SPDX-License-Identifier: EUPL-1.2
"""Two real `citycontext serve` processes on one PostgreSQL database: concurrent writes of different
attributes of one entity lose nothing, and a subscription made through one process notifies for a
write made through the other."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web

from tests.conftest import API, free_port, serving

REPO = Path(__file__).resolve().parents[3]
CLI = [sys.executable, "-m", "broker.cli"]
WRITES_PER_PROCESS = 40


class BrokerProcess:
    """A real `citycontext serve` on 127.0.0.1, ready (GET /ready is 200) when the constructor returns."""

    def __init__(self, workdir: Path, store: str, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # A file, not a pipe: the broker logs a line per request, synchronously, and a pipe nobody
        # reads fills after ~250 requests and then blocks the broker's event loop in write().
        self.log_path = workdir / f"broker-{self.port}.log"
        self.log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [*CLI, "serve", "--port", str(self.port), "--store", store],
            cwd=workdir,
            env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"broker exited early: {self.output()}")
            try:
                if httpx.get(f"{self.url}/ready", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise AssertionError(f"broker did not become ready within 30 s: {self.output()}")

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text()[-5000:]

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.terminate()
        try:
            return self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(timeout=5)
        finally:
            self.log.close()


@pytest.fixture
async def two_brokers(
    fresh_database: Callable[[], Awaitable[str]], tmp_path: Path
) -> AsyncIterator[tuple[BrokerProcess, BrokerProcess]]:
    dsn = await fresh_database()
    env = {"CITYCONTEXT_SUBSCRIPTION_REFRESH_S": "0.5"}
    # The first process migrates the fresh database; the second then finds it up to date.
    first = BrokerProcess(tmp_path, dsn, env)
    try:
        second = BrokerProcess(tmp_path, dsn, env)
    except BaseException:
        first.stop()
        raise
    try:
        yield first, second
    finally:
        second.stop()
        first.stop()


def prop(value: Any) -> dict[str, Any]:
    return {"type": "Property", "value": value}


async def test_concurrent_writes_of_different_attributes_from_two_processes_lose_nothing(
    two_brokers: tuple[BrokerProcess, BrokerProcess],
) -> None:
    a, b = two_brokers
    entity_id = "urn:ngsi-ld:Room:shared"
    timeout = httpx.Timeout(30.0)
    async with httpx.AsyncClient(timeout=timeout) as http:
        created = await http.post(f"{a.url}{API}/entities", json={"id": entity_id, "type": "Room"})
        assert created.status_code == 201, created.text

        async def append(broker: BrokerProcess, name: str, value: int) -> httpx.Response:
            return await http.post(f"{broker.url}{API}/entities/{entity_id}/attrs", json={name: prop(value)})

        async def patch(broker: BrokerProcess, name: str, value: int) -> httpx.Response:
            return await http.patch(f"{broker.url}{API}/entities/{entity_id}/attrs/{name}", json=prop(value))

        # Phase 1: append new attributes (a0.., b0..) through both processes at once.
        appended = await asyncio.gather(
            *(append(a, f"a{i}", i) for i in range(WRITES_PER_PROCESS)),
            *(append(b, f"b{i}", i) for i in range(WRITES_PER_PROCESS)),
        )
        assert {r.status_code for r in appended} == {204}, [r.text for r in appended if r.status_code != 204][:3]
        # Phase 2: partial updates of each of those attributes, again interleaved across the processes.
        patched = await asyncio.gather(
            *(patch(a, f"a{i}", 1000 + i) for i in range(WRITES_PER_PROCESS)),
            *(patch(b, f"b{i}", 2000 + i) for i in range(WRITES_PER_PROCESS)),
        )
        assert {r.status_code for r in patched} == {204}, [r.text for r in patched if r.status_code != 204][:3]

        for broker in (a, b):
            got = await http.get(f"{broker.url}{API}/entities/{entity_id}", params={"options": "keyValues"})
            assert got.status_code == 200, got.text
            body = got.json()
            expected = {f"a{i}": 1000 + i for i in range(WRITES_PER_PROCESS)}
            expected |= {f"b{i}": 2000 + i for i in range(WRITES_PER_PROCESS)}
            missing = sorted(name for name in expected if name not in body)
            wrong = sorted(name for name in expected if name in body and body[name] != expected[name])
            assert not missing and not wrong, f"lost attributes {missing}, stale values {wrong}"


class Receiver:
    def __init__(self) -> None:
        self.bodies: list[Any] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.bodies.append(await request.json())
        return web.Response(status=204)


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    target = Receiver()
    app = web.Application()
    app.router.add_post("/notify", target.handle)
    async with serving(app) as base_url:
        yield target, f"{base_url}/notify"


async def test_a_subscription_made_through_one_process_notifies_a_write_through_the_other(
    two_brokers: tuple[BrokerProcess, BrokerProcess], receiver: tuple[Receiver, str]
) -> None:
    a, b = two_brokers
    target, uri = receiver
    async with httpx.AsyncClient(timeout=httpx.Timeout(10.0)) as http:
        subscription = {
            "type": "Subscription",
            "entities": [{"type": "Room"}],
            "notification": {"endpoint": {"uri": uri}},
        }
        made = await http.post(f"{a.url}{API}/subscriptions", json=subscription)
        assert made.status_code == 201, made.text

        loop = asyncio.get_running_loop()
        deadline = loop.time() + 15
        n = 0
        # Process B learns of the subscription on its next refresh (0.5 s); write until it notifies.
        while not any(
            item.get("id", "").startswith("urn:ngsi-ld:Room:from-b-")
            for body in target.bodies
            for item in body.get("data", [])
        ):
            assert loop.time() < deadline, f"no notification within 15 s; received {target.bodies!r}"
            written = await http.post(
                f"{b.url}{API}/entities", json={"id": f"urn:ngsi-ld:Room:from-b-{n}", "type": "Room", "t": prop(n)}
            )
            assert written.status_code == 201, written.text
            n += 1
            await asyncio.sleep(0.25)
