# SPDX-License-Identifier: EUPL-1.2
"""Delivery under trouble: an endpoint that is down, slow, or answers 500; a full queue; order under
concurrent writes; throttling. Writes never wait for any of it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.broker.subscriptions.fixtures import (
    Receiver,
    eventually,
    fast_settings,
    room,
    running_broker,
    subscription,
)
from tests.broker.subscriptions.test_notifications import (
    ENTITIES,
    SUBSCRIPTIONS,
    create,
    subscribe,
)
from tests.conftest import free_port


async def state_of(client: httpx.AsyncClient, subscription_id: str) -> dict[str, Any]:
    response = await client.get(f"{SUBSCRIPTIONS}/{subscription_id}")
    assert response.status_code == 200, response.text
    return response.json()["notification"]  # type: ignore[no-any-return]


async def test_an_endpoint_that_is_down_is_retried_then_recorded_as_failed(
    client: httpx.AsyncClient, receiver: Receiver, unique_id: Callable[[str], str]
) -> None:
    dead = f"http://127.0.0.1:{free_port()}/notify"
    down_id = await subscribe(client, subscription(dead))
    up_id = await subscribe(client, subscription(receiver.url()))
    response = await client.post(ENTITIES, json=room(unique_id("Room")))
    assert response.status_code == 201  # the write does not wait for either endpoint
    await receiver.wait_for(1)

    async def failed() -> bool:
        return bool((await state_of(client, down_id))["status"] == "failed")

    await eventually(failed, "the dead endpoint's subscription reports status failed")
    state = await state_of(client, down_id)
    assert state["timesFailed"] == 1 and state["timesSent"] == 1
    assert "lastSuccess" not in state and state["lastFailure"] == state["lastNotification"]
    assert "cannot connect" in state["lastFailureReason"]
    up = await state_of(client, up_id)
    assert up["status"] == "ok" and up["timesSent"] == 1 and up["timesFailed"] == 0 and "lastSuccess" in up


async def test_the_delivery_state_shows_the_instant_the_notification_carries(
    client: httpx.AsyncClient, receiver: Receiver, unique_id: Callable[[str], str]
) -> None:
    # lastNotification and lastSuccess (clause 5.2.12) are the notifiedAt of the notification sent, so a
    # receiver can tell which notification the subscription's state speaks of.
    subscription_id = await subscribe(client, subscription(receiver.url()))
    await create(client, room(unique_id("Room")))
    [notification] = await receiver.wait_for(1)

    async def recorded() -> bool:
        return "lastSuccess" in await state_of(client, subscription_id)

    await eventually(recorded, "the delivery is recorded")
    state = await state_of(client, subscription_id)
    assert state["lastNotification"] == state["lastSuccess"] == notification.body["notifiedAt"]


async def test_a_slow_endpoint_delays_neither_writes_nor_other_subscriptions(
    client: httpx.AsyncClient, receiver: Receiver, unique_id: Callable[[str], str]
) -> None:
    gate = receiver.hold("slow")
    await subscribe(client, subscription(receiver.url("slow")))
    await subscribe(client, subscription(receiver.url("fast")))
    for value in (1, 2, 3):
        response = await client.post(ENTITIES, json=room(unique_id("Room"), value))
        assert response.status_code == 201
    await receiver.wait_for(3, "fast")

    async def slow_started() -> bool:
        return receiver.behaviours["slow"].started >= 1

    await eventually(slow_started, "the slow endpoint receives its first request")
    assert receiver.on("slow") == []
    gate.set()
    slow = await receiver.wait_for(3, "slow")
    assert sorted(item.data[0]["temperature"]["value"] for item in slow) == [1, 2, 3]


async def test_an_endpoint_answering_500_gets_the_same_notification_again(
    client: httpx.AsyncClient, receiver: Receiver, unique_id: Callable[[str], str]
) -> None:
    receiver.answer("flaky", 500, 503)
    subscription_id = await subscribe(client, subscription(receiver.url("flaky")))
    await create(client, room(unique_id("Room")))
    attempts = await receiver.wait_for(3, "flaky")
    assert len({attempt.body["id"] for attempt in attempts}) == 1

    async def delivered() -> bool:
        return bool((await state_of(client, subscription_id))["timesSent"] == 1)

    await eventually(delivered, "the third attempt is recorded as sent")
    state = await state_of(client, subscription_id)
    assert state["status"] == "ok" and state["timesFailed"] == 0


async def test_an_endpoint_that_keeps_failing_is_recorded_and_recovers(
    client: httpx.AsyncClient, receiver: Receiver, unique_id: Callable[[str], str]
) -> None:
    receiver.answer("broken", 500, 500, 500)  # notification_retries=2: three attempts, all refused
    subscription_id = await subscribe(client, subscription(receiver.url("broken")))
    entity_id = unique_id("Room")
    await create(client, room(entity_id))

    async def failed() -> bool:
        return bool((await state_of(client, subscription_id))["timesFailed"] == 1)

    await eventually(failed, "the notification is recorded as failed")
    state = await state_of(client, subscription_id)
    assert state["status"] == "failed" and "HTTP 500" in state["lastFailureReason"]
    await client.patch(f"{ENTITIES}/{entity_id}/attrs/temperature", json={"value": 30})
    received = await receiver.wait_for(4, "broken")
    assert received[-1].data[0]["temperature"]["value"] == 30

    async def recovered() -> bool:
        return bool((await state_of(client, subscription_id))["status"] == "ok")

    await eventually(recovered, "a later success sets status ok again")


async def test_a_full_queue_drops_counts_and_reports(
    tmp_path: Path, receiver: Receiver, unique_id: Callable[[str], str]
) -> None:
    async with running_broker(fast_settings(tmp_path, notification_queue_size=2, notification_concurrency=1)) as client:
        gate = receiver.hold("stuck")
        subscription_id = await subscribe(client, subscription(receiver.url("stuck")))
        for value in range(6):
            assert (await client.post(ENTITIES, json=room(unique_id("Room"), value))).status_code == 201
        state = await state_of(client, subscription_id)
        assert state["timesFailed"] == 4 and state["status"] == "failed"
        assert "notification_queue_size" in state["lastFailureReason"]
        metrics = (await client.get("/metrics")).text
        assert 'citycontext_notifications_dropped_total{kind="http"} 4.0' in metrics
        gate.set()
        delivered = await receiver.wait_for(2, "stuck")
        assert [item.data[0]["temperature"]["value"] for item in delivered] == [0, 1]


async def test_notifications_of_one_entity_arrive_in_the_order_of_concurrent_writes(
    client: httpx.AsyncClient, receiver: Receiver, unique_id: Callable[[str], str]
) -> None:
    entity_id = unique_id("Room")
    await create(client, room(entity_id, 0))
    await subscribe(
        client, subscription(receiver.url(), notificationTrigger=["attributeUpdated"], notification={"showChanges": True})
    )
    count = 40

    async def write(value: int) -> None:
        response = await client.patch(f"{ENTITIES}/{entity_id}/attrs/temperature", json={"value": value})
        assert response.status_code == 204

    await asyncio.gather(*(write(value) for value in range(1, count + 1)))
    received = await receiver.wait_for(count)
    values = [item.data[0]["temperature"]["value"] for item in received]
    previous = [item.data[0]["temperature"]["previousValue"] for item in received]
    # each notification continues where the one before left off: none is lost, none overtakes
    assert previous == [0, *values[:-1]]
    assert sorted(values) == list(range(1, count + 1))
    stored = (await client.get(f"{ENTITIES}/{entity_id}")).json()
    assert stored["temperature"]["value"] == values[-1]


async def test_interleaved_writes_to_several_entities_keep_each_entitys_order(
    client: httpx.AsyncClient, receiver: Receiver, unique_id: Callable[[str], str]
) -> None:
    ids = [unique_id("Room") for _ in range(4)]
    for entity_id in ids:
        await create(client, room(entity_id, 0))
    await subscribe(client, subscription(receiver.url(), notificationTrigger=["attributeUpdated"]))

    async def writes(entity_id: str) -> None:
        for value in range(1, 11):
            await client.patch(f"{ENTITIES}/{entity_id}/attrs/temperature", json={"value": value})

    await asyncio.gather(*(writes(entity_id) for entity_id in ids))
    received = await receiver.wait_for(40)
    for entity_id in ids:
        values = [item.data[0]["temperature"]["value"] for item in received if item.data[0]["id"] == entity_id]
        assert values == list(range(1, 11))


async def test_throttling_holds_back_and_then_sends_the_latest_state(
    client: httpx.AsyncClient, receiver: Receiver, unique_id: Callable[[str], str]
) -> None:
    entity_id = unique_id("Room")
    await create(client, room(entity_id, 0))
    await subscribe(
        client,
        # throttling 3 s: the three writes fall in one period even on a slow machine
        subscription(receiver.url(), throttling=3, notificationTrigger=["attributeUpdated"], notification={"showChanges": True}),
    )
    for value in (1, 2, 3):
        await client.patch(f"{ENTITIES}/{entity_id}/attrs/temperature", json={"value": value})
    first, second = await receiver.wait_for(2, timeout_s=10)
    assert first.data[0]["temperature"] == {"type": "Property", "value": 1, "previousValue": 0}
    # what came within the throttling period: one notification, from before the first change held back to the last
    assert second.data[0]["temperature"] == {"type": "Property", "value": 3, "previousValue": 1}


@pytest.mark.parametrize("retries", [0])
async def test_no_retries_means_one_attempt(
    tmp_path: Path, receiver: Receiver, unique_id: Callable[[str], str], retries: int
) -> None:
    async with running_broker(fast_settings(tmp_path, notification_retries=retries)) as client:
        receiver.answer("once", 500)
        subscription_id = await subscribe(client, subscription(receiver.url("once")))
        await create(client, room(unique_id("Room")))

        async def failed() -> bool:
            return bool((await state_of(client, subscription_id))["timesFailed"] == 1)

        await eventually(failed, "the single failed attempt is recorded")
        assert len(receiver.on("once")) == 1
