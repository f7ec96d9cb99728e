# SPDX-License-Identifier: EUPL-1.2
"""One contract for every notifier (http, mqtt): deliver to a real endpoint, or raise DeliveryFailed."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from broker.subscriptions.notifiers import (
    NOTIFIERS,
    DeliveryFailed,
    HttpNotifier,
    MqttNotifier,
    Outgoing,
    link_header,
)
from tests.broker.subscriptions.fixtures import MqttListener, Receiver
from tests.conftest import free_port

NOTIFICATION = {"id": "urn:ngsi-ld:Notification:1", "type": "Notification", "subscriptionId": "urn:s:1", "data": []}
LINK = link_header("https://example.org/context.jsonld")

# For each kind: where to send, and how to read what arrived as (headers or metadata, body).
Endpoint = tuple[str, Callable[[], Awaitable[tuple[dict[str, str], Any]]]]


@pytest.fixture(params=["http", "mqtt"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def notifier(kind: str) -> AsyncIterator[HttpNotifier | MqttNotifier]:
    async with (HttpNotifier(timeout_s=2) if kind == "http" else MqttNotifier(timeout_s=2)) as opened:
        yield opened


@pytest.fixture
def endpoint(kind: str, request: pytest.FixtureRequest) -> Endpoint:
    if kind == "http":
        receiver: Receiver = request.getfixturevalue("receiver")

        async def http_arrived() -> tuple[dict[str, str], Any]:
            [item] = await receiver.wait_for(1)
            return item.headers, item.body

        return receiver.url(), http_arrived
    listener: MqttListener = request.getfixturevalue("mqtt_listener")
    topic = listener.topic("contract")

    async def mqtt_arrived() -> tuple[dict[str, str], Any]:
        [message] = await listener.wait_for(1, topic)
        return message["metadata"], message["body"]

    return f"mqtt://127.0.0.1:1883/{topic}", mqtt_arrived


async def test_a_notifier_delivers_the_notification_with_its_context_and_receiver_info(
    notifier: HttpNotifier | MqttNotifier, endpoint: Endpoint
) -> None:
    uri, arrived = endpoint
    await notifier.send(
        Outgoing(
            uri=uri,
            notification=NOTIFICATION,
            content_type="application/json",
            link=LINK,
            tenant="",
            timeout_s=2,
            receiver_info=(("X-Hamm", "1"),),
            notifier_info=(("MQTT-QoS", "1"),),
        )
    )
    headers, body = await arrived()
    assert body == NOTIFICATION
    assert headers["Content-Type"] == "application/json"
    assert headers["Link"] == LINK
    assert headers["X-Hamm"] == "1"


async def test_a_notifier_raises_delivery_failed_when_nobody_listens(notifier: HttpNotifier | MqttNotifier, kind: str) -> None:
    uri = f"{kind}://127.0.0.1:{free_port()}/notify"
    with pytest.raises(DeliveryFailed):
        await notifier.send(
            Outgoing(uri=uri, notification=NOTIFICATION, content_type="application/json", link=LINK, tenant="", timeout_s=1)
        )


def test_every_scheme_has_a_notifier() -> None:
    assert set(NOTIFIERS) == {"http", "https", "mqtt", "mqtts"}
    assert NOTIFIERS["http"] is NOTIFIERS["https"] and NOTIFIERS["mqtt"] is NOTIFIERS["mqtts"]
