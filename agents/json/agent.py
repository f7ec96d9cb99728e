# SPDX-License-Identifier: EUPL-1.2
"""The JSON agent (FIWARE IoT Agent JSON conventions): measures over MQTT and HTTP -> NGSI-LD entities.

    citycontext agent json --mqtt mqtt://127.0.0.1:1883 --broker http://127.0.0.1:1026

Southbound: MQTT `/{apikey}/{deviceId}/attrs` (a JSON object, or an array of them), `/attrs/{attr}`
(one raw value), the same under `/json/...`; HTTP `POST /iot/json?k={apikey}&i={deviceId}[&t=time]`
on port 7896. The HTTP answer (200) and the MQTT PUBACK come after the measure is in the durable
queue. Provisioning API, /health and /metrics on port 4041.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
from aiohttp import web

from agents.common.expressions import Expressions
from agents.common.mqtt import MqttMessage
from agents.common.ngsi import Rejected, Update, iso_utc, utc_now
from agents.common.runtime import AgentRuntime
from agents.json.measures import build_fragment, entity_id
from agents.json.provisioning import ProvisioningApi
from agents.json.registry import Duplicate, open_registry
from agents.json.settings import DEFAULT_TOPICS, JsonAgentSettings

# Rejection reason -> HTTP status of the measure request and the node-lib error name.
_HTTP_ERRORS = {
    "malformed_json": (400, "WRONG_SYNTAX"),
    "unknown_apikey": (404, "DEVICE_GROUP_NOT_FOUND"),
    "unknown_device": (404, "DEVICE_NOT_FOUND"),
}


class JsonAgent:
    def __init__(self, settings: JsonAgentSettings) -> None:
        self.settings = settings
        self.runtime = AgentRuntime("json", settings)
        self.registry = open_registry(settings.registry)
        self.expressions = Expressions()
        self._cache: dict[tuple[str, ...], tuple[float, Any]] = {}
        if settings.mqtt_enabled:
            self.runtime.use_mqtt(settings.mqtt.topics or DEFAULT_TOPICS, self.decode_mqtt)

    # -- southbound ---------------------------------------------------------------------------------

    async def decode_mqtt(self, message: MqttMessage) -> list[Update]:
        parts = message.topic.split("/")
        if parts and parts[0] == "":
            parts = parts[1:]
        if len(parts) >= 4 and parts[0] == "json" and parts[3] == "attrs":
            parts = parts[1:]
        if len(parts) not in (3, 4) or parts[2] != "attrs":
            raise Rejected("unknown_topic", f"not a measure topic: {message.topic}")
        apikey, device_id = parts[0], parts[1]
        if len(parts) == 4:
            try:
                value: Any = orjson.loads(message.payload)
            except orjson.JSONDecodeError:
                value = message.payload.decode("utf-8", "replace")
            measures: list[Any] = [{parts[3]: value}]
        else:
            measures = _json_measures(message.payload, device_id)
        return await self.measures_to_updates(apikey, device_id, measures, resource=None, transport="MQTT")

    async def http_measure(self, request: web.Request) -> web.Response:
        apikey, device_id = request.query.get("k"), request.query.get("i")
        if not apikey or not device_id:
            return _error(400, "MANDATORY_PARAMS_NOT_FOUND", "the k (apikey) and i (device id) query parameters are required")
        self.runtime.metrics.received()
        raw = await request.read()
        try:
            measures = _json_measures(raw, device_id)
            updates = await self.measures_to_updates(
                apikey, device_id, measures, resource=request.path.rstrip("/") or "/", transport="HTTP",
                timestamp=request.query.get("t"),
            )
        except Rejected as rejected:
            self.runtime.reject(rejected, f"HTTP {request.path}")
            status, name = _HTTP_ERRORS.get(rejected.reason, (400, "BAD_REQUEST"))
            return _error(status, name, rejected.detail)
        self.runtime.metrics.decoded()
        self.runtime.accept(updates)
        return web.json_response({})

    async def measures_to_updates(
        self, apikey: str, device_id: str, measures: list[Any], *, resource: str | None, transport: str,
        timestamp: str | None = None,
    ) -> list[Update]:
        received_at = time.time()
        group = await self._group(apikey, resource)
        if group is None:
            raise Rejected("unknown_apikey", f"no service group has apikey {apikey!r}", device_id)
        service, subservice = group.get("service", ""), group.get("subservice", "/")
        device = await self._device(service, subservice, device_id)
        if device is None:
            if not group.get("autoprovision", self.settings.autoprovision):
                raise Rejected("unknown_device", f"device {device_id!r} is not provisioned (apikey {apikey!r})", device_id)
            device = await self._autoprovision(group, device_id, transport)
        received_iso = iso_utc(utc_now())
        broker_url = _broker_url(group.get("cbroker")) or self.settings.northbound.broker_url
        tenant = service or None

        def report(rejected: Rejected) -> None:
            self.runtime.reject(rejected, f"apikey {apikey}")

        updates = []
        for item in measures:
            if not isinstance(item, dict):
                raise Rejected("malformed_json", "a measure must be a JSON object of attribute values", device_id)
            fragment = build_fragment(
                group, device, item, received_iso, self.expressions, report,
                default_entity_type=self.settings.default_entity_type, timestamp=timestamp,
            )
            if len(fragment) > 2:
                updates.append(Update(broker_url, tenant, fragment, device_id, received_at))
        return updates

    async def _autoprovision(self, group: dict[str, Any], device_id: str, transport: str) -> dict[str, Any]:
        service, subservice = group.get("service", ""), group.get("subservice", "/")
        entity_type = group.get("entity_type") or self.settings.default_entity_type
        device = {
            "device_id": device_id, "service": service, "service_path": subservice, "entity_type": entity_type,
            "apikey": group["apikey"], "protocol": "IoTA-JSON", "transport": transport,
        }
        device["entity_name"] = entity_id(device, entity_type)
        try:
            await self.registry.create_devices(service, subservice, [device])
        except Duplicate:
            existing = await self.registry.get_device(service, subservice, device_id)
            device = existing or device
        self._cache.clear()
        return device

    # -- registry look-ups, cached briefly ------------------------------------------------------------

    async def _group(self, apikey: str, resource: str | None) -> dict[str, Any] | None:
        key = ("group", apikey, resource or "")
        cached = self._cached(key)
        if cached is not None:
            return cached[0]  # type: ignore[no-any-return]
        group = await self.registry.find_group(apikey, resource)
        self._store(key, group)
        return group

    async def _device(self, service: str, subservice: str, device_id: str) -> dict[str, Any] | None:
        key = ("device", service, subservice, device_id)
        cached = self._cached(key)
        if cached is not None:
            return cached[0]  # type: ignore[no-any-return]
        device = await self.registry.get_device(service, subservice, device_id)
        self._store(key, device)
        return device

    def _cached(self, key: tuple[str, ...]) -> tuple[Any] | None:
        entry = self._cache.get(key)
        if entry is None or entry[0] < time.monotonic():
            return None
        return (entry[1],)

    def _store(self, key: tuple[str, ...], value: Any) -> None:
        if self.settings.registry_cache_s > 0 and value is not None:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[key] = (time.monotonic() + self.settings.registry_cache_s, value)

    def provisioning_changed(self) -> None:
        self._cache.clear()

    # -- lifecycle -------------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        await self.registry.open()
        try:
            north = web.Application(client_max_size=8 * 1024 * 1024)
            ProvisioningApi(self.registry, self.settings, self.expressions, self.provisioning_changed).add_routes(north)
            self.runtime.add_health_routes(north)
            south = web.Application(client_max_size=1024 * 1024)
            south.router.add_post("/{resource:.*}", self.http_measure)
            await self.runtime.run([(north, self.settings.north_port), (south, self.settings.http_port)], stop)
        finally:
            await self.registry.close()


def _json_measures(raw: bytes, device_id: str) -> list[Any]:
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise Rejected("malformed_json", f"the measure is not JSON: {exc}", device_id) from exc
    if isinstance(body, dict):
        return [body]
    if isinstance(body, list) and body:
        return body
    raise Rejected("malformed_json", "a measure must be a JSON object (or an array of them)", device_id)


def _broker_url(cbroker: Any) -> str | None:
    if not isinstance(cbroker, str) or not cbroker:
        return None
    return cbroker.rstrip("/").removesuffix("/ngsi-ld/v1")


def _error(status: int, name: str, message: str) -> web.Response:
    return web.json_response({"name": name, "message": message}, status=status)
