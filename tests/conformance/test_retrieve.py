# SPDX-License-Identifier: EUPL-1.2
"""Retrieve Entity (5.7.1, HTTP binding 6.5.3.1): negotiation, projection and representations."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.conformance.support import (
    CORE_CONTEXTS,
    DATETIME,
    assert_problem,
    create,
    get,
    link_header_target,
    url,
    vehicle,
)


@pytest.fixture
def car(http: httpx.Client, new_id: Callable[..., str]) -> dict[str, Any]:
    entity = vehicle(new_id("Vehicle"))
    create(http, entity)
    return entity


# -- content negotiation (6.3.4, 6.3.6) ------------------------------------------------------------


def test_default_is_application_json_with_context_link(
    http: httpx.Client, car: dict[str, Any]
) -> None:
    response = http.get(url(car["id"]))
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == "application/json"
    assert link_header_target(response) in CORE_CONTEXTS
    assert 'type="application/ld+json"' in response.headers["link"]
    assert "@context" not in response.json()


def test_accept_ld_json_puts_context_in_body(
    http: httpx.Client, car: dict[str, Any]
) -> None:
    response = http.get(url(car["id"]), headers={"Accept": "application/ld+json"})
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == "application/ld+json"
    body = response.json()
    assert "@context" in body
    assert {k: v for k, v in body.items() if k != "@context"} == car


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("*/*", "application/json"),
        ("application/*", "application/json"),
        ("application/json, application/ld+json", "application/json"),
        ("application/json;q=0.5, application/ld+json", "application/ld+json"),
        ("text/html, application/ld+json;q=0.8", "application/ld+json"),
    ],
)
def test_accept_selection(
    http: httpx.Client, car: dict[str, Any], accept: str, expected: str
) -> None:
    response = http.get(url(car["id"]), headers={"Accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == expected


def test_unacceptable_accept_is_406(http: httpx.Client, car: dict[str, Any]) -> None:
    response = http.get(url(car["id"]), headers={"Accept": "text/html"})
    assert response.status_code == 406


# -- errors ------------------------------------------------------------------------------------------


def test_unknown_entity_is_404(http: httpx.Client, new_id: Callable[..., str]) -> None:
    assert_problem(http.get(url(new_id("Vehicle"))), 404, "ResourceNotFound")


def test_invalid_entity_id_is_400(http: httpx.Client) -> None:
    assert_problem(http.get("/ngsi-ld/v1/entities/not-a-uri"), 400, "BadRequestData")


def test_type_selector(http: httpx.Client, car: dict[str, Any]) -> None:
    assert http.get(url(car["id"]), params={"type": "Vehicle"}).status_code == 200
    assert_problem(
        http.get(url(car["id"]), params={"type": "Building"}), 404, "ResourceNotFound"
    )


# -- projection (attrs, pick, omit: 4.21, 6.5.3.1) ----------------------------------------------------


def test_attrs_restricts_attributes(http: httpx.Client, car: dict[str, Any]) -> None:
    body = get(http, car["id"], {"attrs": "speed,isParked"})
    assert body == {
        "id": car["id"],
        "type": "Vehicle",
        "speed": car["speed"],
        "isParked": car["isParked"],
    }


def test_attrs_matching_nothing_is_404(http: httpx.Client, car: dict[str, Any]) -> None:
    assert_problem(
        http.get(url(car["id"]), params={"attrs": "noSuchAttribute"}),
        404,
        "ResourceNotFound",
    )


def test_pick(http: httpx.Client, car: dict[str, Any]) -> None:
    assert get(http, car["id"], {"pick": "id,brandName"}) == {
        "id": car["id"],
        "brandName": car["brandName"],
    }


def test_omit(http: httpx.Client, car: dict[str, Any]) -> None:
    expected = {k: v for k, v in car.items() if k not in ("type", "speed")}
    assert get(http, car["id"], {"omit": "type,speed"}) == expected


# -- sysAttrs (6.3.7, 4.8) ---------------------------------------------------------------------------


def test_sys_attrs(http: httpx.Client, car: dict[str, Any]) -> None:
    plain = get(http, car["id"])
    assert "createdAt" not in plain and "modifiedAt" not in plain["speed"]
    body = get(http, car["id"], {"options": "sysAttrs"})
    for holder in (body, body["speed"], body["isParked"]):
        assert DATETIME.match(holder["createdAt"]), holder
        assert DATETIME.match(holder["modifiedAt"]), holder
        assert holder["modifiedAt"] >= holder["createdAt"]


# -- concise (4.5.x.3) ---------------------------------------------------------------------------------


def test_concise_representation(http: httpx.Client, car: dict[str, Any]) -> None:
    body = get(http, car["id"], {"options": "concise"})
    assert body["id"] == car["id"] and body["type"] == "Vehicle"
    assert body["brandName"] == "Volvo"
    assert body["isParked"] == {"object": "urn:ngsi-ld:OffStreetParking:p1"}
    assert body["speed"]["value"] == 55 and "type" not in body["speed"]
    assert body["speed"]["unitCode"] == "KMH"


def test_concise_is_lossless(
    http: httpx.Client, new_id: Callable[..., str], car: dict[str, Any]
) -> None:
    concise = get(http, car["id"], {"format": "concise"})
    copy_id = new_id("Vehicle")
    create(http, {**concise, "id": copy_id})
    assert get(http, copy_id) == {**car, "id": copy_id}


# -- simplified / keyValues (4.5.4) ------------------------------------------------------------------


def test_key_values_basic_kinds(http: httpx.Client, car: dict[str, Any]) -> None:
    body = get(http, car["id"], {"options": "keyValues"})
    assert body == {
        "id": car["id"],
        "type": "Vehicle",
        "speed": 55,
        "brandName": "Volvo",
        "isParked": "urn:ngsi-ld:OffStreetParking:p1",
        "location": car["location"]["value"],
    }


@pytest.mark.parametrize(
    "params",
    [{"format": "keyValues"}, {"format": "simplified"}, {"options": "simplified"}],
)
def test_key_values_synonyms(
    http: httpx.Client, car: dict[str, Any], params: dict[str, str]
) -> None:
    assert get(http, car["id"], params)["speed"] == 55


def test_format_takes_precedence_over_options(
    http: httpx.Client, car: dict[str, Any]
) -> None:
    assert (
        get(http, car["id"], {"options": "keyValues", "format": "normalized"})["speed"]
        == car["speed"]
    )


def _one_attribute_entity(
    http: httpx.Client, new_id: Callable[..., str], attribute: Any
) -> str:
    entity_id = new_id("Vehicle")
    create(http, {"id": entity_id, "type": "Vehicle", "attr": attribute})
    return entity_id


def test_key_values_list_property(
    http: httpx.Client, new_id: Callable[..., str]
) -> None:
    entity_id = _one_attribute_entity(
        http, new_id, {"type": "ListProperty", "valueList": [1.2, 3.4]}
    )
    assert get(http, entity_id, {"options": "keyValues"})["attr"] == [1.2, 3.4]


def test_key_values_list_relationship(
    http: httpx.Client, new_id: Callable[..., str]
) -> None:
    entity_id = _one_attribute_entity(
        http,
        new_id,
        {
            "type": "ListRelationship",
            "objectList": [
                {"object": "urn:ngsi-ld:Road:1"},
                {"object": "urn:ngsi-ld:Road:2"},
            ],
        },
    )
    assert get(http, entity_id, {"options": "keyValues"})["attr"] == [
        "urn:ngsi-ld:Road:1",
        "urn:ngsi-ld:Road:2",
    ]


def test_key_values_language_property(
    http: httpx.Client, new_id: Callable[..., str]
) -> None:
    entity_id = _one_attribute_entity(
        http,
        new_id,
        {"type": "LanguageProperty", "languageMap": {"en": "yes", "fr": "oui"}},
    )
    assert get(http, entity_id, {"options": "keyValues"})["attr"] == {
        "languageMap": {"en": "yes", "fr": "oui"}
    }


def test_key_values_vocab_property(
    http: httpx.Client, new_id: Callable[..., str]
) -> None:
    entity_id = _one_attribute_entity(
        http, new_id, {"type": "VocabProperty", "vocab": "commercial"}
    )
    assert get(http, entity_id, {"options": "keyValues"})["attr"] == {
        "vocab": "commercial"
    }


def test_key_values_json_property(
    http: httpx.Client, new_id: Callable[..., str]
) -> None:
    entity_id = _one_attribute_entity(
        http, new_id, {"type": "JsonProperty", "json": {"id": "x", "value": 1}}
    )
    assert get(http, entity_id, {"options": "keyValues"})["attr"] == {
        "json": {"id": "x", "value": 1}
    }


def test_key_values_multi_attribute(
    http: httpx.Client, new_id: Callable[..., str]
) -> None:
    entity_id = _one_attribute_entity(
        http,
        new_id,
        [
            {"type": "Property", "value": 55},
            {"type": "Property", "value": 11, "datasetId": "urn:ngsi-ld:Dataset:gps"},
        ],
    )
    assert get(http, entity_id, {"options": "keyValues"})["attr"] == {
        "dataset": {"@none": 55, "urn:ngsi-ld:Dataset:gps": 11}
    }


def test_list_relationship_normalized_output(
    http: httpx.Client, new_id: Callable[..., str]
) -> None:
    entity_id = _one_attribute_entity(
        http,
        new_id,
        {
            "type": "ListRelationship",
            "objectList": ["urn:ngsi-ld:Road:1", "urn:ngsi-ld:Road:2"],
        },
    )
    assert get(http, entity_id)["attr"] == {
        "type": "ListRelationship",
        "objectList": [
            {"object": "urn:ngsi-ld:Road:1"},
            {"object": "urn:ngsi-ld:Road:2"},
        ],
    }


# -- language filter (4.15) ------------------------------------------------------------------------------


@pytest.fixture
def multilingual(http: httpx.Client, new_id: Callable[..., str]) -> str:
    return _one_attribute_entity(
        http,
        new_id,
        {
            "type": "LanguageProperty",
            "languageMap": {
                "fr": "Grand Place",
                "nl": "Grote Markt",
                "en": "Main Square",
            },
        },
    )


def test_lang_converts_language_property(http: httpx.Client, multilingual: str) -> None:
    assert get(http, multilingual, {"lang": "nl"})["attr"] == {
        "type": "Property",
        "value": "Grote Markt",
        "lang": "nl",
    }


def test_lang_with_key_values(http: httpx.Client, multilingual: str) -> None:
    assert (
        get(http, multilingual, {"lang": "fr", "options": "keyValues"})["attr"]
        == "Grand Place"
    )


def test_lang_without_match_falls_back_to_some_language(
    http: httpx.Client, multilingual: str
) -> None:
    attr = get(http, multilingual, {"lang": "pt"})["attr"]
    assert attr["type"] == "Property"
    assert "languageMap" not in attr
    assert (attr["lang"], attr["value"]) in {
        ("fr", "Grand Place"),
        ("nl", "Grote Markt"),
        ("en", "Main Square"),
    }


def test_lang_list_without_ranking_picks_a_listed_language(
    http: httpx.Client, multilingual: str
) -> None:
    attr = get(http, multilingual, {"lang": "de,nl"})["attr"]
    assert (attr["lang"], attr["value"]) == ("nl", "Grote Markt")


def test_lang_quality_values_rank(http: httpx.Client, multilingual: str) -> None:
    assert (
        get(http, multilingual, {"lang": "fr;q=0.2,nl;q=0.9"})["attr"]["lang"] == "nl"
    )


def test_lang_wildcard_converts(http: httpx.Client, multilingual: str) -> None:
    attr = get(http, multilingual, {"lang": "*"})["attr"]
    assert attr["type"] == "Property" and "lang" in attr and "languageMap" not in attr


# -- datasetId (5.7.1.4, Table 6.5.3.1-1) ---------------------------------------------------------------


@pytest.fixture
def multi(http: httpx.Client, new_id: Callable[..., str]) -> str:
    entity_id = new_id("Vehicle")
    create(
        http,
        {
            "id": entity_id,
            "type": "Vehicle",
            "speed": [
                {"type": "Property", "value": 55},
                {"type": "Property", "value": 11, "datasetId": "urn:ngsi-ld:Dataset:a"},
                {"type": "Property", "value": 22, "datasetId": "urn:ngsi-ld:Dataset:b"},
            ],
            "brandName": {"type": "Property", "value": "Volvo"},
        },
    )
    return entity_id


def _values(attribute: Any) -> set[Any]:
    instances = attribute if isinstance(attribute, list) else [attribute]
    return {instance["value"] for instance in instances}


def test_dataset_id_selects_instances(http: httpx.Client, multi: str) -> None:
    body = get(http, multi, {"datasetId": "urn:ngsi-ld:Dataset:a"})
    assert _values(body["speed"]) == {11}
    assert "brandName" not in body  # no instance with that datasetId: not returned


def test_dataset_id_list(http: httpx.Client, multi: str) -> None:
    body = get(
        http, multi, {"datasetId": "urn:ngsi-ld:Dataset:a,urn:ngsi-ld:Dataset:b"}
    )
    assert _values(body["speed"]) == {11, 22}


def test_dataset_id_none_selects_default(http: httpx.Client, multi: str) -> None:
    body = get(http, multi, {"datasetId": "@none"})
    assert _values(body["speed"]) == {55}
    assert body["brandName"]["value"] == "Volvo"


# -- GeoJSON (4.5.16, 4.5.17, 6.3.6) ----------------------------------------------------------------------

GEO = {"Accept": "application/geo+json"}


def test_geojson_feature(http: httpx.Client, car: dict[str, Any]) -> None:
    response = http.get(url(car["id"]), headers=GEO)
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == "application/geo+json"
    body = response.json()
    assert body["type"] == "Feature"
    assert body["id"] == car["id"]
    assert body["geometry"] == car["location"]["value"]
    props = body["properties"]
    assert "id" not in props
    assert props["type"] == "Vehicle"
    assert props["speed"] == car["speed"]
    assert props["location"] == car["location"]


def test_geojson_without_prefer_has_context_in_body(
    http: httpx.Client, car: dict[str, Any]
) -> None:
    assert "@context" in http.get(url(car["id"]), headers=GEO).json()


def test_geojson_prefer_body_json_uses_link_header(
    http: httpx.Client, car: dict[str, Any]
) -> None:
    response = http.get(url(car["id"]), headers={**GEO, "Prefer": "body=json"})
    assert response.status_code == 200
    assert "@context" not in response.json()
    assert link_header_target(response) is not None


def test_geojson_geometry_property(
    http: httpx.Client, new_id: Callable[..., str]
) -> None:
    entity = {
        "id": new_id("Vehicle"),
        "type": "Vehicle",
        "location": {
            "type": "GeoProperty",
            "value": {"type": "Point", "coordinates": [1.0, 2.0]},
        },
        "parkedAt": {
            "type": "GeoProperty",
            "value": {"type": "Point", "coordinates": [3.0, 4.0]},
        },
    }
    create(http, entity)
    body = http.get(
        url(entity["id"]), params={"geometryProperty": "parkedAt"}, headers=GEO
    ).json()
    assert body["geometry"] == {"type": "Point", "coordinates": [3.0, 4.0]}


def test_geojson_without_geometry_is_null(
    http: httpx.Client, new_id: Callable[..., str]
) -> None:
    entity = {
        "id": new_id("Vehicle"),
        "type": "Vehicle",
        "speed": {"type": "Property", "value": 5},
    }
    create(http, entity)
    body = http.get(url(entity["id"]), headers=GEO).json()
    assert body["geometry"] is None
    body = http.get(
        url(entity["id"]), params={"geometryProperty": "speed"}, headers=GEO
    ).json()
    assert body["geometry"] is None


def test_geojson_multi_instance_location_uses_default(
    http: httpx.Client, new_id: Callable[..., str]
) -> None:
    entity = {
        "id": new_id("Vehicle"),
        "type": "Vehicle",
        "location": [
            {
                "type": "GeoProperty",
                "value": {"type": "Point", "coordinates": [9.0, 9.0]},
                "datasetId": "urn:ngsi-ld:Dataset:gps",
            },
            {
                "type": "GeoProperty",
                "value": {"type": "Point", "coordinates": [1.0, 2.0]},
            },
        ],
    }
    create(http, entity)
    body = http.get(url(entity["id"]), headers=GEO).json()
    assert body["geometry"] == {"type": "Point", "coordinates": [1.0, 2.0]}


def test_geojson_dataset_id_selects_geometry_instance(
    http: httpx.Client, new_id: Callable[..., str]
) -> None:
    entity = {
        "id": new_id("Vehicle"),
        "type": "Vehicle",
        "location": [
            {
                "type": "GeoProperty",
                "value": {"type": "Point", "coordinates": [9.0, 9.0]},
                "datasetId": "urn:ngsi-ld:Dataset:gps",
            },
            {
                "type": "GeoProperty",
                "value": {"type": "Point", "coordinates": [1.0, 2.0]},
            },
        ],
    }
    create(http, entity)
    body = http.get(
        url(entity["id"]), params={"datasetId": "urn:ngsi-ld:Dataset:gps"}, headers=GEO
    ).json()
    assert body["geometry"] == {"type": "Point", "coordinates": [9.0, 9.0]}


def test_simplified_geojson(http: httpx.Client, car: dict[str, Any]) -> None:
    body = http.get(url(car["id"]), params={"options": "keyValues"}, headers=GEO).json()
    assert body["type"] == "Feature"
    assert body["geometry"] == car["location"]["value"]
    assert body["properties"]["speed"] == 55
    assert body["properties"]["isParked"] == "urn:ngsi-ld:OffStreetParking:p1"
    assert body["properties"]["location"] == car["location"]["value"]


def test_geometry_property_without_geojson_accept_is_400(
    http: httpx.Client, car: dict[str, Any]
) -> None:
    assert_problem(
        http.get(url(car["id"]), params={"geometryProperty": "location"}),
        400,
        "BadRequestData",
    )


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("application/ld+json, application/json", "application/json"),
        ("application/geo+json, application/ld+json", "application/ld+json"),
    ],
)
def test_equal_quality_prefers_the_spec_order(
    http: httpx.Client, car: dict[str, Any], accept: str, expected: str
) -> None:
    response = http.get(url(car["id"]), headers={"Accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == expected


def test_dataset_id_not_a_uri_is_400(http: httpx.Client, car: dict[str, Any]) -> None:
    assert (
        http.get(url(car["id"]), params={"datasetId": "not a uri"}).status_code == 400
    )


def test_concise_round_trip_of_every_kind(
    http: httpx.Client, new_id: Callable[..., str]
) -> None:
    entity = {
        "id": new_id("Vehicle"),
        "type": "Vehicle",
        "speed": {
            "type": "Property",
            "value": 55,
            "unitCode": "KMH",
            "accuracy": {"type": "Property", "value": 0.5},
        },
        "address": {"type": "Property", "value": {"street": "Bahnhofstr.", "no": 1}},
        "isParked": {
            "type": "Relationship",
            "object": "urn:ngsi-ld:OffStreetParking:1",
            "objectType": "OffStreetParking",
        },
        "location": {
            "type": "GeoProperty",
            "value": {"type": "Point", "coordinates": [7.8, 51.6]},
        },
        "name": {
            "type": "LanguageProperty",
            "languageMap": {"en": "car", "de": "Auto"},
        },
        "category": {"type": "VocabProperty", "vocab": "commercial"},
        "depths": {"type": "ListProperty", "valueList": [1.2, 3.4]},
        "route": {
            "type": "ListRelationship",
            "objectList": [{"object": "urn:ngsi-ld:Road:1"}],
        },
        "tickets": {"type": "JsonProperty", "json": {"a": [1, 2]}},
    }
    create(http, entity)
    concise = get(http, entity["id"], {"options": "concise"})
    for name in ("isParked", "name", "category", "depths", "route", "tickets"):
        assert "type" not in concise[name], concise[name]
    copy_id = new_id("Vehicle")
    create(http, {**concise, "id": copy_id})
    assert get(http, copy_id) == {**entity, "id": copy_id}


def test_concise_multi_attribute_is_lossless(
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
    concise = get(http, entity["id"], {"options": "concise"})
    assert all(isinstance(instance, dict) for instance in concise["speed"])
    copy_id = new_id("Vehicle")
    create(http, {**concise, "id": copy_id})
    speed = get(http, copy_id)["speed"]
    assert isinstance(speed, list)
    assert sorted(speed, key=lambda i: i.get("datasetId", "")) == entity["speed"]


# -- Entity Type Selection Language (4.17) -------------------------------------------------------------


@pytest.fixture
def home_vehicle(http: httpx.Client, new_id: Callable[..., str]) -> str:
    entity_id = new_id("Motorhome")
    create(
        http,
        {
            "id": entity_id,
            "type": ["Home", "Vehicle"],
            "a": {"type": "Property", "value": 1},
        },
    )
    return entity_id


@pytest.mark.parametrize(
    ("selector", "status"),
    [("Building,Vehicle", 200), ("Building,Shop", 404), ("(Home;Building)", 404)],
)
def test_type_selector_that_the_broker_answers_right(
    http: httpx.Client, home_vehicle: str, selector: str, status: int
) -> None:
    assert http.get(url(home_vehicle), params={"type": selector}).status_code == status


@pytest.mark.parametrize(
    ("selector", "status"),
    [
        ("Building|Vehicle", 200),
        ("(Home;Vehicle)", 200),
        ("(Home;Building)|Vehicle", 200),
        ("(Home;Building)", 404),
    ],
)
def test_type_selector_language(
    http: httpx.Client, home_vehicle: str, selector: str, status: int
) -> None:
    assert http.get(url(home_vehicle), params={"type": selector}).status_code == status
