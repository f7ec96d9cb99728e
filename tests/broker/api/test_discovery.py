# SPDX-License-Identifier: EUPL-1.2
"""GET /types and /attributes return the spec's data types with exactly their members."""

from __future__ import annotations

import httpx

from tests.conftest import API, ContextServer

ENTITIES = [
    {
        "id": "urn:ngsi-ld:OffStreetParking:hbf",
        "type": "OffStreetParking",
        "availableSpotNumber": {"type": "Property", "value": 10},
        "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [7.8075, 51.6783]}},
    },
    {
        "id": "urn:ngsi-ld:OffStreetParking:maxipark",
        "type": "OffStreetParking",
        "availableSpotNumber": {"type": "Property", "value": 20},
        "refParkingGroup": {"type": "Relationship", "object": "urn:ngsi-ld:ParkingGroup:1"},
    },
    {
        "id": "urn:ngsi-ld:WeatherObserved:hamm-mitte",
        "type": ["WeatherObserved", "Device"],
        "temperature": {"type": "Property", "value": 21.5},
        "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [7.82, 51.68]}},
    },
]


async def seed(client: httpx.AsyncClient) -> None:
    response = await client.post(f"{API}/entityOperations/create", json=ENTITIES)
    assert response.status_code == 201


async def test_type_list(client: httpx.AsyncClient) -> None:
    await seed(client)
    body = (await client.get(f"{API}/types")).json()
    assert set(body) == {"id", "type", "typeList"}
    assert body["type"] == "EntityTypeList"
    assert body["id"].startswith("urn:")
    assert sorted(body["typeList"]) == ["Device", "OffStreetParking", "WeatherObserved"]


async def test_type_details(client: httpx.AsyncClient) -> None:
    await seed(client)
    body = (await client.get(f"{API}/types", params={"details": "true"})).json()
    by_name = {item["typeName"]: item for item in body}
    assert set(by_name) == {"Device", "OffStreetParking", "WeatherObserved"}
    parking = by_name["OffStreetParking"]
    assert set(parking) == {"id", "type", "typeName", "attributeNames"}
    assert parking["type"] == "EntityType"
    assert parking["id"] == "https://uri.etsi.org/ngsi-ld/default-context/OffStreetParking"
    assert sorted(parking["attributeNames"]) == ["availableSpotNumber", "location", "refParkingGroup"]


async def test_type_info_counts_entities_and_attribute_types(client: httpx.AsyncClient) -> None:
    await seed(client)
    info = (await client.get(f"{API}/types/OffStreetParking")).json()
    assert set(info) == {"id", "type", "typeName", "entityCount", "attributeDetails"}
    assert info["type"] == "EntityTypeInfo" and info["entityCount"] == 2
    details = {item["attributeName"]: item for item in info["attributeDetails"]}
    assert details["location"] == {
        "id": "https://uri.etsi.org/ngsi-ld/location",
        "type": "Attribute",
        "attributeName": "location",
        "attributeTypes": ["GeoProperty"],
    }
    assert details["refParkingGroup"]["attributeTypes"] == ["Relationship"]
    missing = await client.get(f"{API}/types/BikeHireDockingStation")
    assert missing.status_code == 404


async def test_counters_follow_updates_and_deletes(client: httpx.AsyncClient) -> None:
    await seed(client)
    await client.delete(f"{API}/entities/urn:ngsi-ld:OffStreetParking:maxipark")
    info = (await client.get(f"{API}/types/OffStreetParking")).json()
    assert info["entityCount"] == 1
    assert "refParkingGroup" not in {item["attributeName"] for item in info["attributeDetails"]}
    await client.delete(f"{API}/entities/urn:ngsi-ld:OffStreetParking:hbf/attrs/location")
    attributes = (await client.get(f"{API}/attributes/location")).json()
    assert attributes["attributeCount"] == 1 and attributes["typeNames"] == ["Device", "WeatherObserved"]


async def test_attribute_list_details_and_info(client: httpx.AsyncClient) -> None:
    await seed(client)
    body = (await client.get(f"{API}/attributes")).json()
    assert set(body) == {"id", "type", "attributeList"} and body["type"] == "AttributeList"
    assert sorted(body["attributeList"]) == ["availableSpotNumber", "location", "refParkingGroup", "temperature"]
    details = (await client.get(f"{API}/attributes", params={"details": "true"})).json()
    location = next(item for item in details if item["attributeName"] == "location")
    assert set(location) == {"id", "type", "attributeName", "typeNames"}
    assert sorted(location["typeNames"]) == ["Device", "OffStreetParking", "WeatherObserved"]
    info = (await client.get(f"{API}/attributes/availableSpotNumber")).json()
    assert info == {
        "id": "https://uri.etsi.org/ngsi-ld/default-context/availableSpotNumber",
        "type": "Attribute",
        "attributeName": "availableSpotNumber",
        "attributeCount": 2,
        "attributeTypes": ["Property"],
        "typeNames": ["OffStreetParking"],
    }
    assert (await client.get(f"{API}/attributes/nothing")).status_code == 404


async def test_discovery_is_compacted_with_the_request_context(
    client: httpx.AsyncClient, context_server: ContextServer
) -> None:
    url = context_server.add("sdm.jsonld", {"Spot": "https://smartdatamodels.org/dataModel.Parking/OffStreetParking"})
    link = {"Link": f'<{url}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'}
    created = await client.post(f"{API}/entities", json={"id": "urn:ngsi-ld:Spot:1", "type": "Spot"}, headers=link)
    assert created.status_code == 201
    assert "Spot" in (await client.get(f"{API}/types", headers=link)).json()["typeList"]
    assert "https://smartdatamodels.org/dataModel.Parking/OffStreetParking" in (await client.get(f"{API}/types")).json()["typeList"]
    ld = await client.get(f"{API}/types", headers={**link, "Accept": "application/ld+json"})
    assert ld.json()["@context"] == url
