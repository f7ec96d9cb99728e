# SPDX-License-Identifier: EUPL-1.2
"""Open-data downloads: GET /open-data/{type}.csv|.geojson|.jsonl and `citycontext export`, parsed back."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from broker.settings import Settings
from tests.broker.temporal.history_support import clear_history
from tests.conftest import API

T0 = datetime(2026, 7, 1, tzinfo=UTC)
LICENCE = "Datenlizenz Deutschland – Namensnennung – Version 2.0"
ATTRIBUTION = "Stadt Hamm"


@pytest.fixture
async def api(client: httpx.AsyncClient, settings: Settings, request: pytest.FixtureRequest) -> AsyncIterator[httpx.AsyncClient]:
    await clear_history(settings, request)
    yield client


def at(hours: float) -> str:
    return (T0 + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
async def stations(api: httpx.AsyncClient, unique_id: Callable[[str], str]) -> list[tuple[str, ...]]:
    """Two climate stations with a day of hourly temperature and humidity (July 1), one reading on July 2,
    and a parking site that must never be exported with them. The expected rows, as strings."""
    rows: list[tuple[str, ...]] = []
    for n, lon in enumerate((7.8075, 7.8761)):
        station = unique_id("WeatherObserved")
        entity = {
            "id": station,
            "type": "WeatherObserved",
            "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [lon, 51.678]}},
            "name": {"type": "Property", "value": f"Station {n}"},
        }
        assert (await api.post(f"{API}/entities", json=entity)).status_code == 201
        temperature = [[round(15 + n + h / 4, 2), at(h)] for h in range(24)] + [[30.5, at(24)]]
        humidity = [[round(0.5 + h / 100, 2), at(h)] for h in range(24)]
        body = {
            "id": station,
            "type": "WeatherObserved",
            "temperature": {"type": "Property", "values": temperature, "unitCode": "CEL"},
            "relativeHumidity": {"type": "Property", "values": humidity},
        }
        assert (await api.post(f"{API}/temporal/entities", json=body)).status_code == 204
        rows += [(station, "WeatherObserved", "temperature", "", t, str(v), "CEL") for v, t in temperature[:24]]
        rows += [(station, "WeatherObserved", "relativeHumidity", "", t, str(v), "") for v, t in humidity]
    parking = {"id": unique_id("OffStreetParking"), "type": "OffStreetParking", "temperature": {"type": "Property", "value": 1, "observedAt": at(1)}}
    assert (await api.post(f"{API}/entities", json=parking)).status_code == 201
    return sorted(rows)


JULY_1 = {"attrs": "temperature,relativeHumidity", "from": "2026-07-01", "to": "2026-07-01"}


def parse_csv(text: str) -> tuple[str, list[tuple[str, ...]]]:
    first, _, rest = text.partition("\r\n")
    reader = csv.reader(io.StringIO(rest))
    header = next(reader)
    assert header == ["entity_id", "entity_type", "attribute", "dataset_id", "observed_at", "value", "unit_code"]
    return first, sorted(tuple(row) for row in reader)


async def test_csv_download_parses_back_to_the_instances(api: httpx.AsyncClient, stations: list[tuple[str, ...]]) -> None:
    response = await api.get("/open-data/WeatherObserved.csv", params=JULY_1)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["link"] == '<https://www.govdata.de/dl-de/by-2-0>; rel="license"'
    assert 'filename="WeatherObserved.csv"' in response.headers["content-disposition"]
    licence, rows = parse_csv(response.text)
    assert licence == f"# {LICENCE} (https://www.govdata.de/dl-de/by-2-0); {ATTRIBUTION}"
    assert rows == stations


async def test_jsonl_and_geojson_downloads_parse_back(api: httpx.AsyncClient, stations: list[tuple[str, ...]]) -> None:
    lines = (await api.get("/open-data/WeatherObserved.jsonl", params=JULY_1)).text.splitlines()
    meta = json.loads(lines[0])
    assert meta == {"licence": LICENCE, "licenceUrl": "https://www.govdata.de/dl-de/by-2-0", "attribution": ATTRIBUTION}
    records = [json.loads(line) for line in lines[1:]]
    assert sorted(_as_row(record) for record in records) == stations
    assert all(isinstance(record["value"], float) for record in records)

    response = await api.get("/open-data/WeatherObserved.geojson", params={**JULY_1, "attrs": "temperature"})
    assert response.headers["content-type"] == "application/geo+json"
    collection = response.json()
    assert collection["type"] == "FeatureCollection" and collection["licence"] == LICENCE
    assert collection["attribution"] == ATTRIBUTION
    features = collection["features"]
    assert sorted(_as_row(feature["properties"]) for feature in features) == [row for row in stations if row[2] == "temperature"]
    longitudes = {feature["properties"]["entity_id"]: feature["geometry"]["coordinates"][0] for feature in features}
    assert sorted(longitudes.values()) == [7.8075, 7.8761]


async def test_every_attribute_and_the_whole_history_without_filters(api: httpx.AsyncClient, stations: list[tuple[str, ...]]) -> None:
    _, rows = parse_csv((await api.get("/open-data/WeatherObserved.csv")).text)
    attributes = {row[2] for row in rows}
    assert attributes == {"temperature", "relativeHumidity", "name", "location"}
    assert sum(1 for row in rows if row[2] == "temperature") == 2 * 25  # July 2 included


async def test_bad_downloads(api: httpx.AsyncClient) -> None:
    assert (await api.get("/open-data/WeatherObserved.xlsx")).status_code == 404
    bad_day = await api.get("/open-data/WeatherObserved.csv", params={"from": "2026-13-01"})
    assert bad_day.status_code == 400 and bad_day.json()["type"].endswith("BadRequestData")
    backwards = await api.get("/open-data/WeatherObserved.csv", params={"from": "2026-07-02", "to": "2026-07-01"})
    assert backwards.status_code == 400
    assert (await api.get("/open-data/WeatherObserved.csv", params={"colour": "red"})).status_code == 400
    assert (await api.post("/open-data/WeatherObserved.csv")).status_code == 405



async def test_a_type_named_in_other_letters_downloads_under_its_name(api: httpx.AsyncClient, unique_id: Callable[[str], str]) -> None:
    # A response header is Latin-1: the file name goes in ASCII and, as it is, in filename* (RFC 6266).
    entity = {"id": unique_id("Grünfläche"), "type": "Grünfläche", "area": {"type": "Property", "value": 1200}}
    assert (await api.post(f"{API}/entities", json=entity)).status_code == 201
    response = await api.get("/open-data/Gr%C3%BCnfl%C3%A4che.csv")
    assert response.status_code == 200, response.text
    disposition = response.headers["content-disposition"]
    assert 'filename="Gr_nfl_che.csv"' in disposition and "filename*=UTF-8''Gr%C3%BCnfl%C3%A4che.csv" in disposition
    _, rows = parse_csv(response.text)
    assert [row[2] for row in rows] == ["area"]
    assert (await api.get("/open-data/%C4%80.csv")).status_code == 200  # no such type: an empty file

async def test_the_cli_export_writes_the_same_rows(
    api: httpx.AsyncClient, stations: list[tuple[str, ...]], settings: Settings
) -> None:
    args = ["export", "--store", settings.store, "--type", "WeatherObserved", "--attrs", "temperature,relativeHumidity"]
    args += ["--from", "2026-07-01", "--to", "2026-07-01"]
    done = await asyncio.to_thread(cli, *args)
    assert done.returncode == 0, done.stderr.decode()
    licence, rows = parse_csv(done.stdout.decode())
    assert LICENCE in licence and rows == stations
    jsonl = await asyncio.to_thread(cli, *args, "--format", "jsonl")
    assert sorted(_as_row(json.loads(line)) for line in jsonl.stdout.decode().splitlines()[1:]) == stations
    bad = await asyncio.to_thread(cli, *args[:5], "--from", "July")
    assert bad.returncode == 2 and b"--from" in bad.stderr


def cli(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "broker.cli", *args], capture_output=True, timeout=60, check=False)


def _as_row(record: dict[str, Any]) -> tuple[str, ...]:
    return (
        record["entity_id"],
        record["entity_type"],
        record["attribute"],
        record["dataset_id"],
        record["observed_at"],
        str(record["value"]),
        record["unit_code"],
    )
