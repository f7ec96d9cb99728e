# SPDX-License-Identifier: EUPL-1.2
"""Every attribute kind of NGSI-LD round-trips, and each one's malformed forms are BadRequestData."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.conftest import API

BAD_REQUEST_DATA = "https://uri.etsi.org/ngsi-ld/errors/BadRequestData"

GEOMETRIES = {
    "Point": {"type": "Point", "coordinates": [7.8075, 51.6783]},
    "MultiPoint": {"type": "MultiPoint", "coordinates": [[7.8075, 51.6783], [7.8761, 51.674]]},
    "LineString": {"type": "LineString", "coordinates": [[7.8075, 51.6783], [7.8761, 51.674]]},
    "MultiLineString": {
        "type": "MultiLineString",
        "coordinates": [[[7.80, 51.67], [7.81, 51.68]], [[7.82, 51.66], [7.83, 51.65, 60.0]]],
    },
    "Polygon": {
        "type": "Polygon",
        "coordinates": [[[7.80, 51.67], [7.82, 51.67], [7.82, 51.69], [7.80, 51.69], [7.80, 51.67]]],
    },
    "MultiPolygon": {
        "type": "MultiPolygon",
        "coordinates": [
            [[[7.80, 51.67], [7.82, 51.67], [7.82, 51.69], [7.80, 51.67]]],
            [[[7.86, 51.67], [7.88, 51.67], [7.88, 51.68], [7.86, 51.67]]],
        ],
    },
}
GEOMETRY_COLLECTION = {
    "type": "GeometryCollection",
    "geometries": [{"type": "Point", "coordinates": [7.8761, 51.674]}, {"type": "LineString", "coordinates": [[7.8, 51.6], [7.9, 51.7]]}],
}

KINDS: dict[str, dict[str, Any]] = {
    "Property": {"type": "Property", "value": {"streetAddress": "Willy-Brandt-Platz 1", "postalCode": "59065"}},
    "Relationship": {"type": "Relationship", "object": "urn:ngsi-ld:ParkingGroup:mitte"},
    "RelationshipWithObjectType": {
        "type": "Relationship",
        "object": "urn:ngsi-ld:Building:rathaus",
        "objectType": "Building",
    },
    "LanguageProperty": {"type": "LanguageProperty", "languageMap": {"de": "Bahnhof", "en": "Station"}},
    "VocabProperty": {"type": "VocabProperty", "vocab": "Open"},
    "ListProperty": {"type": "ListProperty", "valueList": [1, 2, 3]},
    "ListRelationship": {
        "type": "ListRelationship",
        "objectList": [{"object": "urn:ngsi-ld:Sensor:1"}, {"object": "urn:ngsi-ld:Sensor:2"}],
    },
    "JsonProperty": {"type": "JsonProperty", "json": {"@type": "not expanded", "nested": {"a": [1, {"b": None}]}}},
    "NestedSubAttributes": {
        "type": "Property",
        "value": 12.5,
        "unitCode": "CEL",
        "observedAt": "2026-11-26T10:15:00.000Z",
        "providedBy": {
            "type": "Relationship",
            "object": "urn:ngsi-ld:Device:station-7",
            "installedAt": {"type": "Property", "value": "Maximilianpark"},
        },
        "accuracy": {"type": "Property", "value": 0.2, "unitCode": "CEL"},
    },
    **{f"GeoProperty{name}": {"type": "GeoProperty", "value": geometry} for name, geometry in GEOMETRIES.items()},
}


@pytest.mark.parametrize("kind", sorted(KINDS))
async def test_attribute_kind_round_trips(client: httpx.AsyncClient, unique_id: Callable[[str], str], kind: str) -> None:
    entity = {"id": unique_id("Thing"), "type": "Thing", "attr": KINDS[kind]}
    created = await client.post(f"{API}/entities", json=entity)
    assert created.status_code == 201, created.text
    got = await client.get(f"{API}/entities/{entity['id']}")
    assert got.json() == entity


BAD_ATTRIBUTES: dict[str, Any] = {
    "null value": None,
    "Property without value": {"type": "Property"},
    "Property with null value": {"type": "Property", "value": None},
    "unknown attribute type": {"type": "Attribute", "value": 1},
    "Relationship object not a URI": {"type": "Relationship", "object": "not a uri"},
    "Relationship with value": {"type": "Relationship", "value": "urn:a:b"},
    "languageMap not an object": {"type": "LanguageProperty", "languageMap": "Bahnhof"},
    "bad language tag": {"type": "LanguageProperty", "languageMap": {"d e": "x"}},
    "vocab not a string": {"type": "VocabProperty", "vocab": 3},
    "valueList not an array": {"type": "ListProperty", "valueList": 3},
    "objectList item not a URI": {"type": "ListRelationship", "objectList": [{"object": 3}]},
    "JsonProperty without json": {"type": "JsonProperty"},
    "observedAt not a date": {"type": "Property", "value": 1, "observedAt": "yesterday"},
    "datasetId not a URI": {"type": "Property", "value": 1, "datasetId": "dataset one"},
    "unitCode empty": {"type": "Property", "value": 1, "unitCode": ""},
    "duplicate datasetIds": [{"type": "Property", "value": 1}, {"type": "Property", "value": 2}],
    "ngsi-ld null on create": "urn:ngsi-ld:null",
    "GeoJSON unknown type": {"type": "GeoProperty", "value": {"type": "Circle", "coordinates": [7.8, 51.6]}},
    "GeoJSON point as string": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": "7.8,51.6"}},
    "GeoJSON point one number": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [7.8]}},
    "GeoJSON latitude out of range": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [7.8, 99.0]}},
    "GeoJSON boolean coordinate": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [True, 51.0]}},
    "GeoJSON LineString of one position": {"type": "GeoProperty", "value": {"type": "LineString", "coordinates": [[7.8, 51.6]]}},
    "GeoJSON open ring": {
        "type": "GeoProperty",
        "value": {"type": "Polygon", "coordinates": [[[7.8, 51.6], [7.9, 51.6], [7.9, 51.7], [7.8, 51.7]]]},
    },
    "GeoJSON short ring": {
        "type": "GeoProperty",
        "value": {"type": "Polygon", "coordinates": [[[7.8, 51.6], [7.9, 51.6], [7.8, 51.6]]]},
    },
    "GeoJSON MultiPolygon depth": {"type": "GeoProperty", "value": {"type": "MultiPolygon", "coordinates": [[7.8, 51.6]]}},
    "GeoJSON collection without geometries": {"type": "GeoProperty", "value": {"type": "GeometryCollection"}},
    # clause 4.6.3: every GeoJSON geometry "with the exception of GeometryCollection"
    "GeometryCollection": {"type": "GeoProperty", "value": GEOMETRY_COLLECTION},
    "Relationship with unitCode": {"type": "Relationship", "object": "urn:a:b", "unitCode": "MTR"},
    "JsonProperty with unitCode": {"type": "JsonProperty", "json": {"a": 1}, "unitCode": "MTR"},
    "JsonProperty scalar": {"type": "JsonProperty", "json": 5},
    "observedAt with offset": {"type": "Property", "value": 1, "observedAt": "2026-01-01T12:00:00+02:00"},
    "observedAt without Z": {"type": "Property", "value": 1, "observedAt": "2026-01-01T12:00:00"},
    "observedAt without seconds": {"type": "Property", "value": 1, "observedAt": "2026-01-01T12:00Z"},
    "GeoProperty value not geometry": {"type": "GeoProperty", "value": "Hamm"},
}


@pytest.mark.parametrize("case", sorted(BAD_ATTRIBUTES))
async def test_malformed_attribute_is_bad_request_data_and_nothing_is_written(
    client: httpx.AsyncClient, unique_id: Callable[[str], str], case: str
) -> None:
    entity = {"id": unique_id("Thing"), "type": "Thing", "good": {"type": "Property", "value": 1}, "bad": BAD_ATTRIBUTES[case]}
    response = await client.post(f"{API}/entities", json=entity)
    assert response.status_code == 400, response.text
    problem = response.json()
    assert problem["type"] == BAD_REQUEST_DATA
    assert "bad" in problem["detail"] or "GeoJSON" in problem["detail"] or "value" in problem["detail"]
    assert (await client.get(f"{API}/entities/{entity['id']}")).status_code == 404
