# SPDX-License-Identifier: EUPL-1.2
"""The LoRaWAN agent end to end: TTS v3 and ChirpStack v4 uplinks replayed over real Mosquitto, a real
agent process, a real broker; what a user sees is the entity state in the broker and the agent's /metrics."""

from __future__ import annotations

import asyncio
import signal
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from tests.agents.conftest import (
    AgentProcess,
    BrokerProcess,
    Publisher,
    RecordingProxy,
    eventually,
)
from tests.agents.uplinks import (
    CAYENNE_PAYLOAD,
    HAMM_HBF_GW,
    HAMM_RATHAUS_GW,
    chirpstack_uplink,
    climate_payload,
    parking_payload,
    tts_uplink,
    waste_object,
)

StartAgent = Callable[..., Awaitable[AgentProcess]]
HBF_POINT = {"type": "Point", "coordinates": [7.8075, 51.6783]}

DECODER_MODULE = '''
def decode_parking(payload, f_port):
    if len(payload) != 2:
        raise ValueError(f"expected 2 bytes, got {len(payload)}")
    return {"occupied": payload[0] == 1, "battery": payload[1]}
'''


def install_decoder_plugin(root: Path) -> Path:
    """A distribution that registers `hamm-parking` under the citycontext.decoders entry points."""
    plugins = root / "plugins"
    (plugins / "hamm_test_decoders").mkdir(parents=True, exist_ok=True)
    (plugins / "hamm_test_decoders" / "__init__.py").write_text(DECODER_MODULE, encoding="utf-8")
    info = plugins / "hamm_test_decoders-1.0.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: hamm-test-decoders\nVersion: 1.0\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(
        "[citycontext.decoders]\nhamm-parking = hamm_test_decoders:decode_parking\n", encoding="utf-8"
    )
    return plugins


def lorawan_config(application: str, chirpstack_app: str, tenant: str) -> dict[str, Any]:
    return {
        "tenant": tenant,
        "mqtt": {"topics": [f"v3/{application}@hamm/devices/+/up", f"application/{chirpstack_app}/device/+/event/up"]},
        "northbound": {"backoff_initial_s": 0.1, "backoff_max_s": 1.0, "timeout_s": 5},
        "profiles": {
            "climate-station": {
                "entity_type": "WeatherObserved",
                "explicit_attrs": True,
                "attributes": {
                    "temperature": {"type": "Number", "unitCode": "CEL"},
                    "humidity": {"name": "relativeHumidity", "scale": 0.01, "unitCode": "P1"},
                    "wind.speed": {"name": "windSpeed", "unitCode": "MTS"},
                    "wind.direction": {"name": "windDirection", "type": "Integer", "unitCode": "DD"},
                    "rain": {"name": "precipitation", "type": "Number", "unitCode": "MMT"},
                },
            },
            "parking-sensor": {
                "entity_type": "ParkingSpot",
                "decoder": "hamm-parking",
                "explicit_attrs": True,
                "attributes": {
                    "occupied": {"name": "status", "type": "Text", "expression": "value ? 'occupied' : 'free'"},
                    "battery": {"name": "batteryLevel", "target": "device", "scale": 0.01},
                },
                "static_attributes": {"category": ["onStreet"]},
            },
            "waste-fill-level": {
                "entity_type": "WasteContainer",
                "entity_id": "urn:ngsi-ld:WasteContainer:{device_name}",
                "attributes": {
                    "fillingLevel": {"type": "Number", "unitCode": "P1"},
                    "temperature": {"type": "Number", "unitCode": "CEL"},
                    "batteryVoltage": {"target": "device", "unitCode": "VLT"},
                },
            },
            "cayenne-env": {
                "entity_type": "AirQualityObserved",
                "decoder": "cayennelpp",
                "attributes": {"gps_4": {"name": "location", "type": "GeoProperty"}},
            },
        },
        "devices": {
            "klima-sued-01": {
                "profile": "climate-station",
                "static_attributes": {"location": {"type": "GeoProperty", "value": HBF_POINT}},
            },
            "0004A30B001C0E01": {"profile": "cayenne-env", "entity_id": "urn:ngsi-ld:AirQualityObserved:hamm-hbf"},
        },
    }


@pytest.fixture
def names() -> dict[str, str]:
    unique = uuid.uuid4().hex[:10]
    return {"app": f"klima-{unique}", "cs_app": str(uuid.uuid4()), "tenant": f"hamm{unique}", "unique": unique}


async def test_climate_station_uplink_from_the_things_stack_updates_the_weather_entity_and_its_device(
    broker: BrokerProcess, agents: StartAgent, publisher: Publisher, names: dict[str, str]
) -> None:
    agent = await agents("lorawan", lorawan_config(names["app"], names["cs_app"], names["tenant"]), broker.url)
    raw, decoded = climate_payload(18.4, 61.5, 3.2, 245, 0.4)
    received_at = "2026-11-26T08:15:02.123456789Z"
    topic, body = tts_uplink(names["app"], "hamm", "klima-sued-01", "70B3D57ED005A1B2", f_cnt=4711, f_port=2,
                             received_at=received_at, payload=raw, decoded=decoded, battery=87.0)
    publisher.publish(topic, body)

    entity_id = "urn:ngsi-ld:WeatherObserved:klima-sued-01"
    entity = await eventually(lambda: broker.entity(entity_id, names["tenant"]), what="the weather entity")
    observed = "2026-11-26T08:15:02.123456Z"  # the network server's receipt time, not the agent's clock
    assert entity["type"] == "WeatherObserved"
    assert entity["temperature"] == {"type": "Property", "value": 18.4, "observedAt": observed, "unitCode": "CEL"}
    assert entity["relativeHumidity"]["value"] == pytest.approx(0.615)
    assert entity["relativeHumidity"]["unitCode"] == "P1"
    assert entity["windSpeed"] == {"type": "Property", "value": 3.2, "observedAt": observed, "unitCode": "MTS"}
    assert entity["windDirection"]["value"] == 245
    assert entity["precipitation"]["value"] == 0.4
    assert entity["location"]["value"] == HBF_POINT
    assert "wind" not in entity and "rain" not in entity  # explicit_attrs: only mapped fields

    device = await eventually(lambda: broker.entity("urn:ngsi-ld:Device:klima-sued-01", names["tenant"]), what="the Device")
    assert device["type"] == "Device"
    assert device["controlledAsset"]["object"] == entity_id
    assert device["rssi"] == {"type": "Property", "value": -97, "observedAt": observed, "unitCode": "DBM"}
    assert device["snr"]["value"] == 7.25
    assert device["gatewayId"]["value"] == [HAMM_RATHAUS_GW, HAMM_HBF_GW]
    assert device["frameCounter"]["value"] == 4711
    assert device["batteryLevel"]["value"] == 0.87
    assert device["dateLastValueReported"]["value"] == {"@type": "DateTime", "@value": observed}
    assert await agent.metric("citycontext_agent_uplinks_decoded_total") == 1
    assert await agent.metric("citycontext_agent_updates_delivered_total") == 2


async def test_waste_container_from_chirpstack_and_cayennelpp_decoded_by_the_agent(
    broker: BrokerProcess, agents: StartAgent, publisher: Publisher, names: dict[str, str]
) -> None:
    await agents("lorawan", lorawan_config(names["app"], names["cs_app"], names["tenant"]), broker.url)
    # no device entry: the ChirpStack device profile name chooses the profile
    topic, body = chirpstack_uplink(names["cs_app"], "0004a30b001c5c77", device_name="container-marktplatz-3",
                                    profile="waste-fill-level", f_cnt=118, f_port=1, time="2026-11-26T06:30:11.402+01:00",
                                    payload=b"\x04\xba\x00\x52\x0e\x10", decoded=waste_object(72.0, 8.5, 3.6))
    publisher.publish(topic, body)
    container = await eventually(
        lambda: broker.entity("urn:ngsi-ld:WasteContainer:container-marktplatz-3", names["tenant"]), what="the container"
    )
    assert container["fillingLevel"] == {
        "type": "Property", "value": 0.72, "observedAt": "2026-11-26T05:30:11.402000Z", "unitCode": "P1"
    }
    assert container["distance"]["value"] == 1210  # not mapped, passed through
    assert "batteryVoltage" not in container
    device = await eventually(lambda: broker.entity("urn:ngsi-ld:Device:0004a30b001c5c77", names["tenant"]), what="device")
    assert device["batteryVoltage"]["value"] == 3.6 and device["batteryVoltage"]["unitCode"] == "VLT"
    assert device["rssi"]["value"] == -105 and device["snr"]["value"] == -3.2
    assert device["frameCounter"]["value"] == 118

    # a CayenneLPP payload without a decoded object: the agent decodes it (the device entry is by dev EUI)
    topic, body = chirpstack_uplink(names["cs_app"], "0004a30b001c0e01", device_name="luft-hbf", profile="unknown",
                                    f_cnt=9, f_port=1, time="2026-11-26T08:00:00Z", payload=CAYENNE_PAYLOAD)
    publisher.publish(topic, body)
    air = await eventually(lambda: broker.entity("urn:ngsi-ld:AirQualityObserved:hamm-hbf", names["tenant"]), what="air")
    assert air["temperature_1"] == {"type": "Property", "value": 21.7, "observedAt": "2026-11-26T08:00:00Z", "unitCode": "CEL"}
    assert air["relative_humidity_2"]["value"] == 56.5 and air["relative_humidity_2"]["unitCode"] == "P1"
    assert air["barometric_pressure_3"]["value"] == 1013.2 and air["barometric_pressure_3"]["unitCode"] == "A97"
    assert air["location"]["value"] == HBF_POINT
    assert air["digital_in_5"]["value"] == 1
    assert air["voltage_6"]["value"] == 3.61 and air["voltage_6"]["unitCode"] == "VLT"


async def test_parking_sensor_decoded_by_an_entry_point_decoder_and_bad_input_never_reaches_the_broker(
    broker: BrokerProcess, agents: StartAgent, publisher: Publisher, names: dict[str, str], tmp_path: Path
) -> None:
    plugins = install_decoder_plugin(tmp_path)
    agent = await agents("lorawan", lorawan_config(names["app"], names["cs_app"], names["tenant"]), broker.url,
                         env={"PYTHONPATH": str(plugins)})
    app = names["app"]

    def parking(device: str, f_cnt: int, payload: bytes) -> tuple[str, dict[str, Any]]:
        return tts_uplink(app, "hamm", device, "70B3D57ED00600AA", f_cnt=f_cnt, f_port=10,
                          received_at=f"2026-11-26T09:00:{f_cnt:02d}.5Z", payload=payload, model_id="parking-sensor")

    publisher.publish(*parking("p-sued-17", 1, parking_payload(True, 93)))
    spot_id = "urn:ngsi-ld:ParkingSpot:p-sued-17"
    spot = await eventually(lambda: broker.entity(spot_id, names["tenant"]), what="the parking spot")
    assert spot["status"]["value"] == "occupied"
    assert spot["category"]["value"] == "onStreet" or spot["category"]["value"] == ["onStreet"]
    device = await eventually(lambda: broker.entity("urn:ngsi-ld:Device:p-sued-17", names["tenant"]), what="device")
    assert device["batteryLevel"]["value"] == 0.93

    # garbage of every kind, each from a device we can name in the log
    v3 = f"v3/{app}@hamm/devices"
    publisher.publish(f"{v3}/p-sued-17/up", b"{not json")
    _, bad_base64 = parking("p-sued-17", 2, b"\x00\x10")
    bad_base64["uplink_message"]["frm_payload"] = "!!not base64!!"
    publisher.publish(f"{v3}/p-sued-17/up", bad_base64)
    publisher.publish(*parking("p-sued-17", 3, b"\x01"))  # the decoder raises: 1 byte
    _, stranger = tts_uplink(app, "hamm", "stranger-1", "70B3D57ED0FFFFFF", f_cnt=1, f_port=1,
                             received_at="2026-11-26T09:01:00Z", payload=b"\x01", decoded={"x": 1})
    publisher.publish(f"{v3}/stranger-1/up", stranger)
    raw, decoded = climate_payload(19.0, 60, 2.0, 180, 0.0)
    decoded["temperature"] = "warm"  # Number expected
    publisher.publish(*tts_uplink(app, "hamm", "klima-sued-01", "70B3D57ED005A1B2", f_cnt=5, f_port=2,
                                  received_at="2026-11-26T09:02:00Z", payload=raw, decoded=decoded))
    # and a good one after them: the agent is still there
    publisher.publish(*parking("p-sued-17", 4, parking_payload(False, 92)))

    async def freed() -> bool:
        entity = await broker.entity(spot_id, names["tenant"])
        return entity is not None and entity["status"]["value"] == "free"

    await eventually(freed, what="the spot to be free")
    for reason in ("malformed_json", "bad_base64", "decoder_error", "unknown_device", "wrong_type"):
        assert await agent.metric("citycontext_agent_uplinks_rejected_total", reason=reason) == 1, reason
    weather = await eventually(
        lambda: broker.entity("urn:ngsi-ld:WeatherObserved:klima-sued-01", names["tenant"]), what="weather"
    )
    assert "temperature" not in weather  # the wrong-typed attribute was dropped, the others written
    assert weather["windSpeed"]["value"] == 2.0
    assert await broker.entity("urn:ngsi-ld:Device:stranger-1", names["tenant"]) is None
    log = agent.log()
    assert "decoder_error" in log and "p-sued-17" in log and "stranger-1" in log
    assert (await agent.health())["status"] == "ok"


async def test_a_broker_outage_mid_stream_loses_nothing_and_keeps_the_order(
    broker: BrokerProcess, proxy: RecordingProxy, agents: StartAgent, publisher: Publisher, names: dict[str, str]
) -> None:
    agent = await agents("lorawan", lorawan_config(names["app"], names["cs_app"], names["tenant"]), proxy.url)
    entity_id = "urn:ngsi-ld:WeatherObserved:klima-sued-01"
    sent: list[tuple[float, str]] = []

    def publish(n: int) -> None:
        received_at = f"2026-11-26T10:{n // 60:02d}:{n % 60:02d}.000250Z"
        raw, decoded = climate_payload(10 + n / 10, 50, 1.0, 90, 0.0)
        publisher.publish(*tts_uplink(names["app"], "hamm", "klima-sued-01", "70B3D57ED005A1B2", f_cnt=n, f_port=2,
                                      received_at=received_at, payload=raw, decoded=decoded))
        sent.append((decoded["temperature"], received_at))

    for n in range(1, 21):
        publish(n)
    await eventually(lambda: _frame_counter_is(broker, names["tenant"], 20), what="the first 20 uplinks")

    await broker.stop()
    for n in range(21, 61):  # the broker is down for all of these, for several seconds
        publish(n)
        await asyncio.sleep(0.08)
    await eventually(lambda: _queued_at_least(agent, 40), what="the agent to queue the uplinks")
    await eventually(lambda: _broker_state_is(agent, "failing"), what="the agent to notice the outage")
    await broker.start()
    for n in range(61, 81):
        publish(n)
    await eventually(lambda: _frame_counter_is(broker, names["tenant"], 80), what="every uplink after the outage")
    await eventually(lambda: _queue_empty(agent), what="the queue to drain")

    history = proxy.history(entity_id, "temperature")
    assert history == sent  # every uplink exactly once, in the order the station sent them
    # ... and the broker's own attribute history (the temporal API) says the same
    temporal = await broker.temporal_values(entity_id, "temperature", names["tenant"])
    assert [value for value, _ in temporal] == [value for value, _ in sent]
    assert [observed[:19] for _, observed in temporal] == [observed[:19] for _, observed in sent]
    entity = await broker.entity(entity_id, names["tenant"])
    assert entity is not None and entity["temperature"]["observedAt"] == sent[-1][1]
    assert proxy.refused > 0  # the agent did try while the broker was down
    assert await agent.metric("citycontext_agent_updates_delivered_total") == 160
    assert await agent.metric("citycontext_agent_updates_dead_lettered_total") == 0


async def test_a_restart_of_the_agent_loses_nothing_it_acknowledged(
    broker: BrokerProcess, agents: StartAgent, publisher: Publisher, names: dict[str, str]
) -> None:
    config = lorawan_config(names["app"], names["cs_app"], names["tenant"])
    agent = await agents("lorawan", config, broker.url)
    await broker.stop()

    def publish(n: int) -> None:
        raw, decoded = climate_payload(5 + n, 50, 1.0, 90, 0.0)
        publisher.publish(*tts_uplink(names["app"], "hamm", "klima-sued-01", "70B3D57ED005A1B2", f_cnt=n, f_port=2,
                                      received_at=f"2026-11-26T11:00:{n:02d}Z", payload=raw, decoded=decoded))

    for n in range(1, 11):  # acknowledged by the agent, stuck in its queue
        publish(n)
    await eventually(lambda: _queued_at_least(agent, 20), what="the uplinks to be queued")
    await agent.stop(signal.SIGKILL)  # a crash: no flush, no goodbye
    for n in range(11, 21):  # the agent is down: Mosquitto keeps them for its persistent session
        publish(n)
    await broker.start()
    await agent.start()
    await eventually(lambda: _frame_counter_is(broker, names["tenant"], 20), what="all 20 uplinks")
    entity = await broker.entity("urn:ngsi-ld:WeatherObserved:klima-sued-01", names["tenant"])
    assert entity is not None and entity["temperature"]["value"] == 25
    await eventually(lambda: _queue_empty(agent), what="the queue to drain")


async def _frame_counter_is(broker: BrokerProcess, tenant: str, n: int) -> bool:
    device = await broker.entity("urn:ngsi-ld:Device:klima-sued-01", tenant)
    return device is not None and device["frameCounter"]["value"] == n


async def _queued_at_least(agent: AgentProcess, n: int) -> bool:
    return await agent.metric("citycontext_agent_updates_queued_total") >= n


async def _broker_state_is(agent: AgentProcess, state: str) -> bool:
    return bool((await agent.health())["broker"] == state)


async def _queue_empty(agent: AgentProcess) -> bool:
    return bool((await agent.health())["queueDepth"] == 0)
