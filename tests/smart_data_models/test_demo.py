# SPDX-License-Identifier: EUPL-1.2
"""The Hamm demo: a plausible dataset that satisfies its models, a week of history that ends in the
loaded values, and a one-call load into a real `citycontext serve` process on 127.0.0.1."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from smart_data_models import model, validate
from smart_data_models.demo import (
    DemoLoadError,
    add_demo_command,
    add_serve_demo_option,
    demo_entities,
    demo_history,
    load_demo,
    load_history,
    run_demo_command,
    start_demo_loader,
    type_counts,
)
from tests.conftest import API, free_port

NOW = datetime(2026, 11, 26, 8, 7, tzinfo=UTC)  # a Thursday morning
ROOT = Path(__file__).resolve().parents[2]
HAMM_BBOX = (7.68, 51.60, 7.96, 51.74)  # lon/lat bounds of the city
EXPECTED_TYPES = {
    "TrafficFlowObserved", "ItemFlowObserved", "CrowdFlowObserved", "RoadSegment", "EVChargingStation",
    "BikeHireDockingStation", "Vehicle", "OffStreetParking", "OnStreetParking", "ParkingSpot", "ParkingGroup",
    "WeatherObserved", "AirQualityObserved", "Device", "DeviceModel", "DeviceMeasurement", "WasteContainer",
    "WasteContainerIsle", "WasteContainerModel", "WasteObserved", "PointOfInterest", "Event", "IssueReporting",
    "Streetlight", "Building", "TrafficSignal", "ParticipationProject",
}  # fmt: skip
# Relationship targets outside the demo: roads, street-light groups and the city as an organisation.
EXTERNAL_TARGETS = ("urn:ngsi-ld:Road:", "urn:ngsi-ld:StreetlightGroup:", "urn:ngsi-ld:Organization:")


@pytest.fixture(scope="module")
def entities() -> list[dict[str, Any]]:
    return demo_entities(NOW)


def test_the_demo_covers_every_model_the_city_uses(entities: list[dict[str, Any]]) -> None:
    counts = type_counts(entities)
    assert set(counts) == EXPECTED_TYPES
    assert counts["WeatherObserved"] == 7 and counts["TrafficSignal"] >= 1 and counts["ParticipationProject"] >= 2
    assert len({entity["id"] for entity in entities}) == len(entities)


def test_every_demo_entity_satisfies_its_model(entities: list[dict[str, Any]]) -> None:
    invalid = {entity["id"]: [str(issue) for issue in validate(entity)] for entity in entities}
    assert {entity_id: issues for entity_id, issues in invalid.items() if issues} == {}


def test_the_places_the_issue_names_are_there(entities: list[dict[str, Any]]) -> None:
    names = {entity["name"]["value"] for entity in entities if "name" in entity}
    for place in ("Maximilianpark", "Tierpark Hamm", "Gustav-Lübcke-Museum", "Maximare", "Kurpark Hamm", "LSA Heßlerstraße / Marker Allee"):
        assert place in names
    districts = {entity["scope"] for entity in entities if entity["type"] == "WeatherObserved"}
    assert districts == {f"/Hamm/{d}" for d in ("Mitte", "Heessen", "Bockum-Hövel", "Uentrop", "Pelkum", "Herringen", "Rhynern")}
    flows = {entity.get("vehicleType", {}).get("value") or entity.get("itemSubType", {}).get("value") for entity in entities
             if entity["type"] in ("TrafficFlowObserved", "ItemFlowObserved")}
    assert {"car", "bicycle", "pedestrian"} <= flows
    assert all("lora" in entity["supportedProtocol"]["value"] for entity in entities
               if entity["type"] == "Device" and "sensor" in entity["id"])


def _coordinates(geometry: Any) -> Iterator[list[float]]:
    if isinstance(geometry, list) and geometry and isinstance(geometry[0], (int, float)):
        yield geometry
    elif isinstance(geometry, list):
        for item in geometry:
            yield from _coordinates(item)


def test_every_location_is_in_hamm(entities: list[dict[str, Any]]) -> None:
    west, south, east, north = HAMM_BBOX
    for entity in entities:
        for name, attribute in entity.items():
            for instance in attribute if isinstance(attribute, list) else [attribute]:
                if isinstance(instance, dict) and instance.get("type") == "GeoProperty":
                    for lon, lat in _coordinates(instance["value"]["coordinates"]):
                        assert west < lon < east and south < lat < north, (entity["id"], name)


def test_relationships_point_at_demo_entities(entities: list[dict[str, Any]]) -> None:
    ids = {entity["id"] for entity in entities}
    for entity in entities:
        for name, attribute in entity.items():
            if isinstance(attribute, dict) and attribute.get("type") == "Relationship":
                targets = attribute["object"] if isinstance(attribute["object"], list) else [attribute["object"]]
                for target in targets:
                    assert target in ids or target.startswith(EXTERNAL_TARGETS), (entity["id"], name, target)


def test_values_are_plausible(entities: list[dict[str, Any]]) -> None:
    by_id = {entity["id"]: entity for entity in entities}
    car_park = by_id["urn:ngsi-ld:OffStreetParking:hamm-hauptbahnhof"]
    assert 0 <= car_park["availableSpotNumber"]["value"] <= car_park["totalSpotNumber"]["value"]
    assert car_park["availableSpotNumber"]["observedAt"] == "2026-11-26T08:00:00Z"
    temperatures = [entity["temperature"]["value"] for entity in entities if entity["type"] == "WeatherObserved"]
    assert all(-15 < t < 25 for t in temperatures)  # late November
    assert by_id["urn:ngsi-ld:WeatherObserved:hamm-mitte"]["temperature"]["value"] == max(temperatures)  # heat island
    rush_hour = by_id["urn:ngsi-ld:TrafficFlowObserved:hamm-werler-strasse"]["intensity"]["value"]
    night = demo_entities(NOW.replace(hour=2))
    assert rush_hour > 3 * next(e for e in night if e["id"].endswith("hamm-werler-strasse"))["intensity"]["value"]


def test_the_demo_is_the_same_for_the_same_time() -> None:
    assert demo_entities(NOW) == demo_entities(NOW)


def test_a_week_of_history_ends_in_the_loaded_values(entities: list[dict[str, Any]]) -> None:
    bodies = list(demo_history(NOW, days=7, max_instances=500))
    assert all(sum(len(v) for k, v in body.items() if k not in ("id", "type")) <= 500 for body in bodies)
    series: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for body in bodies:
        for name, instances in body.items():
            if name not in ("id", "type"):
                series.setdefault((body["id"], name), []).extend(instances)
    observed_types = {entity_id.split(":")[2] for entity_id, _ in series}
    assert {"WeatherObserved", "AirQualityObserved", "TrafficFlowObserved", "ItemFlowObserved", "CrowdFlowObserved",
            "OffStreetParking", "BikeHireDockingStation", "WasteContainer"} <= observed_types
    by_id = {entity["id"]: entity for entity in entities}
    for (entity_id, name), instances in series.items():
        times = [datetime.fromisoformat(instance["observedAt"]) for instance in instances]
        assert times == sorted(times) and len(set(times)) == len(times)
        assert NOW - timedelta(days=7) < times[0] <= NOW - timedelta(days=6)  # one step (at most a day) after the start
        assert instances[-1]["value"] == by_id[entity_id][name]["value"]
        assert instances[-1]["observedAt"] == by_id[entity_id][name]["observedAt"]
    temperature = series[("urn:ngsi-ld:WeatherObserved:hamm-mitte", "temperature")]
    assert len(temperature) == 7 * 96 and temperature[0]["unitCode"] == "CEL"


def test_every_history_instance_satisfies_the_model() -> None:
    for body in demo_history(NOW, days=1):
        chosen = model(body["type"])
        for name, instances in body.items():
            if name in ("id", "type"):
                continue
            for instance in instances[:: max(1, len(instances) // 8)]:
                issues = [issue for issue in validate({"id": body["id"], "type": body["type"], name: instance}, model=chosen)
                          if issue.path.split(".")[0].split("[")[0] == name]
                assert issues == [], (body["id"], name, instance)


# -- loading into a real broker ------------------------------------------------------------------------------


class BrokerProcess:
    """`citycontext serve` on a free 127.0.0.1 port with a fresh SQLite file."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "broker.cli", "serve", "--port", str(self.port), "--store", "sqlite:///demo.db"],
            cwd=workdir,
            env={**os.environ, "PYTHONPATH": str(ROOT), "CITYCONTEXT_LOG_LEVEL": "warning"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "the broker exited early"
            try:
                if httpx.get(f"{self.url}/ready", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        self.process.kill()
        raise AssertionError("the broker did not start within 30 s")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    process = BrokerProcess(tmp_path_factory.mktemp("demo-broker"))
    try:
        yield process
    finally:
        process.stop()


def _link(url: str) -> dict[str, str]:
    return {"Link": f'<{url}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'}


async def test_the_demo_loads_and_every_entity_the_broker_returns_validates(broker: BrokerProcess) -> None:
    report = await load_demo(broker.url, now=NOW)
    assert report.errors == []
    assert report.entities_by_type == type_counts(demo_entities(NOW))
    async with httpx.AsyncClient(base_url=f"{broker.url}{API}", timeout=10) as http:
        for entity_type, expected in report.entities_by_type.items():
            headers = _link(report.context_url_for(entity_type))
            response = await http.get("/entities", params={"type": entity_type, "count": "true", "limit": 1000}, headers=headers)
            assert response.status_code == 200, response.text
            assert int(response.headers["NGSILD-Results-Count"]) == expected, entity_type
            returned = response.json()
            assert len(returned) == expected
            for entity in returned:
                assert entity["type"] == entity_type  # the names are the Smart Data Models names
                assert validate(entity) == [], entity["id"]
            key_values = await http.get("/entities", params={"type": entity_type, "options": "keyValues", "limit": 1000}, headers=headers)
            for entity in key_values.json():
                assert validate(entity, representation="keyValues") == [], entity["id"]
        # Without the model's @context the names are the Smart Data Models IRIs.
        raw = (await http.get("/entities/urn:ngsi-ld:OffStreetParking:hamm-hauptbahnhof")).json()
        assert raw["type"] == model("OffStreetParking").type_iri
        assert "https://smartdatamodels.org/dataModel.Parking/availableSpotNumber" in raw


async def test_loading_again_reuses_the_hosted_contexts_and_replaces_the_entities(broker: BrokerProcess) -> None:
    first = await load_demo(broker.url, now=NOW)
    second = await load_demo(broker.url, now=NOW + timedelta(hours=1))
    assert second.context_urls == first.context_urls
    assert second.entity_count == first.entity_count
    async with httpx.AsyncClient(base_url=f"{broker.url}{API}", timeout=10) as http:
        hosted = (await http.get("/jsonldContexts", params={"kind": "Hosted"})).json()
        parking = (
            await http.get(
                "/entities/urn:ngsi-ld:OffStreetParking:hamm-hauptbahnhof",
                headers=_link(second.context_url_for("OffStreetParking")),
            )
        ).json()
    assert len(hosted) == len(first.context_urls)
    assert parking["availableSpotNumber"]["observedAt"] == "2026-11-26T09:00:00Z"


async def test_the_demo_loads_into_a_tenant(broker: BrokerProcess) -> None:
    report = await load_demo(broker.url, tenant="demo-tenant", now=NOW)
    assert report.errors == [] and report.tenant == "demo-tenant"
    async with httpx.AsyncClient(base_url=f"{broker.url}{API}", timeout=10) as http:
        types = (await http.get("/types", headers={"NGSILD-Tenant": "demo-tenant"})).json()
    assert len(types["typeList"]) == len(EXPECTED_TYPES)


def test_the_demo_command_prints_what_it_loaded(broker: BrokerProcess, capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="citycontext")
    commands = parser.add_subparsers(dest="command")
    add_demo_command(commands)
    add_serve_demo_option(commands.add_parser("serve"))
    assert parser.parse_args(["serve", "--demo"]).demo is True
    args = parser.parse_args(["demo", "--broker", broker.url, "--tenant", "cli-demo"])
    assert run_demo_command(args) == 0
    out = capsys.readouterr().out
    assert "Loaded 163 entities of 27 types" in out and "TrafficSignal" in out and "jsonldContexts" in out


def test_the_demo_command_fails_clearly_without_a_broker(capsys: pytest.CaptureFixture[str]) -> None:
    args = argparse.Namespace(broker=f"http://127.0.0.1:{free_port()}", tenant=None)
    assert run_demo_command(args) == 2
    assert "cannot load the demo" in capsys.readouterr().err


def test_serve_demo_loads_in_the_background_once_the_broker_is_ready(broker: BrokerProcess) -> None:
    thread = start_demo_loader(broker.url, tenant="serve-demo", ready_timeout_s=10)
    thread.join(timeout=30)
    assert not thread.is_alive()
    types = httpx.get(f"{broker.url}{API}/types", headers={"NGSILD-Tenant": "serve-demo"}, timeout=10).json()
    assert len(types["typeList"]) == len(EXPECTED_TYPES)


async def test_load_demo_reports_an_unreachable_broker() -> None:
    with pytest.raises(DemoLoadError, match="cannot load the demo"):
        await load_demo(f"http://127.0.0.1:{free_port()}", timeout_s=2)


async def test_the_history_loads_into_the_temporal_api(broker: BrokerProcess) -> None:
    report = await load_demo(broker.url, tenant="history", now=NOW)
    try:
        await load_history(report, now=NOW, days=1)
    except DemoLoadError as exc:
        if "has no temporal API" in str(exc):
            pytest.skip("this broker has no temporal API yet")
        raise
    assert report.history_instances > 5000
    async with httpx.AsyncClient(base_url=f"{broker.url}{API}", timeout=10) as http:
        response = await http.get(
            "/temporal/entities/urn:ngsi-ld:WeatherObserved:hamm-mitte",
            params={"attrs": "temperature", "options": "temporalValues", "timerel": "after", "timeAt": "2026-11-25T00:00:00Z"},
            headers={"NGSILD-Tenant": "history", **_link(report.context_url_for("WeatherObserved"))},
        )
    assert response.status_code == 200, response.text
    values = response.json()["temperature"]["values"]
    assert len(values) >= 96  # a day of 15-minute readings
