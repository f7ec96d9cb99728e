# SPDX-License-Identifier: EUPL-1.2
"""MQTT southbound with paho-mqtt: QoS 1 subscriptions, a persistent session, manual acknowledgement.

FIWARE's agents subscribe with QoS 0 and acknowledge on receipt, so an agent crash or a broker outage
loses measurements. Here the subscription is QoS 1 on a persistent session (clean_session=False, a
stable client id), and a PUBACK is sent only after the message's updates are committed to the durable
queue (or it was rejected for good): whatever the MQTT broker considers delivered is on disk, and
whatever is not is redelivered, with the DUP flag, after a restart.

paho's network loop runs in its own thread; on_message hands each message to the event loop with
call_soon_threadsafe (FIFO, so order is kept); one consumer task takes what has arrived, lets the
agent handle it as a group (one commit), then acknowledges the group in order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from agents.common.metrics import AgentMetrics
from agents.common.settings import MqttSettings

log = logging.getLogger("citycontext.agents.mqtt")

MAX_GROUP = 500


@dataclass(frozen=True, slots=True)
class MqttMessage:
    topic: str
    payload: bytes
    qos: int
    mid: int
    dup: bool


Handler = Callable[[Sequence[MqttMessage]], Awaitable[None]]


class MqttSouthbound:
    def __init__(self, settings: MqttSettings, topics: Sequence[str], handler: Handler, metrics: AgentMetrics) -> None:
        self._settings = settings
        self._topics = list(topics)
        self._handler = handler
        self._metrics = metrics
        self._inbox: asyncio.Queue[MqttMessage] = asyncio.Queue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._consumer: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=settings.client_id,
            clean_session=settings.clean_session,
            protocol=mqtt.MQTTv311,
            manual_ack=True,
        )
        if settings.username:
            self._client.username_pw_set(settings.username, settings.password)
        self._client.reconnect_delay_set(min_delay=1, max_delay=10)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message

    async def start(self, connect_timeout_s: float = 10.0) -> None:
        self._loop = asyncio.get_running_loop()
        self._consumer = asyncio.create_task(self._consume(), name="mqtt-consumer")
        self._client.connect_async(self._settings.host, self._settings.port, keepalive=self._settings.keepalive_s)
        self._client.loop_start()
        try:
            await asyncio.wait_for(self._connected.wait(), connect_timeout_s)
        except TimeoutError:
            # Not fatal: paho keeps reconnecting, and /health says "mqtt": "disconnected" meanwhile.
            log.warning("MQTT broker %s:%s not reachable yet; retrying", self._settings.host, self._settings.port)

    async def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
        if self._consumer is not None:
            self._consumer.cancel()
            try:
                await self._consumer
            except asyncio.CancelledError:
                pass

    # -- paho callbacks (its network thread) ------------------------------------------------------

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
        if reason_code.is_failure:
            log.error("MQTT connection refused: %s", reason_code)
            return
        if self._topics:
            client.subscribe([(topic, self._settings.qos) for topic in self._topics])
        log.info("MQTT connected to %s:%s, subscribed to %s", self._settings.host, self._settings.port, self._topics)
        self._call(self._set_connected, True)

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
        self._call(self._set_connected, False)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        self._call(
            self._inbox.put_nowait,
            MqttMessage(message.topic, bytes(message.payload), message.qos, message.mid, bool(message.dup)),
        )

    def _call(self, function: Callable[..., Any], *args: Any) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(function, *args)

    # -- the event loop -----------------------------------------------------------------------------

    def _set_connected(self, connected: bool) -> None:
        self._metrics.set_mqtt_connected(connected)
        if connected:
            self._connected.set()
        else:
            self._connected.clear()

    async def _consume(self) -> None:
        while True:
            group = [await self._inbox.get()]
            while len(group) < MAX_GROUP and not self._inbox.empty():
                group.append(self._inbox.get_nowait())
            try:
                await self._handler(group)
            except Exception:
                # The queue could not be written (disk full?): do not acknowledge; the MQTT broker
                # redelivers after reconnecting, so force one.
                log.exception("could not queue %d MQTT message(s); not acknowledged, reconnecting", len(group))
                self._client.reconnect()
                continue
            for message in group:
                if message.qos > 0:
                    self._client.ack(message.mid, message.qos)
