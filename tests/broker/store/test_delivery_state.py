# SPDX-License-Identifier: EUPL-1.2
"""Subscriptions' delivery state and periodic claims, on every store, and from two store instances
sharing one database (as two broker processes do): no increment is lost, one claim wins."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]

from broker.store.base import DeliveryDelta, Store
from broker.store.postgres import PostgresStore
from broker.store.sqlite import SqliteStore
from broker.subscriptions.state import DeliveryStates
from tests.broker.store.old_schemas import postgres_at_version, sqlite_at_version
from tests.broker.store.test_contract import reopen

__all__ = ["reopen"]  # a fixture used here (`store` comes from conftest.py)

T0 = "2026-11-26T12:00:00.000Z"
T1 = "2026-11-26T12:00:01.000Z"
T2 = "2026-11-26T12:00:02.000Z"


async def test_delivery_state_adds_counts_and_keeps_the_latest_instants(store: Store) -> None:
    assert await store.delivery_state("", "urn:s:1") == {}
    await store.add_delivery_state("", "urn:s:1", DeliveryDelta(sent=2, last_notification=T1, last_success=T1))
    await store.add_delivery_state(
        "", "urn:s:1", DeliveryDelta(sent=1, failed=1, last_notification=T0, last_failure=T2, last_failure_reason="500")
    )
    await store.add_delivery_state("", "urn:s:1", DeliveryDelta(failed=1, last_failure=T0, last_failure_reason="old"))
    assert await store.delivery_state("", "urn:s:1") == {
        "timesSent": 3,
        "timesFailed": 2,
        "lastNotification": T1,
        "lastSuccess": T1,
        "lastFailure": T2,
        "lastFailureReason": "500",
    }
    await store.add_delivery_state("stadtwerke", "urn:s:1", DeliveryDelta(sent=5))
    assert await store.delivery_states("stadtwerke") == {"urn:s:1": {"timesSent": 5, "timesFailed": 0}}
    await store.delete_delivery_state("", "urn:s:1")
    await store.delete_delivery_state("", "urn:s:1")  # twice: nothing to delete is fine
    assert await store.delivery_states("") == {}


async def test_a_periodic_notification_is_claimed_once_per_due_time(store: Store) -> None:
    assert await store.claim_periodic("", "urn:s:p", "v1", 100.0, 110.0) == (True, 110.0)
    assert await store.claim_periodic("", "urn:s:p", "v1", 100.5, 110.5) == (False, 110.0)
    assert await store.claim_periodic("", "urn:s:p", "v1", 110.0, 120.0) == (True, 120.0)
    assert await store.claim_periodic("", "urn:s:p", "v0", 200.0, 210.0) == (False, 120.0)  # an older version
    assert await store.claim_periodic("", "urn:s:p", "v2", 111.0, 121.0) == (True, 121.0)  # the subscription changed
    await store.add_delivery_state("", "urn:s:p", DeliveryDelta(sent=1))
    assert (await store.delivery_state("", "urn:s:p"))["timesSent"] == 1  # the claim and the state share a row


async def test_two_store_instances_on_one_database_lose_no_increment(reopen: Callable[[], Store]) -> None:
    async with reopen() as first, reopen() as second:

        async def add(target: Store, n: int) -> None:
            for _ in range(n):
                await target.add_delivery_state("", "urn:s:busy", DeliveryDelta(sent=1, failed=1, last_failure=T0, last_failure_reason="x"))

        await asyncio.gather(add(first, 40), add(second, 40), add(first, 40), add(second, 40))
        state = await first.delivery_state("", "urn:s:busy")
        assert state["timesSent"] == 160 and state["timesFailed"] == 160


async def test_two_store_instances_on_one_database_win_each_periodic_claim_once(reopen: Callable[[], Store]) -> None:
    async with reopen() as first, reopen() as second:
        for round_number in range(20):
            now = 1000.0 + 10 * round_number
            results = await asyncio.gather(
                first.claim_periodic("", "urn:s:p", "v1", now, now + 10),
                second.claim_periodic("", "urn:s:p", "v1", now, now + 10),
                first.claim_periodic("", "urn:s:p", "v1", now, now + 10),
                second.claim_periodic("", "urn:s:p", "v1", now, now + 10),
            )
            assert sum(won for won, _ in results) == 1, results
            assert {next_due for _, next_due in results} == {now + 10}


OLD_STATE = {"id": "urn:s:old", "timesSent": 7, "timesFailed": 2, "lastSuccess": T1, "lastFailure": T0, "lastFailureReason": "500"}
MOVED_STATE = {key: value for key, value in OLD_STATE.items() if key != "id"}


async def test_sqlite_delivery_state_kept_as_documents_moves_into_its_table(tmp_path: Path) -> None:
    path = tmp_path / "version-4.db"
    conn = sqlite3.connect(path)
    sqlite_at_version(conn, 4)  # the schema before delivery state had its table
    conn.execute("INSERT INTO documents VALUES ('subscriptionStatus', '', 'urn:s:old', ?)", (json.dumps(OLD_STATE),))
    conn.commit()
    conn.close()
    async with SqliteStore(str(path)) as store:
        assert await store.delivery_state("", "urn:s:old") == MOVED_STATE
        assert await store.retrieve_document("subscriptionStatus", "", "urn:s:old") is None


async def test_postgres_delivery_state_kept_as_documents_moves_into_its_table(
    fresh_database: Callable[[], Awaitable[str]],
) -> None:
    dsn = await fresh_database()
    conn = await asyncpg.connect(dsn)
    try:
        await postgres_at_version(conn, 2)  # the schema before delivery state had its table
        await conn.execute(
            "INSERT INTO documents VALUES ('subscriptionStatus', '', 'urn:s:old', $1::jsonb)", json.dumps(OLD_STATE)
        )
    finally:
        await conn.close()
    async with PostgresStore(dsn, pool_size=1) as store:
        assert await store.delivery_state("", "urn:s:old") == MOVED_STATE
        assert await store.retrieve_document("subscriptionStatus", "", "urn:s:old") is None


async def test_a_failure_in_the_same_millisecond_shows_its_reason_before_and_after_the_flush(store: Store) -> None:
    # The state a client reads (GET /subscriptions/{id}) is the stored one plus what is not flushed yet;
    # both keep the newer failure's reason when two failures share an instant.
    states = DeliveryStates(store)
    states.failed("", "urn:s:f", T1, "connection refused")
    await states.flush()
    states.failed("", "urn:s:f", T1, "HTTP 503")
    unflushed = await states.read("", "urn:s:f")
    await states.flush()
    assert unflushed == await states.read("", "urn:s:f")
    assert unflushed["lastFailureReason"] == "HTTP 503" and unflushed["timesFailed"] == 2
