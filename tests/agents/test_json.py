# SPDX-License-Identifier: EUPL-1.2
"""The JSON agent as FIWARE IoT Agent JSON users drive it: the /iot provisioning API on its own port,
measures over real Mosquitto and over HTTP, entities checked in a real broker."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from tests.agents.conftest import AgentProcess, BrokerProcess, Publisher, eventually

StartAgent = Callable[..., Awaitable[AgentProcess]]


@pytest.fixture
def apikey() -> str:
    return f"k{uuid.uuid4().hex[:12]}"


def json_config(*apikeys: str) -> dict[str, Any]:
    topics = [t for key in apikeys for t in (f"/{key}/+/attrs", f"/{key}/+/attrs/+", f"/json/{key}/+/attrs")]
    return {"mqtt": {"topics": topics}, "northbound": {"backoff_initial_s": 0.1, "backoff_max_s": 1.0}}


async def call(method: str, url: str, body: Any = None, *, service: str = "", path: str = "/", **params: str) -> tuple[int, Any]:
    headers = {"fiware-service": service, "fiware-servicepath": path}
    async with aiohttp.ClientSession() as http, http.request(method, url, json=body, headers=headers, params=params) as response:
        text = await response.text()
        try:
            import orjson

            return response.status, orjson.loads(text) if text else None
        except ValueError:
            return response.status, text


async def test_the_provisioning_api_takes_fiware_bodies_and_persists_across_a_restart(
    broker: BrokerProcess, agents: StartAgent, apikey: str
) -> None:
    agent = await agents("json", json_config(apikey), broker.url)
    iot, service = f"{agent.url}/iot", f"hamm{apikey}"
    group = {"apikey": apikey, "cbroker": broker.url, "entity_type": "Thing", "resource": "/iot/json"}
    assert (await call("POST", f"{iot}/services", {"services": [group]}, service=service, path="/"))[0] == 201
    status, error = await call("POST", f"{iot}/services", {"services": [group]}, service=service, path="/")
    assert (status, error["name"]) == (409, "DUPLICATE_GROUP")
    status, listed = await call("GET", f"{iot}/services", service=service, path="/*")
    assert status == 200 and listed["count"] == 1 and listed["services"][0]["apikey"] == apikey

    device = {
        "device_id": "motion001", "entity_name": "urn:ngsi-ld:Motion:001", "entity_type": "Motion",
        "timezone": "Europe/Berlin", "protocol": "PDI-IoTA-UltraLight", "transport": "MQTT",
        "attributes": [{"object_id": "c", "name": "count", "type": "Integer"}],
        "static_attributes": [{"name": "refStore", "type": "Relationship", "value": "urn:ngsi-ld:Store:001"}],
    }
    assert (await call("POST", f"{iot}/devices", {"devices": [device]}, service=service))[0] == 201
    status, error = await call("POST", f"{iot}/devices", {"devices": [device]}, service=service)
    assert (status, error["name"]) == (409, "DUPLICATE_DEVICE_ID")
    status, got = await call("GET", f"{iot}/devices/motion001", service=service)
    assert status == 200 and got["entity_name"] == "urn:ngsi-ld:Motion:001" and got["attributes"][0]["object_id"] == "c"
    assert (await call("PUT", f"{iot}/devices/motion001", {"timezone": "UTC"}, service=service))[0] == 204
    status, error = await call("GET", f"{iot}/devices/motion001", service="another")
    assert (status, error["name"]) == (404, "DEVICE_NOT_FOUND")

    # do better than FIWARE: an expression that cannot work is refused when provisioned, naming it
    broken = {"device_id": "bad1", "attributes": [{"object_id": "t", "name": "temperature", "type": "Number", "expression": "t *"}]}
    status, error = await call("POST", f"{iot}/devices", {"devices": [broken]}, service=service)
    assert status == 400 and error["name"] == "WRONG_SYNTAX" and "temperature" in error["message"]
    status, error = await call("POST", f"{iot}/devices", {"devices": [{"entity_name": "x"}]}, service=service)
    assert status == 400 and "device_id" in error["message"]

    assert (await agent.stop()) == 0
    await agent.start()
    status, listed = await call("GET", f"{iot}/devices", service=service, path="/*")
    assert status == 200 and listed["count"] == 1 and listed["devices"][0]["timezone"] == "UTC"
    assert (await call("DELETE", f"{iot}/devices/motion001", service=service))[0] == 204
    assert (await call("GET", f"{iot}/devices/motion001", service=service))[0] == 404
    assert (await call("PUT", f"{iot}/services", {"entity_type": "Sensor"}, service=service, apikey=apikey,
                       resource="/iot/json"))[0] == 204
    status, listed = await call("GET", f"{iot}/services", service=service, path="/")
    assert listed["services"][0]["entity_type"] == "Sensor"
    assert (await call("DELETE", f"{iot}/services", service=service, apikey=apikey, resource="/iot/json"))[0] == 204
    assert (await call("GET", f"{iot}/services", service=service))[1]["count"] == 0
    status, about = await call("GET", f"{iot}/about")
    assert status == 200 and "libVersion" in about


async def test_mqtt_and_http_measures_become_entity_updates_with_fiware_attribute_mappings(
    broker: BrokerProcess, agents: StartAgent, publisher: Publisher, apikey: str
) -> None:
    agent = await agents("json", json_config(apikey), broker.url)
    iot, service, path = f"{agent.url}/iot", f"hamm{apikey}", "/Hamm/Mitte"
    group = {"apikey": apikey, "entity_type": "WeatherObserved", "resource": "/iot/json", "cbroker": broker.url,
             "attributes": [{"object_id": "t", "name": "temperature", "type": "Number",
                             "metadata": {"unitCode": {"type": "Text", "value": "CEL"}}}]}
    assert (await call("POST", f"{iot}/services", {"services": [group]}, service=service, path=path))[0] == 201
    device = {
        "device_id": "ws-rathaus", "entity_name": "urn:ngsi-ld:WeatherObserved:rathaus", "entity_type": "WeatherObserved",
        "attributes": [
            {"object_id": "h", "name": "relativeHumidity", "type": "Number", "expression": "h / 100"},
            {"object_id": "s", "name": "status", "type": "Text", "expression": "s|toUpperCase"},
            {"name": "feelsLike", "type": "Text", "expression": "'T=' + t + ' H=' + h"},
        ],
        "static_attributes": [
            {"name": "location", "type": "geo:json", "value": {"type": "Point", "coordinates": [7.8201, 51.6806]}},
            {"name": "refDevice", "type": "Relationship", "value": "urn:ngsi-ld:Device:ws-rathaus"},
        ],
    }
    assert (await call("POST", f"{iot}/devices", {"devices": [device]}, service=service, path=path))[0] == 201
    entity_id = "urn:ngsi-ld:WeatherObserved:rathaus"

    publisher.publish(f"/{apikey}/ws-rathaus/attrs", {"t": 21.5, "h": 55, "s": "ok", "pm10": 12,
                                                       "TimeInstant": "2026-11-26T08:00:00+01:00"})
    entity = await eventually(lambda: broker.entity(entity_id, service), what="the entity")
    assert entity["temperature"] == {"type": "Property", "value": 21.5, "observedAt": "2026-11-26T07:00:00Z", "unitCode": "CEL"}
    assert entity["relativeHumidity"]["value"] == 0.55
    assert entity["status"]["value"] == "OK"
    assert entity["feelsLike"]["value"] == "T=21.5 H=55"
    assert entity["pm10"]["value"] == 12  # explicitAttrs is false: passed through
    assert entity["location"]["value"] == {"type": "Point", "coordinates": [7.8201, 51.6806]}
    assert entity["refDevice"]["object"] == "urn:ngsi-ld:Device:ws-rathaus"
    assert entity["scope"] in ("/Hamm/Mitte", ["/Hamm/Mitte"])

    async def temperature_is(value: float) -> bool:
        current = await broker.entity(entity_id, service)
        return current is not None and current["temperature"]["value"] == value

    publisher.publish(f"/{apikey}/ws-rathaus/attrs/t", b"22.5")  # one attribute, a raw value
    await eventually(lambda: temperature_is(22.5), what="the single-attribute measure")
    status, _ = await call("POST", f"{agent.measures_url}/iot/json?k={apikey}&i=ws-rathaus", [{"t": 23}, {"t": 24}])
    assert status == 200
    await eventually(lambda: temperature_is(24), what="the HTTP measures")

    # a value of the wrong type is dropped and counted; the rest of the measure is written
    status, _ = await call("POST", f"{agent.measures_url}/iot/json?k={apikey}&i=ws-rathaus", {"t": "hot", "pm10": 30})

    async def pm10_is_30() -> bool:
        current = await broker.entity(entity_id, service)
        return current is not None and current["pm10"]["value"] == 30

    await eventually(pm10_is_30, what="the rest of the measure")
    assert await temperature_is(24)
    assert await agent.metric("citycontext_agent_uplinks_rejected_total", reason="wrong_type") == 1


async def test_unknown_apikeys_unknown_devices_and_malformed_measures_are_refused_and_counted(
    broker: BrokerProcess, agents: StartAgent, publisher: Publisher, apikey: str
) -> None:
    closed_key = apikey + "c"
    agent = await agents("json", json_config(apikey, closed_key), broker.url)
    iot, service = f"{agent.url}/iot", f"hamm{apikey}"
    groups = [
        {"apikey": apikey, "entity_type": "NoiseLevelObserved", "resource": "/iot/json"},
        {"apikey": closed_key, "entity_type": "NoiseLevelObserved", "resource": "/iot/json", "autoprovision": False},
    ]
    assert (await call("POST", f"{iot}/services", {"services": groups}, service=service))[0] == 201
    measures = f"{agent.measures_url}/iot/json"

    status, error = await call("POST", f"{measures}?k=nobody{apikey}&i=n1", {"LAeq": 50})
    assert (status, error["name"]) == (404, "DEVICE_GROUP_NOT_FOUND")
    status, error = await call("POST", f"{measures}?k={closed_key}&i=n1", {"LAeq": 50})
    assert (status, error["name"]) == (404, "DEVICE_NOT_FOUND")
    async with aiohttp.ClientSession() as http, http.post(f"{measures}?k={apikey}&i=n1", data=b"{LAeq: 5") as response:
        assert response.status == 400
    publisher.publish(f"/{apikey}/n2/attrs", b"[not json")

    # autoprovisioned: the group's type, the FIWARE default name
    publisher.publish(f"/{apikey}/laerm-bahnhof/attrs", {"LAeq": 61.2})
    entity = await eventually(lambda: broker.entity("urn:ngsi-ld:NoiseLevelObserved:laerm-bahnhof", service), what="entity")
    assert entity["LAeq"]["value"] == 61.2
    status, got = await call("GET", f"{iot}/devices/laerm-bahnhof", service=service)
    assert status == 200 and got["entity_type"] == "NoiseLevelObserved"

    assert await agent.metric("citycontext_agent_uplinks_rejected_total", reason="unknown_apikey") == 1
    assert await agent.metric("citycontext_agent_uplinks_rejected_total", reason="unknown_device") == 1
    assert await agent.metric("citycontext_agent_uplinks_rejected_total", reason="malformed_json") == 2
    assert await broker.entity("urn:ngsi-ld:NoiseLevelObserved:n1", service) is None
    assert "n1" in agent.log() and "n2" in agent.log()
    health = await agent.health()
    assert health["status"] == "ok" and health["mqtt"] == "connected"
