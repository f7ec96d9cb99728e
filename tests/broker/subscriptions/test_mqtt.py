# SPDX-License-Identifier: EUPL-1.2
"""Notifications over MQTT to the real Mosquitto on 127.0.0.1:1883 (a unique topic per test)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.broker.subscriptions.fixtures import (
    MqttListener,
    Receiver,
    eventually,
    room,
    subscription,
)
from tests.broker.subscriptions.test_delivery import state_of
from tests.broker.subscriptions.test_notifications import (
    CORE_LINK,
    ENTITIES,
    create,
    subscribe,
)
from tests.conftest import free_port


def mqtt_endpoint(topic: str, *, version: str = "mqtt5.0", qos: str = "1", **extra: Any) -> dict[str, Any]:
    return {
        "uri": f"mqtt://127.0.0.1:1883/{topic}",
        "notifierInfo": [{"key": "MQTT-Version", "value": version}, {"key": "MQTT-QoS", "value": qos}],
        **extra,
    }


@pytest.mark.parametrize(("version", "qos"), [("mqtt5.0", "1"), ("mqtt3.1.1", "1"), ("mqtt5.0", "0"), ("mqtt3.1.1", "2")])
async def test_mqtt_notification_is_the_metadata_and_body_envelope(
    client: httpx.AsyncClient, mqtt_listener: MqttListener, unique_id: Callable[[str], str], version: str, qos: str
) -> None:
    topic = mqtt_listener.topic("rooms")
    endpoint = mqtt_endpoint(topic, version=version, qos=qos, receiverInfo=[{"key": "app", "value": "hamm-app"}])
    subscription_id = await subscribe(client, subscription(endpoint["uri"], notification={"endpoint": endpoint}))
    entity_id = unique_id("Room")
    await create(client, room(entity_id, 19))
    [message] = await mqtt_listener.wait_for(1, topic)
    assert message["metadata"] == {"Content-Type": "application/json", "Link": CORE_LINK, "app": "hamm-app"}
    body = message["body"]
    assert body["type"] == "Notification" and body["subscriptionId"] == subscription_id
    assert body["data"] == [{"id": entity_id, "type": "Room", "temperature": {"type": "Property", "value": 19}}]

    async def recorded() -> bool:
        return "lastSuccess" in await state_of(client, subscription_id)

    await eventually(recorded, "the acknowledged publish is recorded as lastSuccess")
    state = await state_of(client, subscription_id)
    assert state["timesSent"] == 1 and state["status"] == "ok"


async def test_mqtt_ld_json_has_no_link_and_the_context_in_the_entities(
    client: httpx.AsyncClient, mqtt_listener: MqttListener, unique_id: Callable[[str], str]
) -> None:
    topic = mqtt_listener.topic("ld")
    endpoint = mqtt_endpoint(topic, accept="application/ld+json")
    await subscribe(client, subscription(endpoint["uri"], notification={"endpoint": endpoint}), **{"NGSILD-Tenant": "hamm"})
    await create(client, room(unique_id("Room")), **{"NGSILD-Tenant": "hamm"})
    [message] = await mqtt_listener.wait_for(1, topic)
    assert message["metadata"] == {"Content-Type": "application/ld+json", "NGSILD-Tenant": "hamm"}
    assert "@context" in message["body"]["data"][0]


async def test_mqtt_keeps_the_order_of_updates_and_shares_one_broker_connection(
    client: httpx.AsyncClient, mqtt_listener: MqttListener, unique_id: Callable[[str], str]
) -> None:
    entity_id = unique_id("Room")
    await create(client, room(entity_id, 0))
    topics = [mqtt_listener.topic("a"), mqtt_listener.topic("b")]
    for topic in topics:
        endpoint = mqtt_endpoint(topic)
        await subscribe(client, subscription(endpoint["uri"], notification={"endpoint": endpoint}))
    for value in range(1, 21):
        await client.patch(f"{ENTITIES}/{entity_id}/attrs/temperature", json={"value": value})
    for topic in topics:
        messages = await mqtt_listener.wait_for(20, topic)
        assert [m["body"]["data"][0]["temperature"]["value"] for m in messages] == list(range(1, 21))


async def test_an_mqtt_broker_that_is_down_is_recorded_as_failed(
    client: httpx.AsyncClient, receiver: Receiver, unique_id: Callable[[str], str]
) -> None:
    endpoint = {"uri": f"mqtt://127.0.0.1:{free_port()}/nobody"}
    subscription_id = await subscribe(client, subscription(endpoint["uri"], notification={"endpoint": endpoint}))
    await subscribe(client, subscription(receiver.url()))
    await create(client, room(unique_id("Room")))
    await receiver.wait_for(1)  # HTTP endpoints do not wait for the MQTT broker

    async def failed() -> bool:
        return bool((await state_of(client, subscription_id))["status"] == "failed")

    await eventually(failed, "the unreachable MQTT broker is recorded", timeout_s=15)
    assert "MQTT broker" in (await state_of(client, subscription_id))["lastFailureReason"]


async def test_credentials_in_the_uri_are_used_and_never_shown_in_failures(
    client: httpx.AsyncClient, mqtt_listener: MqttListener, unique_id: Callable[[str], str]
) -> None:
    topic = mqtt_listener.topic("auth")
    endpoint = {"uri": f"mqtt://hamm:s3cret@127.0.0.1:1883/{topic}"}
    await subscribe(client, subscription(endpoint["uri"], notification={"endpoint": endpoint}))
    await create(client, room(unique_id("Room")))
    await mqtt_listener.wait_for(1, topic)  # Mosquitto here allows anonymous clients; the login is accepted
