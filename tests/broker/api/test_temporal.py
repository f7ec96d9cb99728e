# SPDX-License-Identifier: EUPL-1.2
"""The temporal API under /ngsi-ld/v1/temporal, on both stores, as a client sees it.

The page of instances is 5 here (CITYCONTEXT_TEMPORAL_PAGE_SIZE_INSTANCES), so that temporal
pagination (206 + Content-Range) shows with a handful of readings. Aggregations are compared
with values the test computes itself with the statistics module.
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from broker.settings import Settings
from tests.broker.temporal.history_support import clear_history
from tests.conftest import API

TEMPORAL = f"{API}/temporal/entities"
ERRORS = "https://uri.etsi.org/ngsi-ld/errors/"
PAGE = 5
T0 = datetime(2026, 7, 1, tzinfo=UTC)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"temporal_page_size_instances": PAGE})


@pytest.fixture
async def api(client: httpx.AsyncClient, settings: Settings, request: pytest.FixtureRequest) -> AsyncIterator[httpx.AsyncClient]:
    await clear_history(settings, request)
    yield client


def at(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


def ms_text(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S.") + "000Z"


def url(entity_id: str) -> str:
    return f"{TEMPORAL}/{quote(entity_id, safe=':')}"


async def post_readings(
    api: httpx.AsyncClient, entity_id: str, readings: list[tuple[float, Any]], attribute: str = "temperature", **extra: Any
) -> httpx.Response:
    body = {
        "id": entity_id,
        "type": "WeatherObserved",
        attribute: {"type": "Property", "values": [[value, at(minutes)] for minutes, value in readings], **extra},
    }
    response = await api.post(TEMPORAL, json=body)
    assert response.status_code in (201, 204), response.text
    return response


def values_of(body: dict[str, Any], attribute: str = "temperature") -> list[Any]:
    return [instance["value"] for instance in body.get(attribute, [])]


async def get(api: httpx.AsyncClient, path: str, status: int = 200, **params: Any) -> httpx.Response:
    response = await api.get(path, params=params)
    assert response.status_code == status, response.text
    return response


# -- history from the core API -------------------------------------------------------------------


async def test_every_core_write_path_is_recorded(api: httpx.AsyncClient, unique_id: Callable[[str], str]) -> None:
    station = unique_id("WeatherObserved")
    created = await api.post(
        f"{API}/entities",
        json={"id": station, "type": "WeatherObserved", "temperature": {"type": "Property", "value": 20.0, "observedAt": at(0)}},
    )
    assert created.status_code == 201, created.text
    path = f"{API}/entities/{station}"
    assert (await api.patch(f"{path}/attrs/temperature", json={"value": 21.0, "observedAt": at(10)})).status_code == 204
    assert (await api.patch(path, json={"temperature": {"value": 22.0, "observedAt": at(20)}})).status_code == 204
    upsert = [{"id": station, "type": "WeatherObserved", "temperature": {"type": "Property", "value": 23.0, "observedAt": at(30)}}]
    assert (await api.post(f"{API}/entityOperations/upsert?options=update", json=upsert)).status_code == 204
    merge = [{"id": station, "type": "WeatherObserved", "temperature": {"type": "Property", "value": 24.0, "observedAt": at(40)}}]
    assert (await api.post(f"{API}/entityOperations/merge", json=merge)).status_code == 204
    # The same value at the same instant again changes nothing, so it adds no instance.
    assert (await api.patch(f"{path}/attrs/temperature", json={"value": 24.0, "observedAt": at(40)})).status_code == 204
    assert (await api.delete(f"{path}/attrs/temperature")).status_code == 204

    # Five readings and the deletion: one more than a page of 5, so the first page is partial.
    body = (await get(api, url(station), 206)).json()
    assert values_of(body) == [20.0, 21.0, 22.0, 23.0, 24.0]
    assert [i["observedAt"] for i in body["temperature"]] == [at(m) for m in (0, 10, 20, 30, 40)]
    assert all(i["instanceId"].startswith("urn:ngsi-ld:attribute:instance:") for i in body["temperature"])
    assert "createdAt" not in body["temperature"][0]
    with_sys = (await get(api, url(station), options="sysAttrs", timerel="before", timeAt=at(15))).json()
    assert values_of(with_sys) == [20.0, 21.0] and {"createdAt", "modifiedAt"} <= set(with_sys["temperature"][0])
    deleted = (await get(api, url(station), timeproperty="deletedAt")).json()
    [deletion] = deleted["temperature"]
    assert deletion["value"] == "urn:ngsi-ld:null" and "deletedAt" in deletion and "observedAt" not in deletion
    assert len({i["instanceId"] for i in body["temperature"] + [deletion]}) == 6

    assert (await api.delete(path)).status_code == 204
    assert (await get(api, url(station), attrs="temperature", timerel="after", timeAt=at(0))).json()["id"] == station


async def test_modified_at_orders_by_the_instant_of_each_write(api: httpx.AsyncClient, unique_id: Callable[[str], str]) -> None:
    station = unique_id("WeatherObserved")
    await api.post(f"{API}/entities", json={"id": station, "type": "WeatherObserved", "name": {"type": "Property", "value": "a"}})
    await api.patch(f"{API}/entities/{station}/attrs/name", json={"value": "b"})
    body = (await get(api, url(station), timeproperty="modifiedAt", options="temporalValues")).json()
    pairs = body["name"]["values"]
    assert [value for value, _ in pairs] == ["a", "b"] and pairs[0][1] <= pairs[1][1]


# -- time windows, lastN, pagination -----------------------------------------------------------


@pytest.mark.parametrize(
    "params,expected",
    [
        ({"timerel": "before", "timeAt": at(120)}, [0.0, 1.0]),  # before: strictly before timeAt
        ({"timerel": "after", "timeAt": at(120)}, [2.0, 3.0, 4.0, 5.0]),  # after: from timeAt on
        ({"timerel": "between", "timeAt": at(60), "endTimeAt": at(180)}, [1.0, 2.0]),  # [timeAt, endTimeAt)
        ({"timerel": "after", "timeAt": at(600)}, []),
    ],
)
async def test_each_timerel(
    api: httpx.AsyncClient, unique_id: Callable[[str], str], params: dict[str, str], expected: list[float]
) -> None:
    station = unique_id("WeatherObserved")
    await post_readings(api, station, [(60.0 * h, float(h)) for h in range(6)])
    assert values_of((await get(api, url(station), **params)).json()) == expected
    listed = (await get(api, TEMPORAL, type="WeatherObserved", id=station, **params)).json()
    assert [values_of(entity) for entity in listed] == [expected]


async def test_last_n_gives_the_latest_instances_oldest_first(api: httpx.AsyncClient, unique_id: Callable[[str], str]) -> None:
    station = unique_id("WeatherObserved")
    await post_readings(api, station, [(60.0 * h, float(h)) for h in range(6)])
    response = await get(api, url(station), lastN="2")
    assert values_of(response.json()) == [4.0, 5.0] and "content-range" not in response.headers
    before = await get(api, url(station), lastN="2", timerel="before", timeAt=at(240))
    assert values_of(before.json()) == [2.0, 3.0]


async def test_more_instances_than_a_page_is_206_and_the_range_continues_exactly(
    api: httpx.AsyncClient, unique_id: Callable[[str], str]
) -> None:
    station = unique_id("WeatherObserved")
    temperatures = [(10.0 * i, float(i)) for i in range(12)]  # every 10 minutes, 00:00 to 01:50
    humidities = [(30.0 * i, 0.5 + i / 100) for i in range(4)]  # every 30 minutes
    await post_readings(api, station, temperatures)
    await post_readings(api, station, humidities, attribute="relativeHumidity")
    seen: dict[str, list[Any]] = {"temperature": [], "relativeHumidity": []}
    params: dict[str, str] = {}
    ranges = []
    for _ in range(5):
        response = await api.get(url(station), params=params)
        body = response.json()
        for attribute in seen:
            seen[attribute] += values_of(body, attribute)
        if response.status_code == 200:
            break
        assert response.status_code == 206, response.text
        ranges.append(response.headers["content-range"])
        end = response.headers["content-range"].split("/")[0].rsplit("-", 3)[-3:]
        end_time = datetime.fromisoformat("-".join(end))
        params = {"timerel": "after", "timeAt": (end_time + timedelta(milliseconds=1)).isoformat(timespec="milliseconds").replace("+00:00", "Z")}
    assert ranges[0] == f"date-time {ms_text(0)}-{ms_text(40)}/*"
    assert seen["temperature"] == [value for _, value in temperatures]  # nothing skipped, nothing twice
    assert seen["relativeHumidity"] == [value for _, value in humidities]


async def test_last_n_beyond_a_page_is_206_backwards_with_size(api: httpx.AsyncClient, unique_id: Callable[[str], str]) -> None:
    station = unique_id("WeatherObserved")
    await post_readings(api, station, [(10.0 * i, float(i)) for i in range(12)])
    response = await get(api, url(station), 206, lastN="8")
    assert values_of(response.json()) == [7.0, 8.0, 9.0, 10.0, 11.0]
    assert response.headers["content-range"] == f"date-time {ms_text(110)}-{ms_text(70)}/8"
    rest = await get(api, url(station), lastN="3", timerel="before", timeAt=at(70))
    assert values_of(rest.json()) == [4.0, 5.0, 6.0]


# -- representations -------------------------------------------------------------------------------


async def test_temporal_values_per_dataset(api: httpx.AsyncClient, unique_id: Callable[[str], str]) -> None:
    station = unique_id("WeatherObserved")
    await post_readings(api, station, [(0.0, 20.0), (10.0, 21.0)])
    await post_readings(api, station, [(0.0, 19.0)], datasetId="urn:ngsi-ld:Dataset:roof")
    body = (await get(api, url(station), format="temporalValues")).json()
    by_dataset = {holder.get("datasetId"): holder for holder in body["temperature"]}
    assert by_dataset[None] == {"type": "Property", "values": [[20.0, at(0)], [21.0, at(10)]]}
    assert by_dataset["urn:ngsi-ld:Dataset:roof"]["values"] == [[19.0, at(0)]]
    only_roof = (await get(api, url(station), options="temporalValues", datasetId="urn:ngsi-ld:Dataset:roof")).json()
    assert only_roof["temperature"]["values"] == [[19.0, at(0)]]


def expected_aggregates(values: list[float]) -> dict[str, Any]:
    return {
        "totalCount": len(values),
        "distinctCount": len(set(values)),
        "sum": math.fsum(values),
        "avg": statistics.fmean(values),
        "min": min(values),
        "max": max(values),
        "stddev": statistics.pstdev(values),
        "sumsq": math.fsum(v * v for v in values),
    }


async def test_aggregations_match_values_computed_independently(api: httpx.AsyncClient, unique_id: Callable[[str], str]) -> None:
    station = unique_id("WeatherObserved")
    rng = random.Random(20260701)
    readings = [(10.0 * i, round(rng.uniform(14, 31), 1)) for i in range(18)]  # three hours, every 10 minutes
    readings[3] = (30.0, readings[2][1])  # a repeated value, for distinctCount
    await post_readings(api, station, readings)
    methods = "totalCount,distinctCount,sum,avg,min,max,stddev,sumsq"
    response = await get(
        api, url(station), options="aggregatedValues", aggrMethods=methods, aggrPeriodDuration="PT1H",
        timerel="between", timeAt=at(0), endTimeAt=at(180), lastN="1",
    )
    body = response.json()["temperature"]
    assert body["type"] == "Property"
    for hour in range(3):
        expected = expected_aggregates([value for minutes, value in readings if 60 * hour <= minutes < 60 * (hour + 1)])
        for method, value in expected.items():
            got, start, end = body[method][hour]
            assert (start, end) == (ms_text(60 * hour), ms_text(60 * (hour + 1)))
            assert got == pytest.approx(value, rel=1e-9, abs=1e-9), (method, hour)
    whole = (await get(api, url(station), aggrMethods="avg,stddev", aggrPeriodDuration="PT0S")).json()["temperature"]
    everything = [value for _, value in readings]
    assert whole["avg"] == [[pytest.approx(statistics.fmean(everything)), ms_text(0), ms_text(170)]]
    assert whole["stddev"][0][0] == pytest.approx(statistics.pstdev(everything))


async def test_calendar_month_aggregation(api: httpx.AsyncClient, unique_id: Callable[[str], str]) -> None:
    station = unique_id("WeatherObserved")
    july = [(60.0 * 24 * d, 20.0 + d) for d in range(0, 31, 10)]  # July 1, 11, 21, 31
    august = [(60.0 * 24 * (31 + d), 10.0 + d) for d in (0, 5)]  # August 1 and 6
    await post_readings(api, station, july + august)
    body = (await get(api, TEMPORAL, type="WeatherObserved", aggrMethods="sum,max", aggrPeriodDuration="P1M")).json()
    [entity] = [e for e in body if e["id"] == station]
    assert entity["temperature"]["sum"] == [
        [sum(v for _, v in july), "2026-07-01T00:00:00.000Z", "2026-08-01T00:00:00.000Z"],
        [sum(v for _, v in august), "2026-08-01T00:00:00.000Z", "2026-09-01T00:00:00.000Z"],
    ]


# -- queries ------------------------------------------------------------------------------------------


async def test_query_selects_by_type_attrs_q_in_the_window_geo_and_scope(api: httpx.AsyncClient, unique_id: Callable[[str], str]) -> None:
    hot, cold, park = unique_id("WeatherObserved"), unique_id("WeatherObserved"), unique_id("OffStreetParking")
    for entity_id, entity_type, lon, scope in ((hot, "WeatherObserved", 7.8075, "/Hamm/Mitte"), (cold, "WeatherObserved", 7.8761, "/Hamm/Uentrop"), (park, "OffStreetParking", 7.8080, "/Hamm/Mitte")):
        entity = {
            "id": entity_id, "type": entity_type, "scope": scope,
            "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [lon, 51.678]}},
        }
        assert (await api.post(f"{API}/entities", json=entity)).status_code == 201
    await post_readings(api, hot, [(0.0, 31.0), (600.0, 18.0)])
    await post_readings(api, cold, [(0.0, 12.0), (600.0, 35.0)])  # hot only outside the window below
    window = {"timerel": "before", "timeAt": at(60)}

    async def ids(**params: str) -> list[str]:
        response = await get(api, TEMPORAL, **{**window, **params})
        return sorted(entity["id"] for entity in response.json())

    assert await ids(type="WeatherObserved") == sorted([hot, cold])
    assert await ids(attrs="temperature") == sorted([hot, cold])
    assert await ids(type="WeatherObserved", q="temperature>30") == [hot]
    assert await ids(type="WeatherObserved", idPattern=".*", q="temperature<20") == [cold]
    near = {"georel": "near;maxDistance==1000", "geometry": "Point", "coordinates": "[7.8075,51.678]"}
    assert await ids(type="WeatherObserved,OffStreetParking", **near) == sorted([hot, park])
    assert await ids(type="WeatherObserved", **near) == [hot]
    assert await ids(type="WeatherObserved", scopeQ="/Hamm/Uentrop") == [cold]
    page = await get(api, TEMPORAL, type="WeatherObserved", limit="1", count="true", **window)
    assert page.headers["NGSILD-Results-Count"] == "2" and 'rel="next"' in page.headers["Link"]
    assert len(page.json()) == 1 and list(page.json()[0]) == ["id", "type", "temperature"]
    query = {
        "type": "Query",
        "entities": [{"type": "WeatherObserved"}],
        "q": "temperature>30",
        "temporalQ": {"timerel": "after", "timeAt": at(300), "lastN": 1},
    }
    posted = await api.post(f"{API}/temporal/entityOperations/query", json=query)
    assert posted.status_code == 200, posted.text
    assert [(e["id"], values_of(e)) for e in posted.json()] == [(cold, [35.0])]


# -- temporal writes -------------------------------------------------------------------------------


async def test_temporal_writes_create_append_modify_and_delete(api: httpx.AsyncClient, unique_id: Callable[[str], str]) -> None:
    station = unique_id("WeatherObserved")
    normalized = {
        "id": station,
        "type": "WeatherObserved",
        "temperature": [
            {"type": "Property", "value": 20.0, "observedAt": at(0), "unitCode": "CEL"},
            {"type": "Property", "value": 21.0, "observedAt": at(10), "unitCode": "CEL"},
        ],
    }
    created = await api.post(TEMPORAL, json=normalized)
    assert created.status_code == 201 and created.headers["Location"] == url(station)
    assert (await api.post(TEMPORAL, json={**normalized, "temperature": [{"type": "Property", "value": 22.0, "observedAt": at(20)}]})).status_code == 204
    added = await api.post(f"{url(station)}/attrs", json={"relativeHumidity": [{"type": "Property", "value": 0.4, "observedAt": at(0)}]})
    assert added.status_code == 204, added.text
    missing = await api.post(f"{url(unique_id('WeatherObserved'))}/attrs", json={"relativeHumidity": {"value": 1}})
    assert missing.status_code == 404
    assert (await api.get(f"{API}/entities/{station}")).status_code == 404  # the history only; no current entity

    body = (await get(api, url(station))).json()
    assert values_of(body) == [20.0, 21.0, 22.0] and values_of(body, "relativeHumidity") == [0.4]
    first = body["temperature"][0]["instanceId"]
    patched = await api.patch(f"{url(station)}/attrs/temperature/{first}", json={"value": 19.5})
    assert patched.status_code == 204, patched.text
    second = body["temperature"][1]["instanceId"]
    assert (await api.delete(f"{url(station)}/attrs/temperature/{second}")).status_code == 204
    assert (await api.delete(f"{url(station)}/attrs/temperature/{second}")).status_code == 404
    after = (await get(api, url(station))).json()
    assert values_of(after) == [19.5, 22.0] and after["temperature"][0]["unitCode"] == "CEL"

    assert (await api.delete(f"{url(station)}/attrs/relativeHumidity")).status_code == 204
    assert "relativeHumidity" not in (await get(api, url(station))).json()
    assert (await api.delete(f"{url(station)}/attrs/relativeHumidity")).status_code == 404
    assert (await api.delete(url(station))).status_code == 204
    gone = await api.get(url(station))
    assert gone.status_code == 404 and gone.json()["type"] == ERRORS + "ResourceNotFound"


async def test_delete_attribute_history_by_dataset_or_all(api: httpx.AsyncClient, unique_id: Callable[[str], str]) -> None:
    station = unique_id("WeatherObserved")
    await post_readings(api, station, [(0.0, 20.0)])
    await post_readings(api, station, [(0.0, 19.0)], datasetId="urn:ngsi-ld:Dataset:roof")
    await post_readings(api, station, [(0.0, 18.0)], datasetId="urn:ngsi-ld:Dataset:yard")
    assert (await api.delete(f"{url(station)}/attrs/temperature", params={"datasetId": "urn:ngsi-ld:Dataset:roof"})).status_code == 204
    assert sorted(values_of((await get(api, url(station))).json())) == [18.0, 20.0]
    assert (await api.delete(f"{url(station)}/attrs/temperature")).status_code == 204  # the default instance
    assert values_of((await get(api, url(station))).json()) == [18.0]
    assert (await api.delete(f"{url(station)}/attrs/temperature", params={"deleteAll": "true"})).status_code == 204
    assert "temperature" not in (await get(api, url(station))).json()


async def test_tenants_keep_their_history_apart(api: httpx.AsyncClient, unique_id: Callable[[str], str]) -> None:
    station = unique_id("WeatherObserved")
    body = {"id": station, "type": "WeatherObserved", "temperature": {"type": "Property", "value": 1.0, "observedAt": at(0)}}
    assert (await api.post(TEMPORAL, json=body, headers={"NGSILD-Tenant": "stadtklima"})).status_code == 201
    assert (await api.get(url(station), headers={"NGSILD-Tenant": "stadtklima"})).status_code == 200
    assert (await api.get(url(station))).status_code == 404
    nobody = await api.get(url(station), headers={"NGSILD-Tenant": "nobody"})
    assert nobody.status_code == 404 and nobody.json()["type"] == ERRORS + "NonexistentTenant"


# -- bad input ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params,error",
    [
        ({"timerel": "after"}, "BadRequestData"),  # timerel without timeAt
        ({"timerel": "between", "timeAt": at(60), "endTimeAt": at(0)}, "BadRequestData"),  # endTimeAt before timeAt
        ({"timerel": "between", "timeAt": at(0)}, "BadRequestData"),
        ({"timerel": "sometime", "timeAt": at(0)}, "BadRequestData"),
        ({"timerel": "after", "timeAt": "yesterday"}, "BadRequestData"),
        ({"aggrMethods": "median", "aggrPeriodDuration": "PT1H"}, "BadRequestData"),  # an unknown aggrMethod
        ({"aggrMethods": "avg", "aggrPeriodDuration": "1 hour"}, "BadRequestData"),  # a malformed duration
        ({"aggrMethods": "avg", "aggrPeriodDuration": "P1M2D"}, "BadRequestData"),  # calendar and fixed mixed
        ({"options": "aggregatedValues"}, "BadRequestData"),  # no aggrMethods
        ({"timeproperty": "expiresAt"}, "BadRequestData"),
        ({"lastN": "0"}, "BadRequestData"),
        ({"colour": "red"}, "InvalidRequest"),
    ],
)
async def test_bad_input_is_400_problem_details(
    api: httpx.AsyncClient, unique_id: Callable[[str], str], params: dict[str, str], error: str
) -> None:
    station = unique_id("WeatherObserved")
    await post_readings(api, station, [(0.0, 1.0)])
    for path, extra in ((url(station), {}), (TEMPORAL, {"type": "WeatherObserved"})):
        response = await api.get(path, params={**extra, **params})
        assert response.status_code == 400, response.text
        assert response.json()["type"] == ERRORS + error and response.json()["detail"]


async def test_bad_bodies_and_methods(api: httpx.AsyncClient, unique_id: Callable[[str], str]) -> None:
    station = unique_id("WeatherObserved")
    no_type = await api.post(TEMPORAL, json={"id": station, "temperature": {"value": 1}})
    assert no_type.status_code == 400 and no_type.json()["type"] == ERRORS + "BadRequestData"
    offset = await api.post(TEMPORAL, json={"id": station, "type": "W", "speed": [{"type": "Property", "value": 50, "observedAt": "2026-03-01T02:00:00+03:00"}]})
    assert offset.status_code == 400
    assert (await api.get(TEMPORAL)).status_code == 400  # a query needs a type, attrs, q or geo-query
    assert (await api.put(url(station), json={})).status_code == 405
    await post_readings(api, station, [(0.0, 1.0)])
    unknown = await api.patch(f"{url(station)}/attrs/temperature/urn:ngsi-ld:attribute:instance:x", json={"value": 2})
    assert unknown.status_code == 404
    bad_query = await api.post(f"{API}/temporal/entityOperations/query", json={"type": "Query", "entities": [{"type": "W"}], "temporalQ": {"timerel": "after"}})
    assert bad_query.status_code == 400 and bad_query.json()["type"] == ERRORS + "BadRequestData"


async def test_periods_at_the_end_of_time_end_at_the_last_instant_a_date_time_names(
    api: httpx.AsyncClient, unique_id: Callable[[str], str]
) -> None:
    # The last monthly period of an instance in December 9999 ends in year 10000, which no DateTime
    # (four-digit years) can name: it is shown ending at 9999-12-31T23:59:59.999Z.
    station = unique_id("EndOfTime")
    body = {
        "id": station,
        "type": "EndOfTime",  # a type of its own: no other test's query of the history meets it
        "temperature": [{"type": "Property", "value": 3.5, "observedAt": "9999-12-15T00:00:00Z"}],
    }
    assert (await api.post(TEMPORAL, json=body)).status_code == 201
    for duration in ("P1M", "P1D", "P1Y"):
        periods = (await get(api, url(station), aggrMethods="max", aggrPeriodDuration=duration)).json()["temperature"]["max"]
        assert periods[-1][0] == 3.5 and periods[-1][2] <= "9999-12-31T23:59:59.999Z", (duration, periods)
    too_long = await get(api, url(station), 400, aggrMethods="max", aggrPeriodDuration="P10000Y")
    assert too_long.json()["type"] == ERRORS + "BadRequestData"
