# SPDX-License-Identifier: EUPL-1.2
"""validate(): invalid entities get one issue per failing attribute, with its path and a reason,
whatever the representation; the compiled check is never more lenient than jsonschema."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from broker.ld import DEFAULT_VOCAB, core_term_map, expand_entity
from smart_data_models import UnknownModel, ValidationIssue, Validator, model, models, validate
from smart_data_models.compiled import json_equal
from smart_data_models.key_values import to_key_values
from smart_data_models.schemas import format_checker

PARKING = {
    "id": "urn:ngsi-ld:OffStreetParking:test-1",
    "type": "OffStreetParking",
    "name": {"type": "Property", "value": "Parkhaus Test"},
    "availableSpotNumber": {"type": "Property", "value": 12, "observedAt": "2026-11-26T08:00:00Z"},
    "totalSpotNumber": {"type": "Property", "value": 400},
    "category": {"type": "Property", "value": ["public", "feeCharged"]},
    "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [7.8075, 51.6783]}},
    "address": {"type": "Property", "value": {"streetAddress": "Willy-Brandt-Platz", "addressLocality": "Hamm"}},
    "refParkingGroup": {"type": "Relationship", "object": "urn:ngsi-ld:ParkingGroup:test-1"},
}


def _with(entity: dict[str, Any], **changes: Any) -> dict[str, Any]:
    changed = copy.deepcopy(entity)
    for name, value in changes.items():
        if value is None:
            changed.pop(name, None)
        else:
            changed[name] = value
    return changed


def _paths(issues: list[ValidationIssue]) -> set[str]:
    return {issue.path for issue in issues}


def test_a_valid_entity_has_no_issues() -> None:
    assert validate(PARKING) == []


@pytest.mark.parametrize(
    ("changes", "path", "reason"),
    [
        ({"availableSpotNumber": {"type": "Property", "value": -3}}, "availableSpotNumber", "less than the minimum of 0"),
        ({"availableSpotNumber": {"type": "Property", "value": "12"}}, "availableSpotNumber", "is not of type 'integer'"),
        ({"totalSpotNumber": {"type": "Property", "value": 0}}, "totalSpotNumber", "less than the minimum of 1"),
        ({"category": {"type": "Property", "value": ["public", "cheap"]}}, "category[1]", "'cheap' is not one of the allowed values"),
        ({"category": {"type": "Property", "value": []}}, "category", "should be non-empty"),
        ({"location": None}, "location", "is required but missing"),
        ({"location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": ["7.8", 51.6]}}},
         "location.coordinates[0]", "is not of type 'number'"),
        ({"address": {"type": "Property", "value": {"streetAddress": 12}}}, "address.streetAddress", "is not of type 'string'"),
        ({"refParkingGroup": {"type": "Relationship", "object": "not an id"}}, "refParkingGroup", "matches none of the allowed forms"),
        ({"totalSpotNumber": {"type": "Number", "value": 400}}, "totalSpotNumber", "'Number' is not an NGSI-LD attribute type"),
        ({"totalSpotNumber": {"type": "Relationship", "value": 400}}, "totalSpotNumber", "a Relationship needs a 'object' member"),
    ],
)
def test_an_invalid_attribute_is_named_with_the_reason(changes: dict[str, Any], path: str, reason: str) -> None:
    issues = validate(_with(PARKING, **changes))
    assert [issue.path for issue in issues] == [path]
    assert reason in issues[0].reason
    assert str(issues[0]).startswith(f"{path}: ")


def test_every_failing_attribute_is_reported_once() -> None:
    entity = _with(
        PARKING,
        availableSpotNumber={"type": "Property", "value": -1},
        category={"type": "Property", "value": ["x"]},
        location=None,
    )
    issues = validate(entity)
    assert _paths(issues) == {"availableSpotNumber", "category[0]", "location"}
    assert len(issues) == 3


def test_the_same_entity_is_judged_alike_in_every_representation() -> None:
    from broker.entities.representation import to_concise
    from broker.entities.representation import to_key_values as broker_key_values

    bad = _with(PARKING, availableSpotNumber={"type": "Property", "value": -1, "observedAt": "2026-11-26T08:00:00Z"})
    expanded = expand_entity(bad, model("OffStreetParking").term_map())
    for representation in (bad, to_concise(bad), broker_key_values(bad), expanded):
        assert _paths(validate(representation)) == {"availableSpotNumber"}, representation


def test_an_entity_written_without_the_model_context_is_validated_by_its_short_names() -> None:
    expanded = expand_entity(_with(PARKING, totalSpotNumber={"type": "Property", "value": -5}), core_term_map())
    assert expanded["type"] == [DEFAULT_VOCAB + "OffStreetParking"]
    assert _paths(validate(expanded)) == {"totalSpotNumber"}


def test_each_instance_of_a_multi_instance_attribute_is_checked_with_its_dataset_id() -> None:
    signal = copy.deepcopy(model("TrafficSignal").example("example-normalized.jsonld"))
    signal["detectionZone"][1]["value"] = {"type": "Point", "coordinates": [7.84, 51.67]}
    [issue] = validate(signal)
    assert issue.path == "detectionZone.type (datasetId urn:ngsi-ld:Dataset:zone-marker-allee-east)"


def test_a_language_property_is_checked_as_its_language_map() -> None:
    project = copy.deepcopy(model("ParticipationProject").example("example-normalized.jsonld"))
    project["title"]["languageMap"]["en"] = ""
    assert [issue.path for issue in validate(project)] == ["title.languageMap.en"]
    project["title"] = {"type": "Property", "value": "Mobilität Innenstadt"}  # a plain string is allowed (lang=)
    assert validate(project) == []


def test_a_json_ld_value_object_counts_as_its_value() -> None:
    entity = _with(PARKING, occupancyModified={"type": "Property", "value": {"@type": "DateTime", "@value": "yesterday"}})
    [issue] = validate(entity)
    assert issue.path == "occupancyModified" and "'date-time'" in issue.reason


def test_forcing_the_representation() -> None:
    key_values = {"id": PARKING["id"], "type": "OffStreetParking", "location": PARKING["location"]["value"],
                  "availableSpotNumber": {"value": 3}}
    assert _paths(validate(key_values, representation="keyValues")) == {"availableSpotNumber"}  # an object, not an integer
    assert validate(key_values) == []  # recognised as concise
    assert "is not a normalized NGSI-LD attribute" in validate(key_values, representation="normalized")[0].reason


def test_the_model_comes_from_the_first_known_type_or_is_given() -> None:
    assert validate(_with(PARKING, type=["Parkhaus", "OffStreetParking"])) == []
    assert validate({"id": "urn:a:b", "type": "Thing"}, model="DeviceMeasurement") == []
    with pytest.raises(UnknownModel, match="Thing"):
        validate({"id": "urn:a:b", "type": "Thing"})


def test_the_issue_dict_names_the_attribute() -> None:
    [issue] = validate(_with(PARKING, location=None))
    assert issue.as_dict() == {"attribute": "location", "reason": "is required but missing"}


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("2026-11-26T08:00:00Z", True),
        ("2026-11-26T08:00:00.123+01:00", True),
        ("2016-03-15T11:00:00", True),  # no offset: as the Smart Data Models examples write it
        ("2026-11-26 08:00", True),
        ("2026-02-30T08:00:00Z", False),
        ("2026-11-26T25:00:00Z", False),
        ("yesterday", False),
        ("2026-11-26", False),
    ],
)
def test_date_time_format(value: str, valid: bool) -> None:
    assert format_checker().conforms(value, "date-time") is valid


@pytest.mark.parametrize(("value", "valid"), [("https://www.hamm.de", True), ("urn:ngsi-ld:Thing:1", True), ("not a uri", False), ("www.hamm.de", False)])
def test_uri_format(value: str, valid: bool) -> None:
    assert format_checker().conforms(value, "uri") is valid


# -- the compiled check against jsonschema -------------------------------------------------------------------

_JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 500), st.floats(-10, 10, allow_nan=False),
    st.sampled_from(["", "x", "public", "car", "2026-11-26T08:00:00Z", "urn:ngsi-ld:X:1", "Point", "on", "ok"]),
)
_JSON = st.recursive(
    _JSON_SCALARS,
    lambda children: st.one_of(st.lists(children, max_size=3), st.dictionaries(st.sampled_from(["type", "coordinates", "value", "a"]), children, max_size=3)),
    max_leaves=6,
)
_MODEL_NAMES = sorted(models())


def _key_values_example(name: str) -> dict[str, Any]:
    document = to_key_values(copy.deepcopy(model(name).example("example-normalized.jsonld"))).document
    document["type"] = name
    return document


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(_MODEL_NAMES), data=st.data())
def test_the_compiled_check_is_never_more_lenient_than_jsonschema(name: str, data: st.DataObject) -> None:
    validator = Validator.of(name)
    document = _key_values_example(name)
    attribute = data.draw(st.sampled_from(sorted(document)))
    mutation = data.draw(st.one_of(_JSON, st.just(None)))
    if mutation is None:
        document.pop(attribute)
    else:
        document[attribute] = mutation
    assert validator._check is not None
    if validator._check(document):
        assert validator._schema_validator.is_valid(document), (name, attribute, mutation)


@pytest.mark.parametrize("name", _MODEL_NAMES)
def test_the_compiled_check_accepts_every_valid_example(name: str) -> None:
    validator = Validator.of(name)
    assert validator._check is not None and validator._check(_key_values_example(name))


def test_json_equality_follows_json_schema() -> None:
    assert json_equal(1, 1.0) and not json_equal(True, 1) and not json_equal([1], [True])
    assert json_equal({"a": [1, "x"]}, {"a": [1.0, "x"]}) and not json_equal({"a": 1}, {"b": 1})


def test_keyvalues_of_several_instances_checks_each_dataset() -> None:
    from broker.entities.representation import to_key_values as broker_key_values

    signal = copy.deepcopy(model("TrafficSignal").example("example-normalized.jsonld"))
    signal["detectionZone"][2]["value"] = {"type": "Point", "coordinates": [7.84, 51.67]}
    key_values = broker_key_values({k: v for k, v in signal.items() if k != "@context"})
    assert set(key_values["detectionZone"]) == {"dataset"}
    [issue] = validate(key_values, representation="keyValues")
    assert issue.path == "detectionZone.type (datasetId urn:ngsi-ld:Dataset:zone-hesslerstrasse-north)"
