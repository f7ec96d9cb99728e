# SPDX-License-Identifier: EUPL-1.2
"""The LoRaWAN agent: subscribe to the network servers' uplink topics, map, queue, deliver.

    citycontext agent lorawan --mqtt mqtt://127.0.0.1:1883 --broker http://127.0.0.1:1026 --config agents.yaml
"""

from __future__ import annotations

import asyncio
import time

from aiohttp import web

from agents.common.mqtt import MqttMessage
from agents.common.ngsi import Rejected, Update
from agents.common.runtime import AgentRuntime
from agents.lorawan.mapping import UplinkMapper
from agents.lorawan.settings import LorawanSettings
from agents.lorawan.uplink import DEFAULT_TOPICS, parse_uplink


class LorawanAgent:
    def __init__(self, settings: LorawanSettings) -> None:
        self.settings = settings
        self.runtime = AgentRuntime("lorawan", settings)
        self._mapper = UplinkMapper(settings)
        self.runtime.use_mqtt(settings.mqtt.topics or DEFAULT_TOPICS, self.decode)

    async def decode(self, message: MqttMessage) -> list[Update]:
        received_at = time.time()
        uplink = parse_uplink(message.topic, message.payload)

        def report(rejected: Rejected) -> None:
            self.runtime.reject(rejected, message.topic)

        tenant, fragments = self._mapper.map(uplink, report)
        broker_url = self.settings.northbound.broker_url
        return [Update(broker_url, tenant, fragment, uplink.device_id, received_at) for fragment in fragments]

    async def run(self, stop: asyncio.Event) -> None:
        app = web.Application()
        self.runtime.add_health_routes(app)
        await self.runtime.run([(app, self.settings.port)], stop)
