# SPDX-License-Identifier: EUPL-1.2
"""IoT agents: device uplinks (LoRaWAN network servers, FIWARE IoT Agent JSON devices) -> NGSI-LD entity updates.

Each agent turns southbound messages into entity fragments, writes them to a durable local queue
(agents.common.queue) before it acknowledges them, and a northbound deliverer sends the queue to the
broker's public HTTP API in order, in batches, with backoff (agents.common.northbound).
"""
