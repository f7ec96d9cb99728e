# SPDX-License-Identifier: EUPL-1.2
"""Properties of input parsing and output representations (hypothesis over generated entities)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from broker.entities import normalize, representation
from broker.entities.geojson import validate_geometry
from broker.errors import BadRequestData
from tests.broker.entities.strategies import entities, geometries, json_values


def as_lists(entity: dict[str, Any]) -> dict[str, Any]:
    return {k: v if k in ("id", "type") else [v] for k, v in entity.items()} | {"type": [entity["type"]]}


@given(entities())
def test_a_normalized_entity_parses_to_itself(entity: dict[str, Any]) -> None:
    assert normalize.parse_entity(entity) == as_lists(entity)


@given(entities())
def test_the_concise_representation_parses_back_to_the_normalized_entity(entity: dict[str, Any]) -> None:
    concise = representation.to_concise(entity)
    assert normalize.parse_entity(concise) == as_lists(entity)


@given(entities())
def test_key_values_keeps_every_attribute_value(entity: dict[str, Any]) -> None:
    key_values = representation.to_key_values(entity)
    assert set(key_values) == set(entity)
    for name, instance in entity.items():
        if name in ("id", "type"):
            continue
        member = normalize.ATTRIBUTE_TYPES[instance["type"]]
        expected = instance[member]
        if instance["type"] == "ListRelationship":
            expected = [item["object"] for item in expected]
        if instance["type"] in ("LanguageProperty", "VocabProperty", "JsonProperty"):
            expected = {member: expected}  # clause 4.5.4 keeps a one-key object for these
        assert key_values[name] == expected


@given(geometries)
def test_generated_geometries_are_valid(geometry: dict[str, Any]) -> None:
    validate_geometry(geometry)


@given(json_values)
def test_arbitrary_json_as_geometry_raises_only_bad_request_data(value: Any) -> None:
    try:
        validate_geometry(value)
    except BadRequestData:
        pass


@given(st.dictionaries(st.text(max_size=8), json_values, max_size=4))
def test_arbitrary_json_as_entity_raises_only_bad_request_data(body: dict[str, Any]) -> None:
    try:
        normalize.parse_entity({"id": "urn:a:b", "type": "T", **body})
    except BadRequestData:
        pass


@pytest.mark.parametrize(
    "language_map,lang,expected",
    [
        ({"de": "Bahnhof", "en": "Station"}, "en", ("en", "Station")),
        ({"de": "Bahnhof", "en": "Station"}, "fr,en", ("en", "Station")),
        ({"de": "Bahnhof", "@none": "Station"}, "fr", ("@none", "Station")),
        ({"de": "Bahnhof"}, "fr", ("de", "Bahnhof")),
    ],
)
def test_pick_language(language_map: dict[str, str], lang: str, expected: tuple[str, str]) -> None:
    assert representation.pick_language(language_map, lang) == expected
