# SPDX-License-Identifier: EUPL-1.2
"""The broker's write validation: an invalid write of a validated type is 400 BadRequestData naming
each failing attribute, and nothing is written; other types and valid entities pass.

The app tests wire WriteValidation into the real app the way the lead is asked to wire it into
broker.entities.service.EntityService (see the report): check creates, wrap read-modify-writes.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from broker.api import create_app
from broker.entities import operations as ops
from broker.entities.service import EntityService
from broker.errors import BadRequestData
from broker.ld import core_term_map, expand_entity
from broker.settings import Settings
from broker.store.base import BatchChange, ExpandedEntity
from smart_data_models import UnknownModel, WriteValidation, model
from tests.conftest import API

T = TypeVar("T")
PARKING = {
    "id": "urn:ngsi-ld:OffStreetParking:write-validation-1",
    "type": "OffStreetParking",
    "name": {"type": "Property", "value": "Parkhaus Hauptbahnhof"},
    "availableSpotNumber": {"type": "Property", "value": 121, "observedAt": "2026-11-26T08:00:00Z"},
    "totalSpotNumber": {"type": "Property", "value": 400},
    "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [7.8075, 51.6783]}},
}


NO_LOCATION = {name: value for name, value in PARKING.items() if name != "location"}


def _expanded(entity: dict[str, Any], name: str = "OffStreetParking") -> dict[str, Any]:
    return expand_entity(entity, model(name).term_map())


def test_an_invalid_entity_of_a_validated_type_is_bad_request_data_naming_each_attribute() -> None:
    validation = WriteValidation({"OffStreetParking"})
    bad = {**PARKING, "availableSpotNumber": {"type": "Property", "value": -1}, "totalSpotNumber": {"type": "Property", "value": "many"}}
    with pytest.raises(BadRequestData) as raised:
        validation.check(_expanded(bad))
    problem = raised.value.problem_details()
    assert problem["type"] == "https://uri.etsi.org/ngsi-ld/errors/BadRequestData"
    assert "not a valid OffStreetParking" in problem["detail"]
    assert "availableSpotNumber: -1 is less than the minimum of 0" in problem["detail"]
    assert [item["attribute"] for item in problem["invalidAttributes"]] == ["availableSpotNumber", "totalSpotNumber"]


def test_valid_entities_and_other_types_pass() -> None:
    validation = WriteValidation.from_setting("OffStreetParking, WeatherObserved")
    validation.check(_expanded(PARKING))
    validation.check(expand_entity({"id": "urn:ngsi-ld:Thing:1", "type": "Thing", "a": {"type": "Property", "value": -1}}, core_term_map()))
    assert validation.model_names == ["OffStreetParking", "WeatherObserved"]


def test_an_empty_setting_validates_nothing() -> None:
    validation = WriteValidation.from_setting("")
    assert not validation
    validation.check(_expanded(NO_LOCATION))


def test_an_unknown_type_in_the_setting_fails_at_start_up() -> None:
    with pytest.raises(UnknownModel, match="Parkhaus"):
        WriteValidation({"Parkhaus"})


def test_a_short_name_covers_the_model_iri_and_the_default_vocabulary() -> None:
    validation = WriteValidation({"OffStreetParking"})
    bad = {**PARKING, "totalSpotNumber": {"type": "Property", "value": 0}}
    for expanded in (_expanded(bad), expand_entity(bad, core_term_map())):
        with pytest.raises(BadRequestData, match="totalSpotNumber"):
            validation.check(expanded)


def test_a_type_iri_covers_that_iri_only() -> None:
    validation = WriteValidation({model("OffStreetParking").type_iri})
    with pytest.raises(BadRequestData):
        validation.check(_expanded(NO_LOCATION))
    validation.check(expand_entity(NO_LOCATION, core_term_map()))


def test_wrapped_changes_check_what_they_produce() -> None:
    validation = WriteValidation({"OffStreetParking"})
    stored = ops.new_entity(_expanded(PARKING), ops.now_iso())
    fragment = _expanded({"availableSpotNumber": {"type": "Property", "value": -5}})
    merge = validation.wrap_change(lambda entity: ops.merge_entity(entity, copy.deepcopy(fragment), ops.now_iso()))
    with pytest.raises(BadRequestData, match="availableSpotNumber"):
        merge(copy.deepcopy(stored))

    def delete(current: ExpandedEntity | None) -> tuple[ExpandedEntity | None, Any]:
        return None, None

    assert validation.wrap_batch_change(delete)(stored) == (None, None)


# -- in the real app ----------------------------------------------------------------------------------------


class ValidatingEntityService(EntityService):
    """What EntityService does once `validation` is wired in (see the report to the lead)."""

    def __init__(self, inner: EntityService, validation: WriteValidation) -> None:
        super().__init__(inner.store, inner.listeners)
        self.validation = validation

    async def create_entity(self, tenant: str, expanded_entity: ExpandedEntity) -> None:
        self.validation.check(expanded_entity)
        await super().create_entity(tenant, expanded_entity)

    async def batch_modify(self, tenant: str, changes: list[tuple[str, BatchChange]]) -> list[Any]:
        return await super().batch_modify(tenant, [(entity_id, self.validation.wrap_batch_change(change)) for entity_id, change in changes])

    async def _modify(self, tenant: str, entity_id: str, types: list[str] | None, change: Callable[[ExpandedEntity], T]) -> T:
        return await super()._modify(tenant, entity_id, types, self.validation.wrap_change(change))


@pytest.fixture
async def validating_client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings.from_mapping({}, store=f"sqlite:///{tmp_path}/broker.db"))
    async with app.router.lifespan_context(app):
        app.state.entity_service = ValidatingEntityService(app.state.entity_service, WriteValidation({"OffStreetParking"}))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://broker.test") as http:
            yield http


async def test_an_invalid_create_is_400_and_nothing_is_written(validating_client: httpx.AsyncClient) -> None:
    bad = {**PARKING, "availableSpotNumber": {"type": "Property", "value": -1}}
    response = await validating_client.post(f"{API}/entities", json=bad)
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "https://uri.etsi.org/ngsi-ld/errors/BadRequestData"
    assert body["invalidAttributes"] == [{"attribute": "availableSpotNumber", "reason": "-1 is less than the minimum of 0"}]
    assert (await validating_client.get(f"{API}/entities/{PARKING['id']}")).status_code == 404
    assert (await validating_client.post(f"{API}/entities", json=PARKING)).status_code == 201


async def test_an_update_that_breaks_the_model_is_400_and_the_entity_is_unchanged(validating_client: httpx.AsyncClient) -> None:
    assert (await validating_client.post(f"{API}/entities", json=PARKING)).status_code == 201
    patch = await validating_client.patch(
        f"{API}/entities/{PARKING['id']}/attrs/availableSpotNumber", json={"value": "none left"}
    )
    assert patch.status_code == 400 and "availableSpotNumber" in patch.json()["detail"]
    merge = await validating_client.patch(f"{API}/entities/{PARKING['id']}", json={"location": "urn:ngsi-ld:null"})
    assert merge.status_code == 400 and merge.json()["invalidAttributes"][0]["attribute"] == "location"
    current = (await validating_client.get(f"{API}/entities/{PARKING['id']}", params={"options": "keyValues"})).json()
    assert current["availableSpotNumber"] == 121 and "location" in current


async def test_a_batch_writes_the_valid_entities_and_reports_the_invalid_ones(validating_client: httpx.AsyncClient) -> None:
    good = {**PARKING, "id": "urn:ngsi-ld:OffStreetParking:write-validation-good"}
    bad = {**PARKING, "id": "urn:ngsi-ld:OffStreetParking:write-validation-bad", "totalSpotNumber": {"type": "Property", "value": 0}}
    other = {"id": "urn:ngsi-ld:Thing:write-validation", "type": "Thing", "n": {"type": "Property", "value": -1}}
    response = await validating_client.post(f"{API}/entityOperations/upsert", json=[good, bad, other])
    assert response.status_code == 207
    body = response.json()
    assert sorted(body["success"]) == sorted([good["id"], other["id"]])
    [error] = body["errors"]
    assert error["entityId"] == bad["id"] and error["error"]["invalidAttributes"][0]["attribute"] == "totalSpotNumber"
    assert (await validating_client.get(f"{API}/entities/{bad['id']}")).status_code == 404
