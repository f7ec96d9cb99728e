# SPDX-License-Identifier: EUPL-1.2
"""A real broker process on PostgreSQL, under a steady write load, while the database stops and
starts again: every answer is 201 or a 503 ProblemDetails (never a 500, never a hang), writes
succeed again once the database is back without restarting the broker, and no write answered
201 is lost."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from tests.broker.store.test_processes import BrokerProcess
from tests.conftest import API
from tests.postgres_service import (
    ensure_postgres_running,
    pg_ctlcluster,
    postgres_answers,
)

WRITERS = 4
CLIENT_TIMEOUT = httpx.Timeout(10.0)  # well above the broker's connect timeout: a hang fails the test
ERRORS = "https://uri.etsi.org/ngsi-ld/errors/"


async def test_writes_through_a_database_restart_are_acknowledged_truthfully(
    fresh_database: Callable[[], Awaitable[str]], tmp_path: Path
) -> None:
    dsn = await fresh_database()
    broker = BrokerProcess(tmp_path, dsn, {"CITYCONTEXT_POSTGRES_CONNECT_TIMEOUT_S": "2"})
    acknowledged: list[str] = []
    unavailable: list[httpx.Response] = []
    unexpected: list[str] = []
    internal: list[str] = []  # 500 InternalClientError: the known bug, see the end of the test
    back_at: list[float] = []  # when the database answered again
    first_after: list[float] = []  # when the first write after that got 201
    stop = asyncio.Event()
    try:
        async with httpx.AsyncClient(timeout=CLIENT_TIMEOUT) as http:

            async def writer(w: int) -> None:
                n = 0
                while not stop.is_set():
                    entity_id = f"urn:ngsi-ld:Sensor:w{w}-{n}"
                    n += 1
                    try:
                        r = await http.post(f"{broker.url}{API}/entities", json={"id": entity_id, "type": "Sensor"})
                    except httpx.TimeoutException:
                        unexpected.append(f"{entity_id}: no answer within {CLIENT_TIMEOUT.read} s")
                        continue
                    if r.status_code == 201:
                        acknowledged.append(entity_id)
                        if back_at and not first_after:
                            first_after.append(time.monotonic())
                    elif r.status_code == 503:
                        unavailable.append(r)
                        await asyncio.sleep(0.05)
                    elif r.status_code == 500 and "InternalClientError" in r.text:
                        internal.append(f"{entity_id}: {r.text[:300]}")
                    else:
                        unexpected.append(f"{entity_id}: {r.status_code} {r.text[:300]}")

            async def outage() -> None:
                await asyncio.sleep(1.5)
                before = len(acknowledged)
                await asyncio.to_thread(pg_ctlcluster, "stop")
                await asyncio.sleep(2)
                await asyncio.to_thread(ensure_postgres_running)  # another test session may have started it
                back_at.append(time.monotonic())
                assert before > 0, "no write succeeded before the outage"
                deadline = time.monotonic() + 15
                while not first_after and time.monotonic() < deadline:
                    await asyncio.sleep(0.1)
                await asyncio.sleep(1)  # a little steady load after recovery
                stop.set()

            await asyncio.gather(outage(), *(writer(w) for w in range(WRITERS)))

            assert not unexpected, unexpected[:5]
            assert unavailable, "the outage produced no 503: the load did not overlap it"
            for r in unavailable:
                assert r.headers["content-type"].startswith("application/json"), r.headers
                body = r.json()
                assert body["type"].startswith(ERRORS), body
                assert body.get("title") and body.get("status", 503) == 503, body
            assert first_after, "writes did not succeed again within 15 s of the database being back"
            assert broker.process.poll() is None, "the broker exited"

            lost = []
            for entity_id in acknowledged:
                got = await http.get(f"{broker.url}{API}/entities/{entity_id}")
                if got.status_code != 200:
                    lost.append(f"{entity_id}: {got.status_code}")
            assert not lost, f"{len(lost)} of {len(acknowledged)} acknowledged writes lost: {lost[:5]}"
            # Regression: a pooled connection left mid-operation by the restart ("cannot switch to
            # state 15; another operation is in progress") once gave 500 instead of 503.
            assert not internal, f"{len(internal)} answers were 500, not 503: {internal[:2]}"
    finally:
        broker.stop()
        ensure_postgres_running()
        assert postgres_answers()
