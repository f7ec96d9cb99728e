# SPDX-License-Identifier: EUPL-1.2
"""Two brokers on one store (SQLite file, PostgreSQL database), as two broker processes run: each
periodic notification is sent once, by one of them."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path

import pytest

from broker.settings import Settings
from tests.broker.subscriptions.fixtures import Receiver, eventually, fast_settings, room, running_broker, subscription
from tests.broker.subscriptions.test_notifications import ENTITIES, SUBSCRIPTIONS, subscribe


@pytest.fixture(params=["sqlite", "postgres"])
def shared_store(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Settings, Callable[[], Awaitable[None]] | None]:
    """Settings on a store the brokers share, and how to empty it once they have opened it (PostgreSQL)."""
    if request.param == "postgres":
        dsn: str = request.getfixturevalue("postgres_dsn")
        return fast_settings(tmp_path, store=dsn, postgres_pool_size=2), request.getfixturevalue("reset_postgres")
    return fast_settings(tmp_path), None


async def test_a_periodic_notification_is_sent_by_one_of_two_brokers(
    shared_store: tuple[Settings, Callable[[], Awaitable[None]] | None], receiver: Receiver, unique_id: Callable[[str], str]
) -> None:
    settings, reset = shared_store
    async with running_broker(settings, "http://a") as broker_a, running_broker(settings, "http://b") as broker_b:
        if reset is not None:
            await reset()
        assert (await broker_b.post(ENTITIES, json=room(unique_id("Room")))).status_code == 201
        await subscribe(broker_a, subscription(receiver.url("periodic"), timeInterval=1))
        # b reads the subscription from the store within subscription_refresh_s (0.3 s); from then on
        # both brokers schedule it, and without the claim in the store every period came twice.
        received = await receiver.wait_for(5, "periodic", timeout_s=15)
    instants = sorted(datetime.fromisoformat(item.body["notifiedAt"]).timestamp() for item in received)
    gaps = [later - earlier for earlier, later in zip(instants, instants[1:], strict=False)]
    # One per timeInterval (1 s): sent twice, every period would give a gap near 0. A period sent late (a
    # busy machine) followed by one on time gives one short gap, never two.
    assert sum(1 for gap in gaps if gap < 0.5) <= 1, f"two notifications of one period: {gaps}"


async def test_a_subscription_changed_twice_in_one_millisecond_reaches_the_other_broker(
    shared_store: tuple[Settings, Callable[[], Awaitable[None]] | None],
    receiver: Receiver,
    unique_id: Callable[[str], str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The brokers tell a new version of a subscription by its modifiedAt; with the clock standing still,
    # the PATCH must still give the subscription a modifiedAt of its own, or b keeps the first version.
    monkeypatch.setattr("broker.subscriptions.model.now_iso", lambda: "2026-12-07T12:00:00.000Z")
    settings, reset = shared_store
    async with running_broker(settings, "http://a") as broker_a, running_broker(settings, "http://b") as broker_b:
        if reset is not None:
            await reset()
        subscription_id = await subscribe(broker_a, subscription(receiver.url(), q="temperature>30"))
        def b_writes_until_notified(temperature: float) -> Callable[[], Awaitable[bool]]:
            async def check() -> bool:  # b writes a room of that temperature until one is notified
                if any(item.data[0]["temperature"]["value"] == temperature for item in receiver.on()):
                    return True
                assert (await broker_b.post(ENTITIES, json=room(unique_id("Room"), temperature))).status_code == 201
                await asyncio.sleep(0.1)
                return False

            return check

        await eventually(b_writes_until_notified(35), "b knows the first version (temperature>30)")
        patched = await broker_a.patch(f"{SUBSCRIPTIONS}/{subscription_id}", json={"q": "temperature>10"})
        assert patched.status_code == 204
        await eventually(b_writes_until_notified(15), "b knows the second version (temperature>10)", timeout_s=10)
