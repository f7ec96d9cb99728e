# SPDX-License-Identifier: EUPL-1.2
"""GET /entities and POST /entityOperations/query on the Hamm test set."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.conftest import API
from tests.hamm import ENTITIES, HBF, TODAY

ERRORS = "https://uri.etsi.org/ngsi-ld/errors/"


@pytest.fixture
async def hamm(client: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    response = await client.post(f"{API}/entityOperations/create", json=ENTITIES)
    assert response.status_code == 201, response.text
    yield client


async def ids(client: httpx.AsyncClient, **params: str) -> list[str]:
    response = await client.get(f"{API}/entities", params={"limit": "100", **params})
    assert response.status_code == 200, response.text
    return [entity["id"].rsplit(":", 1)[1] for entity in response.json()]


async def test_car_parks_with_more_than_10_free_spots_within_1_km_of_the_hauptbahnhof(hamm: httpx.AsyncClient) -> None:
    found = await ids(
        hamm,
        type="OffStreetParking",
        q="availableSpotNumber>10",
        georel="near;maxDistance==1000",
        geometry="Point",
        coordinates=f"[{HBF[0]},{HBF[1]}]",
    )
    assert found == ["hamm-bahnhof", "hamm-sued"]


async def test_weather_observed_today_at_30_degrees_or_more_in_hamm_mitte(hamm: httpx.AsyncClient) -> None:
    found = await ids(
        hamm,
        type="WeatherObserved",
        q=f"temperature>=30;temperature.observedAt>={TODAY.strftime('%Y-%m-%dT%H:%M:%SZ')}",
        scopeQ="/Hamm/Mitte/#",
    )
    assert found == ["hamm-marktplatz"]


@pytest.mark.parametrize(
    "selection,expected",
    [
        ("BikeHireDockingStation", ["hamm-hbf", "hamm-maximilianpark"]),
        ("BikeHireDockingStation,TrafficFlowObserved", ["hamm-hbf", "hamm-maximilianpark", "hamm-hesslerstrasse"]),
        ("BikeHireDockingStation|TrafficFlowObserved", ["hamm-hbf", "hamm-maximilianpark", "hamm-hesslerstrasse"]),
        ("(TrafficFlowObserved;Device)", ["hamm-hesslerstrasse"]),
        ("(OffStreetParking;Device)", []),
    ],
)
async def test_type_selection_language(hamm: httpx.AsyncClient, selection: str, expected: list[str]) -> None:
    assert sorted(await ids(hamm, type=selection)) == sorted(expected)


async def test_id_list_and_id_pattern(hamm: httpx.AsyncClient) -> None:
    assert await ids(
        hamm, type="OffStreetParking", id="urn:ngsi-ld:OffStreetParking:hamm-sued,urn:ngsi-ld:OffStreetParking:hamm-bahnhof"
    ) == ["hamm-bahnhof", "hamm-sued"]
    assert await ids(hamm, type="WeatherObserved", idPattern=".*:hamm-(rat|kur).*") == ["hamm-kurpark", "hamm-rathaus"]


async def test_attrs_selects_entities_and_attributes(hamm: httpx.AsyncClient) -> None:
    response = await hamm.get(f"{API}/entities", params={"attrs": "availableBikeNumber"})
    body = response.json()
    assert [entity["id"] for entity in body] == [
        "urn:ngsi-ld:BikeHireDockingStation:hamm-hbf",
        "urn:ngsi-ld:BikeHireDockingStation:hamm-maximilianpark",
    ]
    assert set(body[0]) == {"id", "type", "availableBikeNumber"}


@pytest.mark.parametrize(
    "q,expected",
    [
        ("availableSpotNumber==121", ["hamm-bahnhof"]),
        ("availableSpotNumber!=121", ["hamm-allee-center", "hamm-maximilianpark", "hamm-sued"]),
        ("availableSpotNumber<55", ["hamm-allee-center"]),
        ("availableSpotNumber<=55", ["hamm-allee-center", "hamm-sued"]),
        ("availableSpotNumber>121", ["hamm-maximilianpark"]),
        ("availableSpotNumber==50..150", ["hamm-bahnhof", "hamm-sued"]),
        ("availableSpotNumber==8,300", ["hamm-allee-center", "hamm-maximilianpark"]),
        ('name=~"(?i)s.ed$"', ["hamm-sued"]),
        ('name!~="(?i)park"', []),
        ('category=="feeCharged"', ["hamm-allee-center", "hamm-bahnhof", "hamm-maximilianpark", "hamm-sued"]),
        ("availableSpotNumber>100|totalSpotNumber>1000", ["hamm-allee-center", "hamm-bahnhof", "hamm-maximilianpark"]),
        ("(availableSpotNumber>100|totalSpotNumber>1000);totalSpotNumber<450", ["hamm-bahnhof"]),
        ('refParkingGroup=="urn:ngsi-ld:ParkingGroup:hamm-mitte"', ["hamm-allee-center", "hamm-bahnhof", "hamm-maximilianpark", "hamm-sued"]),
        ("refParkingGroup==urn:ngsi-ld:ParkingGroup:elsewhere", []),
        ("totalSpotNumber", ["hamm-allee-center", "hamm-bahnhof", "hamm-maximilianpark", "hamm-sued"]),
        ("!totalSpotNumber", []),
    ],
)
async def test_q_on_car_parks(hamm: httpx.AsyncClient, q: str, expected: list[str]) -> None:
    assert sorted(await ids(hamm, type="OffStreetParking", q=q)) == sorted(expected)


async def test_q_on_compound_values_and_languages(hamm: httpx.AsyncClient) -> None:
    assert len(await ids(hamm, q='address[addressLocality]=="Hamm"')) == 4
    assert await ids(hamm, q='address[postalCode]=="59999"') == []
    assert await ids(hamm, type="BikeHireDockingStation", q='name=="Central station bikes"') == ["hamm-hbf"]


@pytest.mark.parametrize(
    "georel,geometry,coordinates,expected",
    [
        ("near;maxDistance==200", "Point", [7.8075, 51.6783], ["hamm-bahnhof", "hamm-hbf"]),
        ("near;minDistance==4000", "Point", [7.8075, 51.6783], ["hamm-maximilianpark", "hamm-maximilianpark", "hamm-uentrop"]),
        ("within", "Polygon", [[[7.80, 51.675], [7.82, 51.675], [7.82, 51.685], [7.80, 51.685], [7.80, 51.675]]],
         ["hamm-allee-center", "hamm-bahnhof", "hamm-hbf", "hamm-marktplatz", "hamm-rathaus"]),
        ("intersects", "LineString", [[7.823, 51.684], [7.823, 51.690]], ["hamm-hesslerstrasse"]),
        ("contains", "Point", [7.8230, 51.6865], []),
        ("equals", "Point", [7.8761, 51.6740], ["hamm-maximilianpark"]),
        ("disjoint", "MultiPolygon", [[[[7.78, 51.65], [7.85, 51.65], [7.85, 51.70], [7.78, 51.70], [7.78, 51.65]]]],
         ["hamm-maximilianpark", "hamm-maximilianpark", "hamm-uentrop"]),
        ("overlaps", "LineString", [[7.8200, 51.6850], [7.8230, 51.6865], [7.8300, 51.6900]], []),
        ("intersects", "MultiPoint", [[7.8080, 51.6790], [7.0, 51.0]], ["hamm-bahnhof"]),
        ("intersects", "MultiLineString", [[[7.8, 51.6], [7.9, 51.7]], [[7.8200, 51.6850], [7.8260, 51.6880]]], ["hamm-hesslerstrasse"]),
    ],
)
async def test_geo_queries(
    hamm: httpx.AsyncClient, georel: str, geometry: str, coordinates: Any, expected: list[str]
) -> None:


    found = await ids(hamm, georel=georel, geometry=geometry, coordinates=json.dumps(coordinates))
    assert sorted(found) == sorted(expected)


async def test_paging_with_links_and_count(hamm: httpx.AsyncClient) -> None:
    first = await hamm.get(f"{API}/entities", params={"type": "WeatherObserved", "limit": "2", "count": "true"})
    assert first.headers["ngsild-results-count"] == "4"
    assert [e["id"] for e in first.json()] == ["urn:ngsi-ld:WeatherObserved:hamm-kurpark", "urn:ngsi-ld:WeatherObserved:hamm-marktplatz"]
    links = first.headers.get_list("link")
    next_link = next(link for link in links if 'rel="next"' in link)
    assert "prev" not in " ".join(links)
    second = await hamm.get(next_link.split(">")[0].lstrip("<"))
    assert [e["id"] for e in second.json()] == ["urn:ngsi-ld:WeatherObserved:hamm-rathaus", "urn:ngsi-ld:WeatherObserved:hamm-uentrop"]
    assert any('rel="prev"' in link for link in second.headers.get_list("link"))
    assert not any('rel="next"' in link for link in second.headers.get_list("link"))


async def test_representations_and_lang(hamm: httpx.AsyncClient) -> None:
    key_values = (await hamm.get(f"{API}/entities", params={"type": "BikeHireDockingStation", "options": "keyValues", "lang": "de"})).json()
    assert key_values[0]["name"] == "Fahrradstation Hauptbahnhof"
    assert key_values[0]["availableBikeNumber"] == 7
    concise = (await hamm.get(f"{API}/entities", params={"type": "BikeHireDockingStation", "options": "concise"})).json()
    assert concise[1]["availableBikeNumber"] == 0


async def test_geo_json_feature_collection(hamm: httpx.AsyncClient) -> None:
    response = await hamm.get(
        f"{API}/entities", params={"type": "BikeHireDockingStation"}, headers={"Accept": "application/geo+json"}
    )
    assert response.headers["content-type"] == "application/geo+json"
    collection = response.json()
    assert collection["type"] == "FeatureCollection"
    assert [f["geometry"]["coordinates"] for f in collection["features"]] == [[7.8070, 51.6779], [7.8761, 51.6740]]
    assert "@context" in collection


async def test_post_query(hamm: httpx.AsyncClient) -> None:
    query = {
        "type": "Query",
        "entities": [{"type": "OffStreetParking"}, {"id": "urn:ngsi-ld:BikeHireDockingStation:hamm-hbf", "type": "BikeHireDockingStation"}],
        "attrs": ["availableSpotNumber", "availableBikeNumber"],
        "geoQ": {"georel": "near;maxDistance==1000", "geometry": "Point", "coordinates": [HBF[0], HBF[1]]},
    }
    response = await hamm.post(f"{API}/entityOperations/query", json=query, params={"count": "true"})
    assert response.status_code == 200, response.text
    assert [e["id"].rsplit(":", 1)[1] for e in response.json()] == ["hamm-hbf", "hamm-allee-center", "hamm-bahnhof", "hamm-sued"]
    assert response.headers["ngsild-results-count"] == "4"
    bad = await hamm.post(f"{API}/entityOperations/query", json={"type": "Query"})
    assert bad.status_code == 400


@pytest.mark.parametrize(
    "params,status,error",
    [
        ({}, 400, "BadRequestData"),
        ({"id": "urn:ngsi-ld:OffStreetParking:hamm-sued"}, 400, "BadRequestData"),
        ({"type": "OffStreetParking", "q": "availableSpotNumber>>3"}, 400, "BadRequestData"),
        ({"type": "OffStreetParking", "q": "(a==1"}, 400, "BadRequestData"),
        ({"type": "OffStreetParking", "limit": "1001"}, 403, "TooManyResults"),
        ({"type": "OffStreetParking", "q": ";".join(f"a{i}==1" for i in range(500))}, 403, "TooComplexQuery"),
        ({"type": "OffStreetParking", "georel": "near;maxDistance==10", "geometry": "Point"}, 400, "BadRequestData"),
        ({"type": "OffStreetParking", "georel": "near", "geometry": "Point", "coordinates": "[7.8,51.6]"}, 400, "BadRequestData"),
        ({"type": "OffStreetParking", "georel": "within", "geometry": "Circle", "coordinates": "[7.8,51.6]"}, 400, "BadRequestData"),
        ({"type": "OffStreetParking", "idPattern": "(unclosed"}, 400, "BadRequestData"),
        ({"type": "OffStreetParking", "scopeQ": "Hamm"}, 400, "BadRequestData"),
        ({"type": "(A;"}, 400, "BadRequestData"),
        ({"type": "OffStreetParking", "colour": "red"}, 400, "InvalidRequest"),
    ],
)
async def test_bad_queries(hamm: httpx.AsyncClient, params: dict[str, str], status: int, error: str) -> None:
    response = await hamm.get(f"{API}/entities", params=params)
    assert response.status_code == status, response.text
    assert response.json()["type"] == ERRORS + error


async def test_malformed_q_names_position_and_token(hamm: httpx.AsyncClient) -> None:
    detail = (await hamm.get(f"{API}/entities", params={"type": "X", "q": "speed>>3"})).json()["detail"]
    assert "6" in detail or "position" in detail
    assert ">" in detail


LINKED = [
    {"id": "urn:ngsi-ld:ParkingGroup:hamm-mitte", "type": "ParkingGroup", "name": {"type": "Property", "value": "Mitte"},
     "refCity": {"type": "Relationship", "object": "urn:ngsi-ld:City:hamm"}},
    {"id": "urn:ngsi-ld:City:hamm", "type": "City", "population": {"type": "Property", "value": 180000},
     "refGroup": {"type": "Relationship", "object": "urn:ngsi-ld:ParkingGroup:hamm-mitte"}},
]


async def test_join_inline_puts_the_target_inside_the_relationship(hamm: httpx.AsyncClient) -> None:
    await hamm.post(f"{API}/entityOperations/create", json=LINKED)
    one = (await hamm.get(f"{API}/entities/urn:ngsi-ld:OffStreetParking:hamm-sued", params={"join": "inline"})).json()
    group = one["refParkingGroup"]["entity"]
    assert group["id"] == "urn:ngsi-ld:ParkingGroup:hamm-mitte"
    assert "entity" not in group["refCity"]  # joinLevel 1
    deeper = (
        await hamm.get(f"{API}/entities/urn:ngsi-ld:OffStreetParking:hamm-sued", params={"join": "inline", "joinLevel": "3"})
    ).json()
    city = deeper["refParkingGroup"]["entity"]["refCity"]["entity"]
    assert city["population"]["value"] == 180000
    assert "entity" not in city["refGroup"]  # a loop back to the group is not followed
    key_values = (
        await hamm.get(f"{API}/entities", params={"type": "OffStreetParking", "q": "availableSpotNumber<10", "join": "inline", "options": "keyValues"})
    ).json()
    assert key_values[0]["refParkingGroup"]["name"] == "Mitte"


async def test_join_flat_appends_each_linked_entity_once(hamm: httpx.AsyncClient) -> None:
    await hamm.post(f"{API}/entityOperations/create", json=LINKED)
    body = (await hamm.get(f"{API}/entities", params={"type": "OffStreetParking", "join": "flat", "joinLevel": "2"})).json()
    assert [e["id"].rsplit(":", 1)[1] for e in body] == [
        "hamm-allee-center", "hamm-bahnhof", "hamm-maximilianpark", "hamm-sued", "hamm-mitte", "hamm",
    ]
    single = (await hamm.get(f"{API}/entities/urn:ngsi-ld:OffStreetParking:hamm-sued", params={"join": "flat"})).json()
    assert [e["id"] for e in single] == ["urn:ngsi-ld:OffStreetParking:hamm-sued", "urn:ngsi-ld:ParkingGroup:hamm-mitte"]
    bad = await hamm.get(f"{API}/entities", params={"type": "OffStreetParking", "join": "deep"})
    assert bad.status_code == 400


SUPPLIED = [
    {"id": "urn:ngsi-ld:Company:stadtwerke", "type": "Company"},
    {"id": "urn:ngsi-ld:Company:gridco", "type": "Company"},
    {
        "id": "urn:ngsi-ld:ChargingStation:hbf",
        "type": "ChargingStation",
        "name": {"type": "Property", "value": "Hbf"},
        "suppliedBy": [
            {"type": "Relationship", "object": "urn:ngsi-ld:Company:stadtwerke"},
            {"type": "Relationship", "object": "urn:ngsi-ld:Company:gridco", "datasetId": "urn:ngsi-ld:Dataset:grid"},
        ],
    },
]


@pytest.mark.parametrize("route", ["entity", "query"])
async def test_join_follows_only_the_relationships_shown(client: httpx.AsyncClient, route: str) -> None:
    # The datasetId, attrs and pick filters choose which Relationship instances are shown; join inlines
    # (or lists) the targets of those, each in its own instance.
    assert (await client.post(f"{API}/entityOperations/create", json=SUPPLIED)).status_code == 201

    async def get(**params: str) -> dict[str, Any] | list[dict[str, Any]]:
        if route == "entity":
            response = await client.get(f"{API}/entities/urn:ngsi-ld:ChargingStation:hbf", params=params)
        else:
            response = await client.get(f"{API}/entities", params={"type": "ChargingStation", **params})
        assert response.status_code == 200, response.text
        body = response.json()
        return body if route == "entity" or params.get("join") == "flat" else body[0]

    default_only = await get(join="inline", datasetId="@none")
    assert isinstance(default_only, dict)
    assert default_only["suppliedBy"]["object"] == "urn:ngsi-ld:Company:stadtwerke"
    assert default_only["suppliedBy"]["entity"]["id"] == "urn:ngsi-ld:Company:stadtwerke"
    grid_only = await get(join="inline", datasetId="urn:ngsi-ld:Dataset:grid")
    assert isinstance(grid_only, dict)
    assert grid_only["suppliedBy"]["entity"]["id"] == "urn:ngsi-ld:Company:gridco"
    both = await get(join="inline")
    assert isinstance(both, dict)
    assert [(i["object"], i["entity"]["id"]) for i in both["suppliedBy"]] == [
        ("urn:ngsi-ld:Company:stadtwerke", "urn:ngsi-ld:Company:stadtwerke"),
        ("urn:ngsi-ld:Company:gridco", "urn:ngsi-ld:Company:gridco"),
    ]
    flat = await get(join="flat", datasetId="urn:ngsi-ld:Dataset:grid")
    assert [e["id"] for e in flat] == ["urn:ngsi-ld:ChargingStation:hbf", "urn:ngsi-ld:Company:gridco"]
    without = await get(join="flat", attrs="name")
    assert [e["id"] for e in without] == ["urn:ngsi-ld:ChargingStation:hbf"]


@pytest.mark.parametrize(
    "order_by,expected",
    [
        ("availableSpotNumber", ["hamm-allee-center", "hamm-sued", "hamm-bahnhof", "hamm-maximilianpark"]),
        ("availableSpotNumber;desc", ["hamm-maximilianpark", "hamm-bahnhof", "hamm-sued", "hamm-allee-center"]),
        ("totalSpotNumber;desc,id", ["hamm-allee-center", "hamm-maximilianpark", "hamm-bahnhof", "hamm-sued"]),
        ("id;desc", ["hamm-sued", "hamm-maximilianpark", "hamm-bahnhof", "hamm-allee-center"]),
    ],
)
async def test_order_by(hamm: httpx.AsyncClient, order_by: str, expected: list[str]) -> None:
    assert await ids(hamm, type="OffStreetParking", orderBy=order_by) == expected


async def test_order_by_puts_entities_without_the_attribute_last_and_pages_stably(hamm: httpx.AsyncClient) -> None:
    found = await ids(hamm, type="OffStreetParking,BikeHireDockingStation", orderBy="availableBikeNumber")
    assert found[:2] == ["hamm-maximilianpark", "hamm-hbf"]
    first = await ids(hamm, type="OffStreetParking,BikeHireDockingStation", orderBy="availableBikeNumber", limit="3")
    second = await ids(hamm, type="OffStreetParking,BikeHireDockingStation", orderBy="availableBikeNumber", limit="3", offset="3")
    assert first + second == found
    bad = await hamm.get(f"{API}/entities", params={"type": "OffStreetParking", "orderBy": "name;sideways"})
    assert bad.status_code == 400


async def test_a_geo_query_pages_in_id_order_and_counts_every_match(client: httpx.AsyncClient) -> None:
    """Paging and count with a geo-query: pages join up to exactly the matches, in id order, with no entity
    twice (one of them has two location instances) and none of another type."""
    kind = f"GeoPaging{uuid.uuid4().hex[:8]}"
    centre = (7.8075, 51.6783)
    entities: list[dict[str, Any]] = []
    near_ids: list[str] = []
    for n in range(23):
        # Every third one about 3 km east of the centre: outside 1 km.
        far = n % 3 == 0
        lon = centre[0] + (0.045 if far else 0.0005 * n)
        entity_id = f"urn:ngsi-ld:{kind}:{n:02d}"
        entity: dict[str, Any] = {
            "id": entity_id,
            "type": kind,
            "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [lon, centre[1]]}},
        }
        if n == 4:  # a second instance, also near: still one match
            entity["location"] = [
                entity["location"],
                {"type": "GeoProperty", "datasetId": "urn:ngsi-ld:Dataset:b", "value": {"type": "Point", "coordinates": [lon, centre[1] + 0.001]}},
            ]
        entities.append(entity)
        if not far:
            near_ids.append(entity_id)
    other = {"id": f"urn:ngsi-ld:Other{kind}:x", "type": f"Other{kind}",
             "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": list(centre)}}}  # fmt: skip
    response = await client.post(f"{API}/entityOperations/create", json=[*entities, other])
    assert response.status_code == 201, response.text
    seen: list[str] = []
    for offset in range(0, 20, 6):
        response = await client.get(
            f"{API}/entities",
            params={"type": kind, "georel": "near;maxDistance==1000", "geometry": "Point",
                    "coordinates": json.dumps(list(centre)), "limit": "6", "offset": str(offset), "count": "true"},
        )  # fmt: skip
        assert response.status_code == 200, response.text
        assert response.headers["NGSILD-Results-Count"] == str(len(near_ids))
        seen.extend(entity["id"] for entity in response.json())
    assert seen == near_ids


async def test_a_query_line_with_an_altitude_on_some_positions_finds_what_the_flat_line_finds(hamm: httpx.AsyncClient) -> None:
    flat = f"[[{HBF[0]},{HBF[1]}],[{HBF[0] + 0.01},{HBF[1] + 0.01}]]"
    mixed = f"[[{HBF[0]},{HBF[1]},62.5],[{HBF[0] + 0.01},{HBF[1] + 0.01}]]"
    found = [
        await ids(hamm, type="OffStreetParking", georel="near;maxDistance==2000", geometry="LineString", coordinates=line)
        for line in (flat, mixed)
    ]
    assert found[0] and found[0] == found[1]
