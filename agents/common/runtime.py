# SPDX-License-Identifier: EUPL-1.2
"""One running agent: its metrics, durable queue, deliverer, MQTT southbound and HTTP servers.

An agent supplies a `decode` coroutine (one MQTT message -> entity updates, or Rejected) and its own
aiohttp routes; the runtime does the rest: counting, logging rejections with the device id,
de-duplicating MQTT redeliveries, committing before acknowledging, /health and /metrics, and an
orderly stop (southbound closed first, then a bounded flush of the queue).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import orjson
from aiohttp import web

from agents.common.metrics import AgentMetrics
from agents.common.mqtt import MqttMessage, MqttSouthbound
from agents.common.ngsi import Rejected, Update
from agents.common.northbound import Deliverer
from agents.common.queue import DurableQueue
from agents.common.settings import AgentSettings

log = logging.getLogger("citycontext.agents")

Decode = Callable[[MqttMessage], Awaitable[list[Update]]]
FLUSH_ON_STOP_S = 5.0


class AgentRuntime:
    def __init__(self, name: str, settings: AgentSettings) -> None:
        self.name = name
        self.settings = settings
        self.metrics = AgentMetrics(name)
        self.queue = DurableQueue(settings.queue_path, synchronous=settings.queue_synchronous)
        self.deliverer = Deliverer(self.queue, settings.northbound, self.metrics)
        self.metrics.queued(0, self.queue.depth)
        self._mqtt: MqttSouthbound | None = None

    # -- southbound ---------------------------------------------------------------------------------

    def reject(self, rejected: Rejected, where: str = "") -> None:
        """Log (with the device id) and count a message or attribute that must not reach the broker."""
        self.metrics.rejected(rejected.reason)
        log.warning(
            "%s rejected (%s) from device %s%s: %s",
            self.name, rejected.reason, rejected.device_id or "(unknown)", f" on {where}" if where else "",
            rejected.detail,
        )

    def accept(self, updates: Sequence[Update], seen_keys: Sequence[str] = ()) -> None:
        """Commit updates to the durable queue; return only once they are on disk."""
        self.queue.put_many(updates, seen_keys)
        if updates:
            self.metrics.queued(len(updates), self.queue.depth)
            self.deliverer.notify()

    def use_mqtt(self, topics: Sequence[str], decode: Decode) -> None:
        async def handle(messages: Sequence[MqttMessage]) -> None:
            updates: list[Update] = []
            keys: list[str] = []
            for message in messages:
                self.metrics.received()
                key = hashlib.sha1(message.topic.encode() + b"\0" + message.payload).hexdigest()
                if message.dup and self.queue.seen(key):
                    self.metrics.duplicate()
                    continue
                if message.qos > 0:
                    keys.append(key)
                try:
                    decoded = await decode(message)
                except Rejected as rejected:
                    self.reject(rejected, message.topic)
                    continue
                except Exception as exc:  # a bug must cost one message, not the agent
                    log.exception("%s could not handle a message on %s", self.name, message.topic)
                    self.reject(Rejected("internal_error", f"{type(exc).__name__}: {exc}"), message.topic)
                    continue
                self.metrics.decoded()
                updates.extend(decoded)
            self.accept(updates, keys)

        self._mqtt = MqttSouthbound(self.settings.mqtt, topics, handle, self.metrics)

    # -- health and metrics ---------------------------------------------------------------------------

    def add_health_routes(self, app: web.Application) -> None:
        app.router.add_get("/health", self._health)
        app.router.add_get("/metrics", self._metrics_route)

    def health(self) -> dict[str, Any]:
        mqtt_state = "connected" if self.metrics.mqtt_connected else "disconnected"
        if self._mqtt is None:
            mqtt_state = "not used"
        degraded = not self.metrics.broker_up or mqtt_state == "disconnected"
        return {
            "status": "degraded" if degraded else "ok",
            "agent": self.name,
            "mqtt": mqtt_state,
            "broker": self.metrics.broker_state,
            "queueDepth": self.queue.depth,
        }

    async def _health(self, request: web.Request) -> web.Response:
        return web.Response(body=orjson.dumps(self.health()), content_type="application/json")

    async def _metrics_route(self, request: web.Request) -> web.Response:
        return web.Response(body=self.metrics.render(), headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})

    # -- lifecycle ------------------------------------------------------------------------------------

    async def run(self, apps: Sequence[tuple[web.Application, int]], stop: asyncio.Event) -> None:
        """Serve `apps` on their ports, consume MQTT and deliver, until `stop` is set."""
        deliver = asyncio.create_task(self.deliverer.run(), name="northbound")

        def delivery_stopped(task: asyncio.Task[None]) -> None:
            if not task.cancelled() and task.exception() is not None:
                # A bug, not an outage (outages are retried inside): stop, so a supervisor restarts us;
                # the queue keeps everything.
                log.error("%s northbound delivery failed", self.name, exc_info=task.exception())
                stop.set()

        deliver.add_done_callback(delivery_stopped)
        runners: list[web.AppRunner] = []
        try:
            for app, port in apps:
                runner = web.AppRunner(app, access_log=None, handle_signals=False)
                await runner.setup()
                await web.TCPSite(runner, self.settings.host, port).start()
                runners.append(runner)
                log.info("%s agent listening on http://%s:%d", self.name, self.settings.host, port)
            if self._mqtt is not None:
                await self._mqtt.start()
            await stop.wait()
        finally:
            if self._mqtt is not None:
                await self._mqtt.stop()
            for runner in runners:
                await runner.cleanup()
            if self.queue.depth and not deliver.done():
                await self.deliverer.wait_idle(FLUSH_ON_STOP_S)
            deliver.cancel()
            try:
                await deliver
            except asyncio.CancelledError:
                pass
            self.queue.close()
