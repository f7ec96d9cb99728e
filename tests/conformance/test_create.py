# SPDX-License-Identifier: EUPL-1.2
"""Create Entity (5.6.1, HTTP binding 6.4.3.1) and input validation (5.5.4, 4.5, 4.6)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

import httpx
import pytest

from tests.conformance.support import (
    API,
    JSON,
    assert_problem,
    create,
    get,
    url,
    vehicle,
)


def test_create_returns_201_with_location_and_no_body(
    http: httpx.Client, new_id: Callable[..., str]
) -> None:
    entity = vehicle(new_id("Vehicle"))
    response = create(http, entity)
    location = response.headers["location"]
    assert unquote(location).endswith(f"{API}/entities/{entity['id']}")
    assert response.content == b""
    assert "link" not in response.headers  # 6.3.6: no body, no Link header


def test_created_entity_reads_back_unchanged(
    http: httpx.Client, new_id: Callable[..., str]
) -> None:
    entity = vehicle(new_id("Vehicle"))
    create(http, entity)
    assert get(http, entity["id"]) == entity


def test_location_of_an_id_with_slash_and_hash_is_usable(http: httpx.Client) -> None:
    import uuid

    entity = {
        "id": f"https://data.example.org/things/{uuid.uuid4().hex}#a",
        "type": "Thing",
        "n": {"type": "Property", "value": 1},
    }
    response = create(http, entity)
    location = response.headers["location"]
    assert http.get(location).json() == entity
    assert http.delete(location).status_code == 204


def test_create_existing_id_is_409_already_exists(
    http: httpx.Client, new_id: Callable[..., str]
) -> None:
    entity = vehicle(new_id("Vehicle"))
    create(http, entity)
    assert_problem(
        http.post(f"{API}/entities", json=entity, headers=JSON), 409, "AlreadyExists"
    )


def test_invalid_json_is_400_invalid_request(http: httpx.Client) -> None:
    response = http.post(
        f"{API}/entities", content=b'{"id": "urn:ngsi-ld:T:1", "type": ', headers=JSON
    )
    assert_problem(response, 400, "InvalidRequest")


@pytest.mark.parametrize(
    "body",
    [
        {"type": "Vehicle"},  # no id
        {"id": "urn:ngsi-ld:Vehicle:x1"},  # no type
        {"id": "not a uri", "type": "Vehicle"},
        {
            "id": "urn:ngsi-ld:Vehicle:x2",
            "type": "Vehicle",
            "speed": {"type": "Property", "value": None},
        },
        {
            "id": "urn:ngsi-ld:Vehicle:x3",
            "type": "Vehicle",
            "speed": {"type": "Property"},
        },  # no value
        {
            "id": "urn:ngsi-ld:Vehicle:x4",
            "type": "Vehicle",
            "rel": {"type": "Relationship", "object": "not a uri"},
        },
        {
            "id": "urn:ngsi-ld:Vehicle:x5",
            "type": "Vehicle",
            "speed": {"type": "Property", "value": 1, "observedAt": "yesterday"},
        },
        {
            "id": "urn:ngsi-ld:Vehicle:x6",
            "type": "Vehicle",
            "location": {
                "type": "GeoProperty",
                "value": {"type": "Point", "coordinates": [7.8]},
            },
        },
        {
            "id": "urn:ngsi-ld:Vehicle:x7",
            "type": "Vehicle",
            "my attr": {"type": "Property", "value": 1},
        },
        {
            "id": "urn:ngsi-ld:Vehicle:x8",
            "type": "Vehicle",
            "speed": {"type": "NoSuchAttributeType", "value": 1},
        },
    ],
    ids=[
        "no-id",
        "no-type",
        "id-not-uri",
        "null-value",
        "property-without-value",
        "object-not-uri",
        "observedAt-not-datetime",
        "bad-geometry",
        "name-with-space",
        "unknown-attribute-type",
    ],
)
def test_invalid_entity_content_is_400_bad_request_data(
    http: httpx.Client, body: dict[str, Any]
) -> None:
    response = http.post(f"{API}/entities", json=body, headers=JSON)
    assert_problem(response, 400, "BadRequestData")
    if "id" in body and body["id"].startswith("urn:"):
        assert http.get(url(body["id"])).status_code == 404  # nothing was created


# -- clause 4.5.x: members a representation shall never include ---------------------------------


@pytest.mark.parametrize(
    ("name", "attribute"),
    [
        ("speed", {"type": "Property", "value": 1, "object": "urn:ngsi-ld:Other:1"}),
        ("speed", {"type": "Property", "value": 1, "languageMap": {"en": "x"}}),
        (
            "isParked",
            {"type": "Relationship", "object": "urn:ngsi-ld:P:1", "value": 42},
        ),
        ("depths", {"type": "ListProperty", "valueList": [1.2], "value": 3}),
        ("tickets", {"type": "JsonProperty", "json": {"a": 1}, "value": 1}),
    ],
    ids=[
        "property-with-object",
        "property-with-languageMap",
        "relationship-with-value",
        "listproperty-with-value",
        "jsonproperty-with-value",
    ],
)
def test_prohibited_members_are_400(
    http: httpx.Client, new_id: Callable[..., str], name: str, attribute: dict[str, Any]
) -> None:
    entity = {"id": new_id("Vehicle"), "type": "Vehicle", name: attribute}
    assert_problem(
        http.post(f"{API}/entities", json=entity, headers=JSON), 400, "BadRequestData"
    )


def test_relationship_with_unit_code_is_400(
    http: httpx.Client, new_id: Callable[..., str]
) -> None:
    entity = {
        "id": new_id("Vehicle"),
        "type": "Vehicle",
        "isParked": {
            "type": "Relationship",
            "object": "urn:ngsi-ld:P:1",
            "unitCode": "MTR",
        },
    }
    assert_problem(
        http.post(f"{API}/entities", json=entity, headers=JSON), 400, "BadRequestData"
    )


def test_json_property_with_unit_code_is_400(
    http: httpx.Client, new_id: Callable[..., str]
) -> None:
    entity = {
        "id": new_id("Vehicle"),
        "type": "Vehicle",
        "tickets": {"type": "JsonProperty", "json": {"a": 1}, "unitCode": "MTR"},
    }
    assert_problem(
        http.post(f"{API}/entities", json=entity, headers=JSON), 400, "BadRequestData"
    )


# -- clause 4.6.3: GeoJSON geometries and DateTime ------------------------------------------------


def test_geometry_collection_is_400(
    http: httpx.Client, new_id: Callable[..., str]
) -> None:
    entity = {
        "id": new_id("Vehicle"),
        "type": "Vehicle",
        "location": {
            "type": "GeoProperty",
            "value": {
                "type": "GeometryCollection",
                "geometries": [{"type": "Point", "coordinates": [7.8, 51.6]}],
            },
        },
    }
    assert_problem(
        http.post(f"{API}/entities", json=entity, headers=JSON), 400, "BadRequestData"
    )


@pytest.mark.parametrize(
    "geometry",
    [
        {"type": "Point", "coordinates": [7.8, 51.6]},
        {"type": "MultiPoint", "coordinates": [[7.8, 51.6], [7.9, 51.7]]},
        {"type": "LineString", "coordinates": [[7.8, 51.6], [7.9, 51.7]]},
        {"type": "MultiLineString", "coordinates": [[[7.8, 51.6], [7.9, 51.7]]]},
        {
            "type": "Polygon",
            "coordinates": [[[7.8, 51.6], [7.9, 51.6], [7.9, 51.7], [7.8, 51.6]]],
        },
        {
            "type": "MultiPolygon",
            "coordinates": [[[[7.8, 51.6], [7.9, 51.6], [7.9, 51.7], [7.8, 51.6]]]],
        },
    ],
    ids=lambda g: g["type"],
)
def test_supported_geometries_round_trip(
    http: httpx.Client, new_id: Callable[..., str], geometry: dict[str, Any]
) -> None:
    entity = {
        "id": new_id("Vehicle"),
        "type": "Vehicle",
        "location": {"type": "GeoProperty", "value": geometry},
    }
    create(http, entity)
    assert get(http, entity["id"])["location"] == entity["location"]


def test_datetime_with_decimal_fraction_is_accepted(
    http: httpx.Client, new_id: Callable[..., str]
) -> None:
    entity = {
        "id": new_id("Vehicle"),
        "type": "Vehicle",
        "speed": {
            "type": "Property",
            "value": 1,
            "observedAt": "2026-01-01T10:00:00.123456Z",
        },
    }
    create(http, entity)


def test_datetime_with_utc_offset_is_400(
    http: httpx.Client, new_id: Callable[..., str]
) -> None:
    entity = {
        "id": new_id("Vehicle"),
        "type": "Vehicle",
        "speed": {
            "type": "Property",
            "value": 1,
            "observedAt": "2026-01-01T12:00:00+02:00",
        },
    }
    assert_problem(
        http.post(f"{API}/entities", json=entity, headers=JSON), 400, "BadRequestData"
    )


def test_datetime_without_z_is_400(
    http: httpx.Client, new_id: Callable[..., str]
) -> None:
    entity = {
        "id": new_id("Vehicle"),
        "type": "Vehicle",
        "speed": {"type": "Property", "value": 1, "observedAt": "2026-01-01T12:00:00"},
    }
    assert_problem(
        http.post(f"{API}/entities", json=entity, headers=JSON), 400, "BadRequestData"
    )


def test_datetime_without_seconds_is_400(
    http: httpx.Client, new_id: Callable[..., str]
) -> None:
    entity = {
        "id": new_id("Vehicle"),
        "type": "Vehicle",
        "speed": {"type": "Property", "value": 1, "observedAt": "2026-01-01T12:00Z"},
    }
    assert_problem(
        http.post(f"{API}/entities", json=entity, headers=JSON), 400, "BadRequestData"
    )


# -- clause 4.5.5: multi-attributes -----------------------------------------------------------------


def test_duplicate_dataset_id_is_400(
    http: httpx.Client, new_id: Callable[..., str]
) -> None:
    entity = {
        "id": new_id("Vehicle"),
        "type": "Vehicle",
        "speed": [
            {"type": "Property", "value": 55, "datasetId": "urn:ngsi-ld:Dataset:a"},
            {"type": "Property", "value": 11, "datasetId": "urn:ngsi-ld:Dataset:a"},
        ],
    }
    assert_problem(
        http.post(f"{API}/entities", json=entity, headers=JSON), 400, "BadRequestData"
    )


def test_two_default_instances_are_400(
    http: httpx.Client, new_id: Callable[..., str]
) -> None:
    entity = {
        "id": new_id("Vehicle"),
        "type": "Vehicle",
        "speed": [{"type": "Property", "value": 55}, {"type": "Property", "value": 11}],
    }
    assert_problem(
        http.post(f"{API}/entities", json=entity, headers=JSON), 400, "BadRequestData"
    )


def test_multi_attribute_round_trips(
    http: httpx.Client, new_id: Callable[..., str]
) -> None:
    entity = {
        "id": new_id("Vehicle"),
        "type": "Vehicle",
        "speed": [
            {"type": "Property", "value": 55},
            {"type": "Property", "value": 11, "datasetId": "urn:ngsi-ld:Dataset:gps"},
        ],
    }
    create(http, entity)
    speed = get(http, entity["id"])["speed"]
    assert isinstance(speed, list)
    assert sorted(speed, key=lambda i: i.get("datasetId", "")) == sorted(
        entity["speed"], key=lambda i: i.get("datasetId", "")
    )


def test_dataset_id_none_is_the_default_instance(
    http: httpx.Client, new_id: Callable[..., str]
) -> None:
    entity = {
        "id": new_id("Vehicle"),
        "type": "Vehicle",
        "speed": [
            {"type": "Property", "value": 55, "datasetId": "@none"},
            {"type": "Property", "value": 11, "datasetId": "urn:ngsi-ld:Dataset:gps"},
        ],
    }
    create(http, entity)
    speed = get(http, entity["id"])["speed"]
    default = [i for i in speed if "datasetId" not in i]
    assert [i["value"] for i in default] == [55]


# -- clause 4.5.2.3 and friends: concise input ------------------------------------------------------


def test_concise_input_infers_attribute_types(
    http: httpx.Client, new_id: Callable[..., str]
) -> None:
    entity_id = new_id("Vehicle")
    concise = {
        "id": entity_id,
        "type": "Vehicle",
        "speed": 55,
        "location": {"type": "Point", "coordinates": [8.0, 49.0]},
        "area": {"value": {"type": "Point", "coordinates": [1.0, 2.0]}},
        "brandName": {"value": "Volvo", "observedAt": "2026-01-01T00:00:00Z"},
        "isParked": {"object": "urn:ngsi-ld:OffStreetParking:1"},
        "name": {"languageMap": {"en": "car", "de": "Auto"}},
        "category": {"vocab": "commercial"},
        "depths": {"valueList": [1.2, 3.4]},
        "route": {"objectList": ["urn:ngsi-ld:Road:1", "urn:ngsi-ld:Road:2"]},
        "tickets": {"json": {"a": 1}},
    }
    create(http, concise)
    body = get(http, entity_id)
    assert body["speed"] == {"type": "Property", "value": 55}
    assert body["location"] == {"type": "GeoProperty", "value": concise["location"]}
    assert body["area"]["type"] == "GeoProperty"
    assert body["brandName"] == {
        "type": "Property",
        "value": "Volvo",
        "observedAt": "2026-01-01T00:00:00Z",
    }
    assert body["isParked"] == {
        "type": "Relationship",
        "object": "urn:ngsi-ld:OffStreetParking:1",
    }
    assert body["name"] == {
        "type": "LanguageProperty",
        "languageMap": {"en": "car", "de": "Auto"},
    }
    assert body["category"] == {"type": "VocabProperty", "vocab": "commercial"}
    assert body["depths"] == {"type": "ListProperty", "valueList": [1.2, 3.4]}
    assert body["route"]["type"] == "ListRelationship"
    assert body["tickets"] == {"type": "JsonProperty", "json": {"a": 1}}


def test_utf8_content_round_trips(
    http: httpx.Client, new_id: Callable[..., str]
) -> None:
    entity = {
        "id": new_id("Vehicle"),
        "type": "Vehicle",
        "brandName": {"type": "Property", "value": "Straße — 100 € 大"},
    }
    create(http, entity)
    assert get(http, entity["id"])["brandName"]["value"] == "Straße — 100 € 大"


def test_system_attributes_in_input_are_not_taken_over(
    http: httpx.Client, new_id: Callable[..., str]
) -> None:
    entity = vehicle(new_id("Vehicle"))
    entity["createdAt"] = "2000-01-01T00:00:00Z"
    create(http, entity)
    body = get(http, entity["id"], {"options": "sysAttrs"})
    assert body["createdAt"] != "2000-01-01T00:00:00Z"


# -- more value checks (4.5.x, 4.6.5) ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "attribute"),
    [
        ("name", {"type": "LanguageProperty", "languageMap": {"en": 5}}),
        ("category", {"type": "VocabProperty", "vocab": 5}),
        ("depths", {"type": "ListProperty", "valueList": 5}),
        ("route", {"type": "ListRelationship", "objectList": ["not a uri"]}),
    ],
    ids=[
        "languageMap-value-not-string",
        "vocab-not-string",
        "valueList-not-array",
        "objectList-not-uri",
    ],
)
def test_invalid_subtype_values_are_400(
    http: httpx.Client, new_id: Callable[..., str], name: str, attribute: dict[str, Any]
) -> None:
    entity = {"id": new_id("Vehicle"), "type": "Vehicle", name: attribute}
    assert_problem(
        http.post(f"{API}/entities", json=entity, headers=JSON), 400, "BadRequestData"
    )


def test_json_property_with_scalar_json_is_400(
    http: httpx.Client, new_id: Callable[..., str]
) -> None:
    entity = {
        "id": new_id("Vehicle"),
        "type": "Vehicle",
        "tickets": {"type": "JsonProperty", "json": 5},
    }
    assert_problem(
        http.post(f"{API}/entities", json=entity, headers=JSON), 400, "BadRequestData"
    )


@pytest.mark.parametrize("name", ["datasetId", "instanceId"])
def test_core_non_reified_terms_are_not_attribute_names(
    http: httpx.Client, new_id: Callable[..., str], name: str
) -> None:
    entity = {
        "id": new_id("Vehicle"),
        "type": "Vehicle",
        name: {"type": "Property", "value": 1},
    }
    assert_problem(
        http.post(f"{API}/entities", json=entity, headers=JSON), 400, "BadRequestData"
    )


def test_scope_round_trips_and_invalid_scope_is_400(
    http: httpx.Client, new_id: Callable[..., str]
) -> None:
    entity = {
        "id": new_id("Vehicle"),
        "type": "Vehicle",
        "scope": "/Hamm/Mitte",
        "a": {"type": "Property", "value": 1},
    }
    create(http, entity)
    assert get(http, entity["id"])["scope"] in ("/Hamm/Mitte", ["/Hamm/Mitte"])
    bad = {"id": new_id("Vehicle"), "type": "Vehicle", "scope": "no leading slash"}
    assert_problem(
        http.post(f"{API}/entities", json=bad, headers=JSON), 400, "BadRequestData"
    )


def test_several_types_and_multi_object_relationship(
    http: httpx.Client, new_id: Callable[..., str]
) -> None:
    entity = {
        "id": new_id("Vehicle"),
        "type": ["Vehicle", "Car"],
        "owners": {
            "type": "Relationship",
            "object": ["urn:ngsi-ld:Person:a", "urn:ngsi-ld:Person:b"],
        },
    }
    create(http, entity)
    body = get(http, entity["id"])
    assert sorted(body["type"]) == ["Car", "Vehicle"]
    assert body["owners"] == entity["owners"]


def test_expires_at_is_a_system_attribute(
    http: httpx.Client, new_id: Callable[..., str]
) -> None:
    entity = {
        "id": new_id("Vehicle"),
        "type": "Vehicle",
        "expiresAt": "2100-01-01T00:00:00Z",
        "speed": {"type": "Property", "value": 1},
    }
    create(http, entity)
    plain = get(http, entity["id"])
    assert not any(
        isinstance(v, dict) for k, v in plain.items() if k.endswith("expiresAt")
    )
    assert (
        get(http, entity["id"], {"options": "sysAttrs"})["expiresAt"]
        == "2100-01-01T00:00:00Z"
    )
