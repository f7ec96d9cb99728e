# SPDX-License-Identifier: EUPL-1.2
"""Which instances a write adds to the history (broker.temporal.instances): only what changed."""

from __future__ import annotations

import copy
from typing import Any

from broker.temporal.instances import (
    NGSI_LD_NULL,
    entity_change,
    history_records,
    new_attributes,
)

T = "https://example.org/Thing"
TEMP = "https://example.org/temperature"
NAME = "https://example.org/name"


def thing(**attrs: Any) -> dict[str, Any]:
    entity: dict[str, Any] = {
        "id": "urn:ngsi-ld:Thing:1",
        "type": [T],
        "createdAt": "2026-07-01T00:00:00.000Z",
        "modifiedAt": "2026-07-01T00:00:00.000Z",
    }
    entity.update(attrs)
    return entity


def prop(value: Any, observed: str | None = None, dataset: str | None = None, at: str = "2026-07-01T00:00:00.000Z") -> dict[str, Any]:
    instance: dict[str, Any] = {"type": "Property", "value": value, "createdAt": "2026-07-01T00:00:00.000Z", "modifiedAt": at}
    if observed:
        instance["observedAt"] = observed
    if dataset:
        instance["datasetId"] = dataset
    return instance


def test_a_new_entity_records_every_instance() -> None:
    after = thing(**{TEMP: [prop(20.5, "2026-07-01T10:00:00Z")], NAME: [prop("Marktplatz")]})
    records = history_records(None, after)
    assert {(r.attribute, r.number, r.observed_at_ms is not None) for r in records} == {
        (TEMP, 20.5, True),
        (NAME, None, False),
    }
    assert new_attributes(None, records) == sorted([NAME, TEMP])


def test_a_value_update_records_one_instance_and_no_new_attribute() -> None:
    before = thing(**{TEMP: [prop(20.5, "2026-07-01T10:00:00Z")], NAME: [prop("Marktplatz")]})
    after = copy.deepcopy(before)
    after[TEMP] = [prop(21.0, "2026-07-01T10:10:00Z", at="2026-07-01T10:10:01.000Z")]
    after["modifiedAt"] = "2026-07-01T10:10:01.000Z"
    records = history_records(before, after)
    assert len(records) == 1 and records[0].number == 21.0 and records[0].time_ms == records[0].observed_at_ms
    assert new_attributes(before, records) == []
    assert entity_change(before, after) is None


def test_restating_an_instance_unchanged_records_nothing() -> None:
    before = thing(**{TEMP: [prop(20.5, "2026-07-01T10:00:00Z")]})
    after = copy.deepcopy(before)
    after[TEMP] = [prop(20.5, "2026-07-01T10:00:00Z", at="2026-07-01T11:00:00.000Z")]  # only modifiedAt differs
    assert history_records(before, after) == []


def test_a_deleted_attribute_records_deleted_at_with_a_null_value() -> None:
    before = thing(**{TEMP: [prop(20.5), prop(3.0, dataset="urn:ngsi-ld:Dataset:b")]})
    after = thing(modifiedAt="2026-07-02T00:00:00.000Z")
    records = history_records(before, after)
    assert len(records) == 2
    assert all(r.deleted_at_ms == r.time_ms and r.doc["value"] == NGSI_LD_NULL for r in records)
    assert {r.dataset_id for r in records} == {"", "urn:ngsi-ld:Dataset:b"}


def test_a_deleted_dataset_alone_records_its_deletion() -> None:
    before = thing(**{TEMP: [prop(20.5), prop(3.0, dataset="urn:ngsi-ld:Dataset:b")]})
    after = thing(**{TEMP: [prop(20.5)]})
    [record] = history_records(before, after)
    assert record.dataset_id == "urn:ngsi-ld:Dataset:b" and record.deleted_at_ms is not None


def test_a_deleted_entity_records_each_instance_and_the_entity_deletion() -> None:
    before = thing(**{TEMP: [prop(20.5)], NAME: [prop("x")]})
    records = history_records(before, None, now_ms=1_000)
    assert {r.attribute for r in records} == {TEMP, NAME} and {r.deleted_at_ms for r in records} == {1_000}
    change = entity_change(before, None, now_ms=1_000)
    assert change is not None and change.deleted_at_ms == 1_000


def test_booleans_aggregate_as_zero_and_one_and_strings_not_at_all() -> None:
    after = thing(**{TEMP: [prop(True)], NAME: [prop("x")]})
    numbers = {r.attribute: r.number for r in history_records(None, after)}
    assert numbers == {TEMP: 1.0, NAME: None}
