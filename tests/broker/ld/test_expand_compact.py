# SPDX-License-Identifier: EUPL-1.2
"""The entity walk: which names expand, which values are touched, and what the walk rejects."""

from __future__ import annotations

from typing import Any

import pytest

from broker.errors import BadRequestData
from broker.ld import (
    DEFAULT_VOCAB,
    compact_attribute,
    compact_entity,
    compact_fragment,
    compile_context,
    expand_attribute,
    expand_entity,
    expand_fragment,
)

TERM_MAP = compile_context({"ex": "http://example.org/", "speed": "http://example.org/speed", "alias": "@type"})


def test_entity_members_stay_short_and_context_is_dropped() -> None:
    entity = {
        "@context": "https://example.org/ignored.jsonld",
        "id": "urn:ngsi-ld:Car:1",
        "type": "Car",
        "scope": ["/Hamm"],
        "createdAt": "2024-01-01T00:00:00Z",
        "modifiedAt": "2024-01-02T00:00:00Z",
    }
    assert expand_entity(entity, TERM_MAP) == {
        "id": "urn:ngsi-ld:Car:1",
        "type": [DEFAULT_VOCAB + "Car"],
        "scope": ["/Hamm"],
        "createdAt": "2024-01-01T00:00:00Z",
        "modifiedAt": "2024-01-02T00:00:00Z",
    }


def test_an_attribute_is_always_a_list_of_instances_once_expanded() -> None:
    expanded = expand_fragment({"speed": {"type": "Property", "value": 80}}, TERM_MAP)
    assert expanded == {"http://example.org/speed": [{"type": "Property", "value": 80}]}
    assert compact_fragment(expanded, TERM_MAP) == {"speed": {"type": "Property", "value": 80}}


def test_expand_attribute_takes_one_instance_or_several() -> None:
    one = {"type": "Property", "value": 1}
    assert expand_attribute(one, TERM_MAP) == [one]
    several = [dict(one, datasetId="urn:a"), dict(one, datasetId="urn:b")]
    assert expand_attribute(several, TERM_MAP) == several
    assert compact_attribute(expand_attribute(several, TERM_MAP), TERM_MAP) == several


def test_geojson_json_and_language_maps_are_left_alone() -> None:
    fragment: dict[str, Any] = {
        "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [7.8, 51.7]}},
        "settings": {"type": "JsonProperty", "json": {"speed": 1, "type": "raw"}},
        "label": {"type": "LanguageProperty", "languageMap": {"de": "Ampel", "speed": "x"}},
        "link": {"type": "Relationship", "object": "speed"},
    }
    expanded = expand_fragment(fragment, TERM_MAP)
    assert [instance for [instance] in expanded.values()] == list(fragment.values())
    assert compact_fragment(expanded, TERM_MAP) == fragment


def test_compound_values_have_their_keys_expanded_except_keywords() -> None:
    value = {"speed": 1, "ex:unit": "km/h", "nested": [{"speed": 2}, 3], "@type": "DateTime", "@value": "speed"}
    [instance] = expand_fragment({"reading": {"type": "Property", "value": value}}, TERM_MAP)[DEFAULT_VOCAB + "reading"]
    assert instance["value"] == {
        "http://example.org/speed": 1,
        "http://example.org/unit": "km/h",
        DEFAULT_VOCAB + "nested": [{"http://example.org/speed": 2}, 3],
        "@type": "https://uri.etsi.org/ngsi-ld/DateTime",
        "@value": "speed",
    }


def test_keyword_aliases_in_values_keep_their_spelling() -> None:
    fragment = {"address": {"type": "Property", "value": {"type": "PostalAddress", "alias": "ex:Other", "id": "urn:x"}}}
    [instance] = expand_fragment(fragment, TERM_MAP)[DEFAULT_VOCAB + "address"]
    assert instance["value"] == {
        "type": DEFAULT_VOCAB + "PostalAddress",
        "alias": "http://example.org/Other",
        "id": "urn:x",
    }
    assert compact_fragment(expand_fragment(fragment, TERM_MAP), TERM_MAP) == fragment


def test_vocab_values_and_object_types_are_expanded_as_types() -> None:
    fragment = {
        "category": {"type": "VocabProperty", "vocab": "ex:public"},
        "owner": {"type": "Relationship", "object": "urn:ngsi-ld:Org:1", "objectType": ["Org", "ex:City"]},
    }
    expanded = expand_fragment(fragment, TERM_MAP)
    assert expanded[DEFAULT_VOCAB + "category"][0]["vocab"] == "http://example.org/public"
    assert expanded[DEFAULT_VOCAB + "owner"][0]["objectType"] == [DEFAULT_VOCAB + "Org", "http://example.org/City"]
    assert compact_fragment(expanded, TERM_MAP) == fragment


def test_sub_attributes_expand_recursively_and_core_members_stay_short() -> None:
    fragment = {
        "speed": {
            "type": "Property",
            "value": 80,
            "observedAt": "2024-05-04T12:00:00Z",
            "unitCode": "KMH",
            "ex:accuracy": {"type": "Property", "value": 0.9, "ex:method": {"type": "Property", "value": "radar"}},
        }
    }
    [instance] = expand_fragment(fragment, TERM_MAP)["http://example.org/speed"]
    assert set(instance) == {"type", "value", "observedAt", "unitCode", "http://example.org/accuracy"}
    assert "http://example.org/method" in instance["http://example.org/accuracy"]
    assert compact_fragment(expand_fragment(fragment, TERM_MAP), TERM_MAP) == {
        "speed": {
            "type": "Property",
            "value": 80,
            "observedAt": "2024-05-04T12:00:00Z",
            "unitCode": "KMH",
            "ex:accuracy": {"type": "Property", "value": 0.9, "ex:method": {"type": "Property", "value": "radar"}},
        }
    }


def test_a_single_type_compacts_to_a_string_and_several_to_a_list() -> None:
    assert compact_entity({"id": "urn:x", "type": [DEFAULT_VOCAB + "A"]}, TERM_MAP)["type"] == "A"
    assert compact_entity({"id": "urn:x", "type": [DEFAULT_VOCAB + "A", "http://example.org/B"]}, TERM_MAP)["type"] == [
        "A",
        "ex:B",
    ]


@pytest.mark.parametrize(
    ("fragment", "detail"),
    [
        ({"speed": {"type": "Property", "value": 1}, "ex:speed": {"type": "Property", "value": 2}}, "same attribute"),
        (
            {
                "speed": {
                    "type": "Property",
                    "value": 1,
                    "a": {"type": "Property", "value": 1},
                    f"{DEFAULT_VOCAB}a": {"type": "Property", "value": 1},
                }
            },
            "same attribute",
        ),
        ({"alias": {"type": "Property", "value": 1}}, "keyword"),
        ({"@id": {"type": "Property", "value": 1}}, "keyword"),
        ({"speed": 5}, "must be an object"),
        ({"speed": []}, "empty array"),
        ({"speed": {"type": "Property", "value": 1, "sub": [{"type": "Property", "value": 1}]}}, "single object"),
        ({"type": 5}, "entity type"),
        ({"type": []}, "entity type"),
        ({"speed": {"type": "Property", "value": {"a": 1, f"{DEFAULT_VOCAB}a": 2}}}, "same member"),
    ],
)
def test_shapes_the_walk_cannot_take_are_bad_request_data(fragment: dict[str, Any], detail: str) -> None:
    with pytest.raises(BadRequestData, match=detail):
        expand_entity(fragment, TERM_MAP)


def test_deeply_nested_values_and_sub_attributes_are_bad_request_data() -> None:
    value: Any = 1
    for _ in range(5000):
        value = {"v": [value]}
    with pytest.raises(BadRequestData, match="nested deeper"):
        expand_fragment({"deep": {"type": "Property", "value": value}}, TERM_MAP)
    instance: dict[str, Any] = {"type": "Property", "value": 1}
    for _ in range(500):
        instance = {"type": "Property", "value": 1, "sub": instance}
    with pytest.raises(BadRequestData, match="nested deeper"):
        expand_fragment({"deep": instance}, TERM_MAP)
