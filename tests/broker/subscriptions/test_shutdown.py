# SPDX-License-Identifier: EUPL-1.2
"""Stopping the broker: queued notifications are still delivered within notification_shutdown_grace_s,
and those it cannot deliver in time are recorded as failures of their subscription, not lost."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import httpx

from broker.settings import Settings
from tests.broker.subscriptions.fixtures import Receiver, eventually, fast_settings, room, running_broker, subscription
from tests.broker.subscriptions.test_delivery import state_of
from tests.broker.subscriptions.test_notifications import ENTITIES, subscribe


class StoppableBroker:
    """A broker app run in a task of its own, so that the test can stop it while notifications wait."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._stop = asyncio.Event()
        self._ready: asyncio.Future[httpx.AsyncClient] = asyncio.get_running_loop().create_future()
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        async with running_broker(self.settings) as client:
            self._ready.set_result(client)
            await self._stop.wait()

    async def client(self) -> httpx.AsyncClient:
        return await self._ready

    def begin_stop(self) -> asyncio.Task[None]:
        self._stop.set()
        return self._task


async def queue_three_behind_a_held_one(
    broker: StoppableBroker, receiver: Receiver, unique_id: Callable[[str], str]
) -> str:
    """One endpoint, one lane: the first notification is held by the receiver, two more wait behind it."""
    client = await broker.client()
    receiver.hold("held")
    subscription_id = await subscribe(client, subscription(receiver.url("held")))
    for value in (1, 2, 3):
        assert (await client.post(ENTITIES, json=room(unique_id("Room"), value))).status_code == 201

    async def first_arrived() -> bool:
        return receiver.behaviours["held"].started == 1

    await eventually(first_arrived, "the receiver holds the first notification")
    return subscription_id


async def test_notifications_queued_at_shutdown_are_delivered_within_the_grace_period(
    tmp_path: Path, receiver: Receiver, unique_id: Callable[[str], str]
) -> None:
    settings = fast_settings(tmp_path, notification_concurrency=1, notification_shutdown_grace_s=30.0)
    broker = StoppableBroker(settings)
    await queue_three_behind_a_held_one(broker, receiver, unique_id)
    stopping = broker.begin_stop()
    # Let the shutdown reach the drain before the receiver answers (were it slower, the test only
    # checks less: the notifications must arrive either way).
    await asyncio.sleep(0.2)
    assert not stopping.done()
    receiver.behaviours["held"].gate.set()  # type: ignore[union-attr]
    await stopping
    assert [item.data[0]["temperature"]["value"] for item in receiver.on("held")] == [1, 2, 3]


async def test_notifications_not_delivered_by_the_end_of_the_grace_period_are_recorded_as_failed(
    tmp_path: Path, receiver: Receiver, unique_id: Callable[[str], str]
) -> None:
    settings = fast_settings(tmp_path, notification_concurrency=1, notification_shutdown_grace_s=0.2)
    broker = StoppableBroker(settings)
    subscription_id = await queue_three_behind_a_held_one(broker, receiver, unique_id)
    await broker.begin_stop()  # the receiver never answers: the grace period runs out
    async with running_broker(settings) as client:  # the next start of the broker, on the same store
        state = await state_of(client, subscription_id)
    assert state["status"] == "failed"
    assert state["timesFailed"] == 3 and state["timesSent"] == 0
    assert "shut down" in state["lastFailureReason"] and "notification_shutdown_grace_s" in state["lastFailureReason"]
    assert "lastSuccess" not in state and "lastFailure" in state


async def test_a_throttled_notification_due_within_the_grace_period_is_sent_at_shutdown(
    tmp_path: Path, receiver: Receiver, unique_id: Callable[[str], str]
) -> None:
    settings = fast_settings(tmp_path, notification_shutdown_grace_s=30.0)
    broker = StoppableBroker(settings)
    client = await broker.client()
    await subscribe(client, subscription(receiver.url("throttled"), throttling=1))
    entity_id = unique_id("Room")
    assert (await client.post(ENTITIES, json=room(entity_id, 1))).status_code == 201
    await receiver.wait_for(1, "throttled")
    # Within the throttling period: held back, to be sent when the period is over.
    patched = await client.patch(f"{ENTITIES}/{entity_id}/attrs/temperature", json={"type": "Property", "value": 2})
    assert patched.status_code == 204
    await broker.begin_stop()
    held = receiver.on("throttled")
    assert len(held) == 2 and held[1].data[0]["temperature"]["value"] == 2
