# SPDX-License-Identifier: EUPL-1.2
"""Entity operations through the real app on SQLite: what a client sees (status, body, headers)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.conftest import API

CORE = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"
VOCAB = "https://uri.etsi.org/ngsi-ld/default-context/"
JSON_HEADERS = {"Content-Type": "application/json"}


def parking(entity_id: str) -> dict[str, Any]:
    """An OffStreetParking at Hamm Hauptbahnhof (lon 7.8075, lat 51.6783)."""
    return {
        "id": entity_id,
        "type": "OffStreetParking",
        "name": {"type": "Property", "value": "Parkhaus Hauptbahnhof"},
        "availableSpotNumber": {
            "type": "Property",
            "value": 121,
            "observedAt": "2026-11-26T08:00:00Z",
            "reliability": {"type": "Property", "value": 0.9},
        },
        "totalSpotNumber": {"type": "Property", "value": 400},
        "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [7.8075, 51.6783]}},
        "refParkingGroup": {"type": "Relationship", "object": "urn:ngsi-ld:ParkingGroup:hamm-mitte"},
    }


async def create(client: httpx.AsyncClient, entity: dict[str, Any], **headers: str) -> httpx.Response:
    response = await client.post(f"{API}/entities", json=entity, headers={**JSON_HEADERS, **headers})
    assert response.status_code == 201, response.text
    return response


async def get(client: httpx.AsyncClient, entity_id: str, **params: str) -> dict[str, Any]:
    response = await client.get(f"{API}/entities/{entity_id}", params=params)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_create_answers_201_with_location_and_the_entity_reads_back(
    client: httpx.AsyncClient, unique_id: Callable[[str], str]
) -> None:
    entity = parking(unique_id("OffStreetParking"))
    response = await create(client, entity)
    assert response.headers["location"] == f"/ngsi-ld/v1/entities/{entity['id']}"
    assert response.content == b""

    got = await client.get(response.headers["location"])
    assert got.status_code == 200
    assert got.headers["content-type"] == "application/json"
    assert got.headers["link"] == f'<{CORE}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'
    assert got.json() == entity


async def test_create_existing_entity_is_already_exists(client: httpx.AsyncClient, unique_id: Callable[[str], str]) -> None:
    entity = parking(unique_id("OffStreetParking"))
    await create(client, entity)
    again = await client.post(f"{API}/entities", json=entity)
    assert again.status_code == 409
    assert again.json()["type"] == "https://uri.etsi.org/ngsi-ld/errors/AlreadyExists"


async def test_entity_id_with_slashes_is_addressable_percent_encoded(client: httpx.AsyncClient) -> None:
    entity = {"id": "https://data.hamm.de/parking/ph-1#a", "type": "OffStreetParking", "n": {"type": "Property", "value": 1}}
    response = await create(client, entity)
    location = response.headers["location"]
    assert location == "/ngsi-ld/v1/entities/https:%2F%2Fdata.hamm.de%2Fparking%2Fph-1%23a"
    assert (await client.get(location)).json() == entity
    assert (await client.delete(location)).status_code == 204


async def test_retrieve_representations(client: httpx.AsyncClient, unique_id: Callable[[str], str]) -> None:
    entity = parking(unique_id("OffStreetParking"))
    await create(client, entity)
    key_values = await get(client, entity["id"], options="keyValues")
    assert key_values == {
        "id": entity["id"],
        "type": "OffStreetParking",
        "name": "Parkhaus Hauptbahnhof",
        "availableSpotNumber": 121,
        "totalSpotNumber": 400,
        "location": {"type": "Point", "coordinates": [7.8075, 51.6783]},
        "refParkingGroup": "urn:ngsi-ld:ParkingGroup:hamm-mitte",
    }
    assert await get(client, entity["id"], format="simplified") == key_values
    assert await get(client, entity["id"], format="keyValues") == key_values

    concise = await get(client, entity["id"], options="concise")
    assert concise["name"] == "Parkhaus Hauptbahnhof"
    assert concise["availableSpotNumber"] == {
        "value": 121,
        "observedAt": "2026-11-26T08:00:00Z",
        "reliability": 0.9,
    }
    assert concise["refParkingGroup"] == {"object": "urn:ngsi-ld:ParkingGroup:hamm-mitte"}
    assert concise["location"] == {"type": "Point", "coordinates": [7.8075, 51.6783]}
    assert await get(client, entity["id"], options="normalized") == entity


async def test_concise_input_is_understood_as_the_normalized_entity(
    client: httpx.AsyncClient, unique_id: Callable[[str], str]
) -> None:
    entity = parking(unique_id("OffStreetParking"))
    concise = {
        "id": entity["id"],
        "type": "OffStreetParking",
        "name": "Parkhaus Hauptbahnhof",
        "availableSpotNumber": {"value": 121, "observedAt": "2026-11-26T08:00:00Z", "reliability": 0.9},
        "totalSpotNumber": 400,
        "location": {"type": "Point", "coordinates": [7.8075, 51.6783]},
        "refParkingGroup": {"object": "urn:ngsi-ld:ParkingGroup:hamm-mitte"},
    }
    await create(client, concise)
    assert await get(client, entity["id"]) == entity


async def test_sys_attrs_show_created_and_modified_at(client: httpx.AsyncClient, unique_id: Callable[[str], str]) -> None:
    entity = parking(unique_id("OffStreetParking"))
    await create(client, entity)
    plain = await get(client, entity["id"])
    assert "createdAt" not in plain and "createdAt" not in plain["name"]
    with_sys = await get(client, entity["id"], options="sysAttrs")
    assert with_sys["createdAt"] == with_sys["modifiedAt"]
    assert with_sys["createdAt"].endswith("Z")
    assert with_sys["name"]["createdAt"] == with_sys["createdAt"]
    assert with_sys["availableSpotNumber"]["reliability"]["createdAt"] == with_sys["createdAt"]

    patch = await client.patch(
        f"{API}/entities/{entity['id']}/attrs/availableSpotNumber", json={"value": 99}, headers=JSON_HEADERS
    )
    assert patch.status_code == 204
    after = await get(client, entity["id"], options="sysAttrs,keyValues")
    assert after["availableSpotNumber"] == 99
    normalized = await get(client, entity["id"], options="sysAttrs")
    assert normalized["createdAt"] == with_sys["createdAt"]
    assert normalized["modifiedAt"] > with_sys["modifiedAt"] or normalized["modifiedAt"] == with_sys["modifiedAt"]
    assert normalized["availableSpotNumber"]["createdAt"] == with_sys["availableSpotNumber"]["createdAt"]


async def test_attrs_pick_and_omit_select_members(client: httpx.AsyncClient, unique_id: Callable[[str], str]) -> None:
    entity = parking(unique_id("OffStreetParking"))
    await create(client, entity)
    assert set(await get(client, entity["id"], attrs="name,totalSpotNumber")) == {"id", "type", "name", "totalSpotNumber"}
    assert set(await get(client, entity["id"], pick="id,name")) == {"id", "name"}
    omitted = await get(client, entity["id"], omit="type,location,refParkingGroup")
    assert set(omitted) == {"id", "name", "availableSpotNumber", "totalSpotNumber"}
    both = await client.get(f"{API}/entities/{entity['id']}", params={"pick": "name", "omit": "type"})
    assert both.status_code == 400


async def test_type_filter_on_retrieve(client: httpx.AsyncClient, unique_id: Callable[[str], str]) -> None:
    entity = parking(unique_id("OffStreetParking"))
    await create(client, entity)
    assert (await get(client, entity["id"], type="OffStreetParking"))["id"] == entity["id"]
    wrong = await client.get(f"{API}/entities/{entity['id']}", params={"type": "BikeHireDockingStation"})
    assert wrong.status_code == 404
    assert wrong.json()["type"] == "https://uri.etsi.org/ngsi-ld/errors/ResourceNotFound"


async def test_delete_entity(client: httpx.AsyncClient, unique_id: Callable[[str], str]) -> None:
    entity = parking(unique_id("OffStreetParking"))
    await create(client, entity)
    assert (await client.delete(f"{API}/entities/{entity['id']}")).status_code == 204
    assert (await client.get(f"{API}/entities/{entity['id']}")).status_code == 404
    again = await client.delete(f"{API}/entities/{entity['id']}")
    assert again.status_code == 404
    assert again.json()["type"] == "https://uri.etsi.org/ngsi-ld/errors/ResourceNotFound"


async def test_replace_entity_replaces_every_attribute(client: httpx.AsyncClient, unique_id: Callable[[str], str]) -> None:
    entity = parking(unique_id("OffStreetParking"))
    await create(client, entity)
    before = await get(client, entity["id"], options="sysAttrs")
    replacement = {"type": "OffStreetParking", "name": {"type": "Property", "value": "Parkhaus Nord"}}
    response = await client.put(f"{API}/entities/{entity['id']}", json=replacement, headers=JSON_HEADERS)
    assert response.status_code == 204, response.text
    after = await get(client, entity["id"], options="sysAttrs")
    assert set(after) == {"id", "type", "name", "createdAt", "modifiedAt"}
    assert after["name"]["value"] == "Parkhaus Nord"
    assert after["createdAt"] == before["createdAt"]
    missing = await client.put(f"{API}/entities/urn:ngsi-ld:X:none", json=replacement, headers=JSON_HEADERS)
    assert missing.status_code == 404
    other_id = await client.put(
        f"{API}/entities/{entity['id']}", json={**replacement, "id": "urn:ngsi-ld:X:other"}, headers=JSON_HEADERS
    )
    assert other_id.status_code == 400


async def test_merge_patch_updates_adds_and_deletes_with_ngsi_ld_null(
    client: httpx.AsyncClient, unique_id: Callable[[str], str]
) -> None:
    entity = parking(unique_id("OffStreetParking"))
    await create(client, entity)
    fragment = {
        "availableSpotNumber": {"value": 80, "reliability": "urn:ngsi-ld:null"},
        "totalSpotNumber": "urn:ngsi-ld:null",
        "name": "Parkhaus Hbf",
        "category": {"type": "Property", "value": ["public", "feeCharged"]},
    }
    response = await client.patch(f"{API}/entities/{entity['id']}", json=fragment, headers=JSON_HEADERS)
    assert response.status_code == 204, response.text
    after = await get(client, entity["id"])
    assert after["availableSpotNumber"] == {
        "type": "Property",
        "value": 80,
        "observedAt": "2026-11-26T08:00:00Z",
    }
    assert "totalSpotNumber" not in after
    assert after["name"] == {"type": "Property", "value": "Parkhaus Hbf"}
    assert after["category"]["value"] == ["public", "feeCharged"]
    assert after["location"] == entity["location"]
    merge_patch_type = await client.patch(
        f"{API}/entities/{entity['id']}",
        content=b'{"name": "P+R"}',
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert merge_patch_type.status_code == 204
    missing = await client.patch(f"{API}/entities/urn:ngsi-ld:X:none", json=fragment, headers=JSON_HEADERS)
    assert missing.status_code == 404


async def test_append_attributes_and_no_overwrite(client: httpx.AsyncClient, unique_id: Callable[[str], str]) -> None:
    entity = parking(unique_id("OffStreetParking"))
    await create(client, entity)
    fragment = {"totalSpotNumber": {"type": "Property", "value": 500}, "fee": {"type": "Property", "value": 2.5}}
    kept = await client.post(
        f"{API}/entities/{entity['id']}/attrs", params={"options": "noOverwrite"}, json=fragment, headers=JSON_HEADERS
    )
    assert kept.status_code == 207
    assert kept.headers["content-type"] == "application/json"
    body = kept.json()
    # clause 6.3.6: partial-success bodies carry fully qualified names
    assert body["updated"] == [VOCAB + "fee"]
    assert [item["attributeName"] for item in body["notUpdated"]] == [VOCAB + "totalSpotNumber"]
    assert body["notUpdated"][0]["reason"]
    after = await get(client, entity["id"], options="keyValues")
    assert after["totalSpotNumber"] == 400 and after["fee"] == 2.5

    overwrite = await client.post(f"{API}/entities/{entity['id']}/attrs", json=fragment, headers=JSON_HEADERS)
    assert overwrite.status_code == 204
    assert (await get(client, entity["id"], options="keyValues"))["totalSpotNumber"] == 500


async def test_update_attributes_reports_the_attributes_it_could_not_update(
    client: httpx.AsyncClient, unique_id: Callable[[str], str]
) -> None:
    entity = parking(unique_id("OffStreetParking"))
    await create(client, entity)
    fragment = {"totalSpotNumber": {"type": "Property", "value": 410}, "doesNotExist": {"type": "Property", "value": 1}}
    response = await client.patch(f"{API}/entities/{entity['id']}/attrs", json=fragment, headers=JSON_HEADERS)
    assert response.status_code == 207
    assert response.json()["updated"] == [VOCAB + "totalSpotNumber"]
    assert response.json()["notUpdated"][0]["attributeName"] == VOCAB + "doesNotExist"
    after = await get(client, entity["id"])
    assert after["totalSpotNumber"] == {"type": "Property", "value": 410}
    assert "doesNotExist" not in after

    all_updated = await client.patch(
        f"{API}/entities/{entity['id']}/attrs", json={"totalSpotNumber": {"type": "Property", "value": 1}}, headers=JSON_HEADERS
    )
    assert all_updated.status_code == 204


async def test_partial_attribute_update_keeps_other_members(
    client: httpx.AsyncClient, unique_id: Callable[[str], str]
) -> None:
    entity = parking(unique_id("OffStreetParking"))
    await create(client, entity)
    response = await client.patch(
        f"{API}/entities/{entity['id']}/attrs/availableSpotNumber",
        json={"value": 7, "observedAt": "2026-11-26T09:00:00Z"},
        headers=JSON_HEADERS,
    )
    assert response.status_code == 204, response.text
    after = await get(client, entity["id"])
    assert after["availableSpotNumber"] == {
        "type": "Property",
        "value": 7,
        "observedAt": "2026-11-26T09:00:00Z",
        "reliability": {"type": "Property", "value": 0.9},
    }
    missing = await client.patch(f"{API}/entities/{entity['id']}/attrs/nope", json={"value": 1}, headers=JSON_HEADERS)
    assert missing.status_code == 404


async def test_replace_attribute(client: httpx.AsyncClient, unique_id: Callable[[str], str]) -> None:
    entity = parking(unique_id("OffStreetParking"))
    await create(client, entity)
    response = await client.put(
        f"{API}/entities/{entity['id']}/attrs/availableSpotNumber",
        json={"type": "Property", "value": 5},
        headers=JSON_HEADERS,
    )
    assert response.status_code == 204, response.text
    assert (await get(client, entity["id"]))["availableSpotNumber"] == {"type": "Property", "value": 5}
    missing = await client.put(
        f"{API}/entities/{entity['id']}/attrs/nope", json={"type": "Property", "value": 5}, headers=JSON_HEADERS
    )
    assert missing.status_code == 404


async def test_multi_instance_attributes_by_dataset_id(client: httpx.AsyncClient, unique_id: Callable[[str], str]) -> None:
    entity_id = unique_id("WeatherObserved")
    entity = {
        "id": entity_id,
        "type": "WeatherObserved",
        "temperature": [
            {"type": "Property", "value": 21.5, "unitCode": "CEL"},
            {"type": "Property", "value": 21.9, "unitCode": "CEL", "datasetId": "urn:ngsi-ld:Dataset:sensor-b"},
        ],
    }
    await create(client, entity)
    assert (await get(client, entity_id))["temperature"] == entity["temperature"]
    only_b = await get(client, entity_id, datasetId="urn:ngsi-ld:Dataset:sensor-b")
    assert only_b["temperature"] == {
        "type": "Property", "value": 21.9, "unitCode": "CEL", "datasetId": "urn:ngsi-ld:Dataset:sensor-b"
    }
    assert (await get(client, entity_id, options="keyValues"))["temperature"] == {
        "dataset": {"@none": 21.5, "urn:ngsi-ld:Dataset:sensor-b": 21.9}
    }
    assert (await get(client, entity_id, datasetId="@none"))["temperature"] == entity["temperature"][0]

    patch_b = await client.patch(
        f"{API}/entities/{entity_id}/attrs/temperature",
        json={"value": 22.4, "datasetId": "urn:ngsi-ld:Dataset:sensor-b"},
        headers=JSON_HEADERS,
    )
    assert patch_b.status_code == 204
    values = {i.get("datasetId"): i["value"] for i in (await get(client, entity_id))["temperature"]}
    assert values == {None: 21.5, "urn:ngsi-ld:Dataset:sensor-b": 22.4}

    delete_b = await client.delete(
        f"{API}/entities/{entity_id}/attrs/temperature", params={"datasetId": "urn:ngsi-ld:Dataset:sensor-b"}
    )
    assert delete_b.status_code == 204
    assert (await get(client, entity_id))["temperature"] == entity["temperature"][0]


async def test_delete_attribute_default_instance_and_delete_all(
    client: httpx.AsyncClient, unique_id: Callable[[str], str]
) -> None:
    entity_id = unique_id("WeatherObserved")
    entity = {
        "id": entity_id,
        "type": "WeatherObserved",
        "temperature": [
            {"type": "Property", "value": 1},
            {"type": "Property", "value": 2, "datasetId": "urn:ngsi-ld:Dataset:b"},
            {"type": "Property", "value": 3, "datasetId": "urn:ngsi-ld:Dataset:c"},
        ],
        "relativeHumidity": {"type": "Property", "value": 0.7},
    }
    await create(client, entity)
    assert (await client.delete(f"{API}/entities/{entity_id}/attrs/temperature")).status_code == 204
    remaining = (await get(client, entity_id))["temperature"]
    assert [i["datasetId"] for i in remaining] == ["urn:ngsi-ld:Dataset:b", "urn:ngsi-ld:Dataset:c"]
    again = await client.delete(f"{API}/entities/{entity_id}/attrs/temperature")
    assert again.status_code == 404
    delete_all = await client.delete(f"{API}/entities/{entity_id}/attrs/temperature", params={"deleteAll": "true"})
    assert delete_all.status_code == 204
    assert "temperature" not in await get(client, entity_id)
    gone = await client.delete(f"{API}/entities/{entity_id}/attrs/temperature", params={"deleteAll": "true"})
    assert gone.status_code == 404


async def test_geo_json_representation(client: httpx.AsyncClient, unique_id: Callable[[str], str]) -> None:
    entity = parking(unique_id("OffStreetParking"))
    await create(client, entity)
    response = await client.get(f"{API}/entities/{entity['id']}", headers={"Accept": "application/geo+json"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geo+json"
    feature = response.json()
    assert feature["type"] == "Feature"
    assert feature["id"] == entity["id"]
    assert feature["geometry"] == {"type": "Point", "coordinates": [7.8075, 51.6783]}
    assert feature["properties"]["type"] == "OffStreetParking"
    assert feature["properties"]["name"] == entity["name"]
    not_for_writes = await client.post(
        f"{API}/entities", json=parking(unique_id("OffStreetParking")), headers={"Accept": "application/geo+json"}
    )
    assert not_for_writes.status_code == 406


@pytest.mark.parametrize("lang,expected", [("de", "Parkhaus am Bahnhof"), ("en", "Car park at the station"), ("fr", "Parkhaus am Bahnhof")])
async def test_language_property_with_lang(
    client: httpx.AsyncClient, unique_id: Callable[[str], str], lang: str, expected: str
) -> None:
    entity_id = unique_id("OffStreetParking")
    language_map = {"de": "Parkhaus am Bahnhof", "en": "Car park at the station"}
    await create(
        client,
        {"id": entity_id, "type": "OffStreetParking", "description": {"type": "LanguageProperty", "languageMap": language_map}},
    )
    assert (await get(client, entity_id))["description"] == {"type": "LanguageProperty", "languageMap": language_map}
    if lang == "fr":
        # no French text and no @none: the first entry is given
        expected = language_map["de"]
    assert (await get(client, entity_id, options="keyValues", lang=lang))["description"] == expected
    shown = (await get(client, entity_id, lang=lang))["description"]
    assert shown["type"] == "Property" and shown["value"] == expected and shown["lang"] in language_map
    assert (await get(client, entity_id, options="keyValues"))["description"] == {"languageMap": language_map}
    assert (await get(client, entity_id, options="keyValues", lang="*"))["description"] in language_map.values()
