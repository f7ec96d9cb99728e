# SPDX-License-Identifier: EUPL-1.2
"""Real notification receivers for the tests: an aiohttp server on 127.0.0.1 and an MQTT
subscriber on the real Mosquitto (127.0.0.1:1883). Import the fixtures into a test module or a
conftest to use them. If Mosquitto is down, the MQTT tests fail and say so (scripts/services
starts it)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import paho.mqtt.client as mqtt
import pytest
from aiohttp import web
from paho.mqtt.enums import CallbackAPIVersion

from broker.api import create_app
from broker.settings import Settings
from tests.conftest import serving

MOSQUITTO_HOST = "127.0.0.1"
MOSQUITTO_PORT = 1883
WAIT_S = 5.0


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: Any

    @property
    def data(self) -> list[dict[str, Any]]:
        return self.body["data"]  # type: ignore[no-any-return]


@dataclass
class Behaviour:
    """How the receiver answers on one path: statuses to answer in turn (then 204), an optional gate."""

    statuses: list[int] = field(default_factory=list)
    gate: asyncio.Event | None = None
    started: int = 0


class Receiver:
    """A real HTTP server on 127.0.0.1 that records every notification POSTed to it."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.behaviours: dict[str, Behaviour] = {}
        self.base_url = ""
        self._arrived = asyncio.Event()

    def url(self, path: str = "notify") -> str:
        return f"{self.base_url}/{path}"

    def answer(self, path: str, *statuses: int) -> None:
        self.behaviours.setdefault(path, Behaviour()).statuses.extend(statuses)

    def hold(self, path: str) -> asyncio.Event:
        """Requests to `path` wait until the returned event is set (a slow endpoint)."""
        gate = asyncio.Event()
        self.behaviours.setdefault(path, Behaviour()).gate = gate
        return gate

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["path"]
        behaviour = self.behaviours.get(path)
        body = orjson.loads(await request.read())
        if behaviour is not None:
            behaviour.started += 1
            if behaviour.gate is not None:
                await behaviour.gate.wait()
        self.received.append(Received(path, dict(request.headers), body))
        self._arrived.set()
        if behaviour is not None and behaviour.statuses:
            return web.Response(status=behaviour.statuses.pop(0))
        return web.Response(status=204)

    def on(self, path: str = "notify") -> list[Received]:
        return [item for item in self.received if item.path == path]

    async def wait_for(self, count: int, path: str = "notify", timeout_s: float = WAIT_S) -> list[Received]:
        """The first `count` notifications on `path`, waiting up to timeout_s for them."""
        async def arrived() -> None:
            while len(self.on(path)) < count:
                self._arrived.clear()
                await self._arrived.wait()

        try:
            await asyncio.wait_for(arrived(), timeout_s)
        except TimeoutError:
            pytest.fail(f"expected {count} notifications on /{path} within {timeout_s} s, got {len(self.on(path))}")
        return self.on(path)[:count]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    server = Receiver()
    app = web.Application()
    app.router.add_post("/{path}", server.handle)
    # shutdown_timeout: a notification still held open ends the test quickly
    async with serving(app, shutdown_timeout=1.0) as server.base_url:
        try:
            yield server
        finally:
            for behaviour in server.behaviours.values():
                if behaviour.gate is not None:
                    behaviour.gate.set()


class MqttListener:
    """A real MQTT subscriber on Mosquitto, listening under a topic prefix unique to the test."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.messages: list[tuple[str, Any]] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"citycontext-test-{uuid.uuid4().hex[:12]}")
        self.client.on_connect = lambda client, *_: client.subscribe(f"{prefix}/#", qos=1)
        self.client.on_subscribe = lambda *_: self._subscribed.set()
        self.client.on_message = self._on_message

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append((message.topic, orjson.loads(message.payload)))

    def topic(self, name: str) -> str:
        return f"{self.prefix}/{name}"

    def on(self, topic: str) -> list[Any]:
        with self._lock:
            return [payload for message_topic, payload in self.messages if message_topic == topic]

    async def wait_for(self, count: int, topic: str, timeout_s: float = WAIT_S) -> list[Any]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while len(self.on(topic)) < count:
            if loop.time() > deadline:
                pytest.fail(f"expected {count} MQTT notifications on {topic} within {timeout_s} s, got {len(self.on(topic))}")
            await asyncio.sleep(0.02)
        return self.on(topic)[:count]


@pytest.fixture
async def mqtt_listener() -> AsyncIterator[MqttListener]:
    listener = MqttListener(f"citycontext-test/{uuid.uuid4().hex}")
    try:
        await asyncio.to_thread(listener.client.connect, MOSQUITTO_HOST, MOSQUITTO_PORT, 10)
    except OSError as exc:
        pytest.fail(
            f"Mosquitto is not reachable on {MOSQUITTO_HOST}:{MOSQUITTO_PORT} ({exc}); start it with scripts/services"
        )
    listener.client.loop_start()
    try:
        if not await asyncio.to_thread(listener._subscribed.wait, WAIT_S):
            pytest.fail(f"Mosquitto on {MOSQUITTO_HOST}:{MOSQUITTO_PORT} did not confirm the test's subscription")
        yield listener
    finally:
        listener.client.disconnect()
        await asyncio.to_thread(listener.client.loop_stop)


def fast_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Settings that keep retries, refreshes and flushes short, so the tests stay quick."""
    values: dict[str, Any] = {
        "store": f"sqlite:///{tmp_path}/broker.db",
        "notification_timeout_s": 2.0,
        "notification_retries": 2,
        "notification_retry_backoff_s": 0.05,
        "notification_state_flush_s": 0.2,
        "subscription_refresh_s": 0.3,
        "expiry_interval_s": 0.05,
    }
    values.update(overrides)
    return Settings.from_mapping({}, **values)


def subscription(uri: str, **members: Any) -> dict[str, Any]:
    """A Subscription to entities of type Room, notifying `uri`; members replace or add to it."""
    notification = members.pop("notification", {})
    body: dict[str, Any] = {
        "type": "Subscription",
        "entities": [{"type": "Room"}],
        "notification": {"endpoint": {"uri": uri}, **notification},
    }
    body.update(members)
    return body


def room(entity_id: str, temperature: float = 20.0, **attributes: Any) -> dict[str, Any]:
    return {"id": entity_id, "type": "Room", "temperature": {"type": "Property", "value": temperature}, **attributes}


async def eventually(check: Callable[[], Awaitable[bool]], what: str, timeout_s: float = WAIT_S) -> None:
    """Poll `check` (every 20 ms) until it is true; fail naming `what` after timeout_s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not await check():
        if loop.time() > deadline:
            pytest.fail(f"{what}: not true within {timeout_s} s")
        await asyncio.sleep(0.02)


__all__ = [
    "Behaviour",
    "MqttListener",
    "Received",
    "Receiver",
    "eventually",
    "fast_settings",
    "mqtt_listener",
    "receiver",
    "room",
    "running_broker",
    "subscription",
]


@contextlib.asynccontextmanager
async def running_broker(settings: Settings, base_url: str = "http://broker.test") -> AsyncIterator[httpx.AsyncClient]:
    """A broker app of its own (lifespan run), called in-process: for tests that need special settings."""
    app = create_app(settings)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=base_url
    ) as client:
        yield client
