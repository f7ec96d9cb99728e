# SPDX-License-Identifier: EUPL-1.2
"""FIWARE attribute types and mappings -> NGSI-LD attributes (iotagent-node-lib, NGSI-LD mode)."""

from __future__ import annotations

from typing import Any

import pytest

from agents.common.expressions import Expressions
from agents.common.ngsi import Rejected
from agents.json.measures import build_fragment, convert, entity_id

NOW = "2026-11-26T08:00:00Z"


@pytest.mark.parametrize(
    ("fiware_type", "value", "expected"),
    [
        ("Number", "21.5", {"type": "Property", "value": 21.5}),
        ("Integer", 3.0, {"type": "Property", "value": 3}),
        ("Boolean", "true", {"type": "Property", "value": True}),
        ("Text", 12, {"type": "Property", "value": "12"}),
        ("DateTime", "2026-11-26T09:00:00+01:00", {"type": "Property", "value": {"@type": "DateTime", "@value": NOW}}),
        ("geo:point", "51.6783, 7.8075", {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [7.8075, 51.6783]}}),
        ("geo:json", {"type": "Point", "coordinates": [7.8, 51.6]}, {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [7.8, 51.6]}}),
        ("Relationship", "urn:ngsi-ld:Store:001", {"type": "Relationship", "object": "urn:ngsi-ld:Store:001"}),
        ("StructuredValue", {"a": [1]}, {"type": "Property", "value": {"a": [1]}}),
    ],
)
def test_fiware_types_become_ngsi_ld_attributes(fiware_type: str, value: Any, expected: dict[str, Any]) -> None:
    assert convert("x", fiware_type, value, None, None) == expected


@pytest.mark.parametrize(("fiware_type", "value"), [("Number", "hot"), ("Integer", 2.5), ("Boolean", "maybe"),
                                                    ("geo:point", "north"), ("Relationship", 5), ("DateTime", "soon")])
def test_a_value_of_the_wrong_type_is_refused(fiware_type: str, value: Any) -> None:
    with pytest.raises(ValueError):
        convert("x", fiware_type, value, None, None)


def test_entity_names_follow_iotagent_node_lib_in_ngsi_ld_mode() -> None:
    assert entity_id({"device_id": "d1"}, "Thing") == "urn:ngsi-ld:Thing:d1"
    assert entity_id({"device_id": "d1", "entity_name": "urn:ngsi-ld:Motion:001"}, "Motion") == "urn:ngsi-ld:Motion:001"
    assert entity_id({"device_id": "d1", "entity_name": "Motion:001"}, "Motion") == "urn:ngsi-ld:Motion:001"


def test_explicit_attrs_keeps_only_the_provisioned_attributes_and_reports_bad_values() -> None:
    reported: list[Rejected] = []
    group = {"entity_type": "Thing", "explicitAttrs": True,
             "attributes": [{"object_id": "t", "name": "temperature", "type": "Number"},
                            {"object_id": "c", "name": "count", "type": "Integer"}]}
    device = {"device_id": "d1", "service_path": "/"}
    fragment = build_fragment(group, device, {"t": 20, "c": "many", "x": 1}, NOW, Expressions(), reported.append,
                              default_entity_type="Thing")
    assert fragment == {"id": "urn:ngsi-ld:Thing:d1", "type": "Thing",
                        "temperature": {"type": "Property", "value": 20, "observedAt": NOW}}
    assert [r.reason for r in reported] == ["wrong_type"] and reported[0].device_id == "d1"
