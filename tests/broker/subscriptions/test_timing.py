# SPDX-License-Identifier: EUPL-1.2
"""timeInterval (periodic notification), expiresAt, isActive: when notifications are (not) sent."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx

from tests.broker.subscriptions.fixtures import Receiver, eventually, room, subscription
from tests.broker.subscriptions.test_notifications import (
    ENTITIES,
    SUBSCRIPTIONS,
    create,
    subscribe,
)


def in_seconds(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def test_time_interval_sends_the_matching_entities_periodically(
    client: httpx.AsyncClient, receiver: Receiver, unique_id: Callable[[str], str]
) -> None:
    warm, cold = unique_id("Room"), unique_id("Room")
    await create(client, room(warm, 24))
    await create(client, room(cold, 12))
    subscription_id = await subscribe(client, subscription(receiver.url(), timeInterval=1, q="temperature>20"))
    got = (await client.get(f"{SUBSCRIPTIONS}/{subscription_id}")).json()
    assert got["timeInterval"] == 1 and "notificationTrigger" not in got
    assert got["notification"]["timesSent"] == 0  # nothing is sent because a subscription was created
    first, second = await receiver.wait_for(2)
    for notification in (first, second):
        assert notification.data == [{"id": warm, "type": "Room", "temperature": {"type": "Property", "value": 24}}]
    assert first.body["id"] != second.body["id"]
    # changes do not notify a periodic subscription; the next period shows the new state
    await client.patch(f"{ENTITIES}/{cold}/attrs/temperature", json={"value": 22})

    async def both_shown() -> bool:  # a period may begin before the PATCH commits; a later one shows it
        return any(sorted(item["id"] for item in n.data) == sorted([warm, cold]) for n in receiver.on())

    await eventually(both_shown, "a later period shows both rooms")


async def test_expires_at_moves_the_status_to_expired_and_stops_notifications(
    client: httpx.AsyncClient, receiver: Receiver, unique_id: Callable[[str], str]
) -> None:
    expiring = await subscribe(client, subscription(receiver.url("expiring"), expiresAt=in_seconds(3)))
    await subscribe(client, subscription(receiver.url("sentinel")))
    assert (await client.get(f"{SUBSCRIPTIONS}/{expiring}")).json()["status"] == "active"

    async def expired() -> bool:
        return bool((await client.get(f"{SUBSCRIPTIONS}/{expiring}")).json()["status"] == "expired")

    await eventually(expired, "the subscription expires", timeout_s=10)
    await create(client, room(unique_id("Room")))
    await receiver.wait_for(1, "sentinel")
    assert receiver.on("expiring") == []
    # a later expiresAt brings it back
    assert (await client.patch(f"{SUBSCRIPTIONS}/{expiring}", json={"expiresAt": in_seconds(3600)})).status_code == 204
    assert (await client.get(f"{SUBSCRIPTIONS}/{expiring}")).json()["status"] == "active"
    await create(client, room(unique_id("Room")))
    await receiver.wait_for(1, "expiring")


async def test_a_paused_subscription_notifies_nothing_until_it_is_active_again(
    client: httpx.AsyncClient, receiver: Receiver, unique_id: Callable[[str], str]
) -> None:
    paused = await subscribe(client, subscription(receiver.url("paused"), isActive=False))
    await subscribe(client, subscription(receiver.url("sentinel")))
    assert (await client.get(f"{SUBSCRIPTIONS}/{paused}")).json()["status"] == "paused"
    await create(client, room(unique_id("Room"), 1))
    await receiver.wait_for(1, "sentinel")
    assert receiver.on("paused") == []
    assert (await client.patch(f"{SUBSCRIPTIONS}/{paused}", json={"isActive": True})).status_code == 204
    await create(client, room(unique_id("Room"), 2))
    [notification] = await receiver.wait_for(1, "paused")
    assert notification.data[0]["temperature"]["value"] == 2
