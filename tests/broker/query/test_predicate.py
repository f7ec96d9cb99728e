# SPDX-License-Identifier: EUPL-1.2
"""The Python predicate on the vector entities (clause 4.9 examples and Hamm), and the edge cases of clause 4.9."""

from __future__ import annotations

from typing import Any

import pytest

from broker.ld import ExpandedEntity, TermMap
from broker.query import (
    expand_query,
    matches_q,
    matches_scope,
    matches_types,
    parse_q,
    parse_scope_query,
    parse_type_selection,
)
from tests.broker.query.entity_table import load_vectors, vector_entities

TERM_MAP, ENTITIES = vector_entities()
ALL_IDS = {entity["id"] for entity in ENTITIES}
Q = load_vectors("q.json")["valid"]
TYPES = load_vectors("type_selection.json")["valid"]
SCOPES = load_vectors("scope_query.json")["valid"]


def expected(vector: dict[str, Any]) -> set[str]:
    return ALL_IDS if vector["matches"] == "all" else set(vector["matches"])


@pytest.mark.parametrize("vector", Q, ids=[f"{v['clause']}: {v['q']}" for v in Q])
def test_q_vectors_select_the_expected_entities(vector: dict[str, Any]) -> None:
    node = expand_query(parse_q(vector["q"]), TERM_MAP)
    assert {entity["id"] for entity in ENTITIES if matches_q(node, entity)} == expected(vector)


@pytest.mark.parametrize("vector", TYPES, ids=[v["type"] for v in TYPES])
def test_type_selection_vectors_select_the_expected_entities(vector: dict[str, Any]) -> None:
    node = expand_query(parse_type_selection(vector["type"]), TERM_MAP)
    assert {entity["id"] for entity in ENTITIES if matches_types(node, entity)} == expected(vector)


@pytest.mark.parametrize("vector", SCOPES, ids=[v["scopeQ"] for v in SCOPES])
def test_scope_query_vectors_select_the_expected_entities(vector: dict[str, Any]) -> None:
    node = parse_scope_query(vector["scopeQ"])
    assert {entity["id"] for entity in ENTITIES if matches_scope(node, entity)} == expected(vector)


def entity(**attributes: Any) -> ExpandedEntity:
    """An expanded entity with attributes in the default @vocab, each given as one instance or a list of them."""
    doc: ExpandedEntity = {"id": "urn:ngsi-ld:Thing:1", "type": ["https://uri.etsi.org/ngsi-ld/default-context/Thing"]}
    for name, value in attributes.items():
        doc[TERM_MAP.expand_term(name)] = value if isinstance(value, list) else [value]
    return doc


def holds(q: str, expanded_entity: ExpandedEntity, term_map: TermMap = TERM_MAP) -> bool:
    return matches_q(expand_query(parse_q(q), term_map), expanded_entity)


def test_a_missing_attribute_does_not_match_unequal() -> None:
    # Clause 4.9, unequal: "A matching entity shall contain the target element".
    assert not holds("temperature!=20", entity())
    assert holds("!temperature|temperature!=20", entity())


def test_unequal_with_another_data_type_matches() -> None:
    assert holds('temperature!="20"', entity(temperature={"type": "Property", "value": 20}))
    assert not holds("temperature!=20", entity(temperature={"type": "Property", "value": 20}))
    assert not holds("temperature!=20", entity(temperature={"type": "Property", "value": 20.0}))


def test_ordering_with_another_data_type_is_false_not_an_error() -> None:
    doc = entity(name={"type": "Property", "value": "Hamm"}, flag={"type": "Property", "value": True})
    assert not holds("name>5", doc)
    assert not holds("flag>0", doc)
    assert not holds("name>2026-01-01T00:00:00Z", doc)


def test_true_is_not_one() -> None:
    doc = entity(flag={"type": "Property", "value": True}, count={"type": "Property", "value": 1})
    assert holds("flag==true", doc) and not holds("flag==1", doc)
    assert holds("count==1", doc) and not holds("count==true", doc)


def test_any_instance_may_match() -> None:
    doc = entity(
        temperature=[{"type": "Property", "value": 12}, {"type": "Property", "value": 31, "datasetId": "urn:d:1"}]
    )
    assert holds("temperature>30", doc)
    assert holds("temperature<20", doc)
    assert holds("temperature!=12", doc)  # the second instance is unequal


def test_pattern_operators_need_strings() -> None:
    doc = entity(code={"type": "Property", "value": 42}, tags={"type": "Property", "value": ["abc", "xyz"]})
    assert not holds('code~="4"', doc) and not holds('code!~="4"', doc)
    assert holds('tags~="^x"', doc) and not holds('tags!~="^x"', doc) and holds('tags!~="^q"', doc)


def test_relationships_only_match_equal_and_unequal() -> None:
    doc = entity(refParkingGroup={"type": "Relationship", "object": "urn:ngsi-ld:ParkingGroup:1"})
    assert holds('refParkingGroup!="urn:ngsi-ld:ParkingGroup:2"', doc)
    assert not holds('refParkingGroup~="ParkingGroup"', doc)
    assert not holds('refParkingGroup>="urn"', doc)


def test_datetimes_compare_as_instants_across_offsets() -> None:
    doc = entity(temperature={"type": "Property", "value": 1, "observedAt": "2026-11-26T09:00:00.250+01:00"})
    assert holds("temperature.observedAt==2026-11-26T08:00:00.25Z", doc)
    assert holds("temperature.observedAt<2026-11-26T08:00:01Z", doc)
    assert not holds('temperature.observedAt=="2026-11-26T08:00:00.25Z"', doc)  # a quoted string is a string


def test_a_compound_path_that_finds_nothing_is_a_missing_target() -> None:
    doc = entity(
        address={"type": "Property", "value": {"https://uri.etsi.org/ngsi-ld/default-context/addressLocality": "Hamm"}}
    )
    assert holds("address[addressLocality]", doc)
    assert not holds("address[postalCode]", doc)
    assert not holds('address[postalCode]!="59065"', doc)


def test_sub_attributes_and_their_core_members() -> None:
    doc = entity(
        temperature={
            "type": "Property",
            "value": 20,
            "https://uri.etsi.org/ngsi-ld/default-context/accuracy": {
                "type": "Property",
                "value": 0.5,
                "unitCode": "CEL",
            },
        }
    )
    assert holds("temperature.accuracy<=0.5", doc)
    assert holds('temperature.accuracy.unitCode=="CEL"', doc)
    assert not holds("temperature.observedAt", doc)


def test_object_type_compares_with_the_expanded_type() -> None:
    doc = entity(
        refParkingGroup={
            "type": "Relationship",
            "object": "urn:ngsi-ld:ParkingGroup:1",
            "objectType": "https://uri.etsi.org/ngsi-ld/default-context/ParkingGroup",
        }
    )
    assert holds('refParkingGroup.objectType=="ParkingGroup"', doc)


def test_type_selection_star_matches_every_entity() -> None:
    assert matches_types(parse_type_selection("*"), {"id": "urn:x", "type": []})


def test_an_entity_scope_may_omit_its_leading_slash() -> None:
    # Clause 4.18 (v1.9): Scope = [/] ScopeLevel *(/ScopeLevel); scopeQ always writes the slash.
    doc = {"id": "urn:x", "type": [], "scope": ["Hamm/Uentrop"]}
    assert matches_scope(parse_scope_query("/Hamm/Uentrop"), doc)
    assert matches_scope(parse_scope_query("/Hamm/+"), doc)
    assert not matches_scope(parse_scope_query("/Uentrop"), doc)
