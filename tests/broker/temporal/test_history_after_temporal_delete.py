# SPDX-License-Identifier: EUPL-1.2
"""Writes after DELETE /temporal/entities/{id} or .../attrs/{attrId} start the history anew, as a client sees it.

The temporal representation is the evolution of the entity (clause 4.5.7). Deleting it (clause 5.6.16) or
an attribute's instances (clause 5.6.13) leaves the current entity of /entities as it is; a later write of
that entity starts a new temporal representation. The contract, on both stores:

- after such a write, GET /temporal/entities/{id} is 200 with the entity's types, and the temporal query
  lists the entity (also by its scope and by the attributes the write touched);
- an attribute is listed again when a write gives it an instance (a value, or the deletion of the
  attribute), with the instances written since the deletion only: the deleted ones never come back;
- the other attributes keep their history;
- DELETE /entities/{id} afterwards records the deletion of every attribute, as for any entity.

"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from broker.settings import Settings
from tests.broker.temporal.history_support import clear_history
from tests.conftest import API

TEMPORAL = f"{API}/temporal/entities"
NULL = "urn:ngsi-ld:null"
Write = Callable[[httpx.AsyncClient, str, float, int], Awaitable[None]]


@pytest.fixture
async def api(client: httpx.AsyncClient, settings: Settings, request: pytest.FixtureRequest) -> AsyncIterator[httpx.AsyncClient]:
    await clear_history(settings, request)
    yield client


def at(minute: int) -> str:
    return f"2026-07-01T10:{minute:02d}:00Z"


def url(entity_id: str) -> str:
    return f"{TEMPORAL}/{quote(entity_id, safe=':')}"


def reading(value: Any, minute: int) -> dict[str, Any]:
    return {"type": "Property", "value": value, "observedAt": at(minute)}


def values_of(body: dict[str, Any], attribute: str) -> list[Any]:
    return [instance["value"] for instance in body.get(attribute, [])]


async def expect(response: Awaitable[httpx.Response], status: int) -> httpx.Response:
    answered = await response
    assert answered.status_code == status, answered.text
    return answered


async def create_station(api: httpx.AsyncClient, entity_id: str) -> None:
    """A station with a history: temperature 20.0 then 21.0, humidity 50.0, in scope /Hamm/Mitte."""
    station = {
        "id": entity_id,
        "type": "WeatherObserved",
        "scope": "/Hamm/Mitte",
        "temperature": reading(20.0, 0),
        "humidity": reading(50.0, 0),
    }
    await expect(api.post(f"{API}/entities", json=station), 201)
    await expect(api.patch(f"{API}/entities/{entity_id}/attrs/temperature", json={"value": 21.0, "observedAt": at(10)}), 204)


# -- the ways an entity's temperature is updated (core API, one entity and batches) ---------------------


async def patch_attribute(api: httpx.AsyncClient, entity_id: str, value: float, minute: int) -> None:
    await expect(api.patch(f"{API}/entities/{entity_id}/attrs/temperature", json={"value": value, "observedAt": at(minute)}), 204)


async def update_attributes(api: httpx.AsyncClient, entity_id: str, value: float, minute: int) -> None:
    await expect(api.patch(f"{API}/entities/{entity_id}/attrs", json={"temperature": reading(value, minute)}), 204)


async def merge_patch(api: httpx.AsyncClient, entity_id: str, value: float, minute: int) -> None:
    await expect(api.patch(f"{API}/entities/{entity_id}", json={"temperature": reading(value, minute)}), 204)


def _fragment(entity_id: str, value: float, minute: int) -> dict[str, Any]:
    return {"id": entity_id, "type": "WeatherObserved", "temperature": reading(value, minute)}


async def batch_upsert_creating_another(api: httpx.AsyncClient, entity_id: str, value: float, minute: int) -> None:
    other = {"id": f"{entity_id}-neighbour", "type": "WeatherObserved", "temperature": reading(0.0, minute)}
    body = [_fragment(entity_id, value, minute), other]
    await expect(api.post(f"{API}/entityOperations/upsert", params={"options": "update"}, json=body), 201)


async def batch_upsert_creating_nothing(api: httpx.AsyncClient, entity_id: str, value: float, minute: int) -> None:
    body = [_fragment(entity_id, value, minute)]
    await expect(api.post(f"{API}/entityOperations/upsert", params={"options": "update"}, json=body), 204)


async def batch_update(api: httpx.AsyncClient, entity_id: str, value: float, minute: int) -> None:
    await expect(api.post(f"{API}/entityOperations/update", json=[_fragment(entity_id, value, minute)]), 204)


async def batch_merge(api: httpx.AsyncClient, entity_id: str, value: float, minute: int) -> None:
    await expect(api.post(f"{API}/entityOperations/merge", json=[_fragment(entity_id, value, minute)]), 204)


def _whole(entity_id: str, value: float, minute: int) -> dict[str, Any]:
    """The station as create_station made it, with a new temperature: its humidity instance unchanged."""
    return {
        "id": entity_id,
        "type": "WeatherObserved",
        "scope": "/Hamm/Mitte",
        "temperature": reading(value, minute),
        "humidity": reading(50.0, 0),
    }


async def replace_entity(api: httpx.AsyncClient, entity_id: str, value: float, minute: int) -> None:
    await expect(api.put(f"{API}/entities/{entity_id}", json=_whole(entity_id, value, minute)), 204)


async def batch_upsert_replacing(api: httpx.AsyncClient, entity_id: str, value: float, minute: int) -> None:
    await expect(api.post(f"{API}/entityOperations/upsert", json=[_whole(entity_id, value, minute)]), 204)


WRITES = [
    pytest.param(patch_attribute, id="patch-attribute"),
    pytest.param(replace_entity, id="replace-entity"),
    pytest.param(batch_upsert_replacing, id="batch-upsert-replacing"),
    pytest.param(update_attributes, id="update-attributes"),
    pytest.param(merge_patch, id="merge-patch"),
    pytest.param(batch_upsert_creating_another, id="batch-upsert-creating-another"),
    pytest.param(batch_upsert_creating_nothing, id="batch-upsert-creating-nothing"),
    pytest.param(batch_update, id="batch-update"),
    pytest.param(batch_merge, id="batch-merge"),
]


# -- DELETE /temporal/entities/{id}, then a write --------------------------------------------------------


@pytest.mark.parametrize("write", WRITES)
async def test_a_write_after_the_temporal_deletion_starts_a_new_temporal_representation(
    api: httpx.AsyncClient, unique_id: Callable[[str], str], write: Write
) -> None:
    station = unique_id("WeatherObserved")
    await create_station(api, station)
    await expect(api.delete(url(station)), 204)
    await expect(api.get(url(station)), 404)
    assert (await expect(api.get(f"{API}/entities/{station}"), 200)).json()["temperature"]["value"] == 21.0

    await write(api, station, 22.0, 20)

    body = (await expect(api.get(url(station)), 200)).json()
    assert body["id"] == station and body["type"] == "WeatherObserved"
    assert values_of(body, "temperature") == [22.0]  # the new instance only
    assert "humidity" not in body  # untouched since the deletion

    async def listed(**params: str) -> list[str]:
        return [entity["id"] for entity in (await expect(api.get(TEMPORAL, params=params), 200)).json()]

    assert station in await listed(type="WeatherObserved")
    assert await listed(id=station, type="WeatherObserved", scopeQ="/Hamm/Mitte") == [station]
    assert await listed(id=station, attrs="temperature") == [station]
    assert await listed(id=station, attrs="humidity") == []


async def test_the_deleted_instances_never_come_back(api: httpx.AsyncClient, unique_id: Callable[[str], str]) -> None:
    station = unique_id("WeatherObserved")
    await create_station(api, station)
    await expect(api.delete(url(station)), 204)
    await patch_attribute(api, station, 22.0, 20)
    await expect(api.patch(f"{API}/entities/{station}/attrs/humidity", json={"value": 55.0, "observedAt": at(30)}), 204)

    for params in (
        {},
        {"timerel": "before", "timeAt": "2027-01-01T00:00:00Z"},
        {"timerel": "after", "timeAt": "2026-01-01T00:00:00Z"},
        {"lastN": "10"},
        {"timeproperty": "modifiedAt"},
        {"options": "sysAttrs"},
    ):
        body = (await expect(api.get(url(station), params=params), 200)).json()
        assert (values_of(body, "temperature"), values_of(body, "humidity")) == ([22.0], [55.0]), params
    simplified = (await expect(api.get(url(station), params={"options": "temporalValues"}), 200)).json()
    assert simplified["temperature"]["values"] == [[22.0, at(20)]]
    assert "temperature" not in (await expect(api.get(url(station), params={"timeproperty": "deletedAt"}), 200)).json()
    [queried] = (await expect(api.get(TEMPORAL, params={"id": station, "type": "WeatherObserved"}), 200)).json()
    assert (values_of(queried, "temperature"), values_of(queried, "humidity")) == ([22.0], [55.0])

    # A second deletion and write: again only what came after it.
    await expect(api.delete(url(station)), 204)
    await patch_attribute(api, station, 23.0, 40)
    body = (await expect(api.get(url(station)), 200)).json()
    assert values_of(body, "temperature") == [23.0] and "humidity" not in body


async def test_deleting_the_entity_afterwards_records_its_deletion_as_for_any_entity(
    api: httpx.AsyncClient, unique_id: Callable[[str], str]
) -> None:
    """The entity whose history was deleted and the twin whose history was kept record the same deletion."""
    station, twin = unique_id("WeatherObserved"), unique_id("WeatherObserved")
    for entity_id in (station, twin):
        await create_station(api, entity_id)
    await expect(api.delete(url(station)), 204)
    for entity_id in (station, twin):
        await patch_attribute(api, entity_id, 22.0, 20)
        await expect(api.delete(f"{API}/entities/{entity_id}"), 204)

    body = (await expect(api.get(url(station)), 200)).json()
    assert body["type"] == "WeatherObserved"
    assert values_of(body, "temperature") == [22.0, NULL]
    assert values_of(body, "humidity") == [NULL]  # the deletion is an instance of the new history
    deletions = {}
    for entity_id in (station, twin):
        deleted = (await expect(api.get(url(entity_id), params={"timeproperty": "deletedAt"}), 200)).json()
        deletions[entity_id] = {
            attribute: [(instance["value"], "deletedAt" in instance) for instance in deleted[attribute]]
            for attribute in ("temperature", "humidity")
        }
    assert deletions[station] == deletions[twin] == {"temperature": [(NULL, True)], "humidity": [(NULL, True)]}
    assert values_of((await expect(api.get(url(twin)), 200)).json(), "temperature") == [20.0, 21.0, 22.0, NULL]


# -- DELETE /temporal/entities/{id}/attrs/{attrId}, then a write --------------------------------------


@pytest.mark.parametrize("write", WRITES)
async def test_a_write_after_the_attribute_deletion_lists_the_attribute_again(
    api: httpx.AsyncClient, unique_id: Callable[[str], str], write: Write
) -> None:
    station = unique_id("WeatherObserved")
    await create_station(api, station)
    await expect(api.delete(f"{url(station)}/attrs/temperature"), 204)
    body = (await expect(api.get(url(station)), 200)).json()
    assert "temperature" not in body and values_of(body, "humidity") == [50.0]

    await write(api, station, 22.0, 20)

    body = (await expect(api.get(url(station)), 200)).json()
    assert values_of(body, "temperature") == [22.0]  # listed again, with the new instance only
    assert values_of(body, "humidity") == [50.0]  # the other attribute keeps its history
    listed = (await expect(api.get(TEMPORAL, params={"id": station, "attrs": "temperature"}), 200)).json()
    assert [(entity["id"], values_of(entity, "temperature")) for entity in listed] == [(station, [22.0])]


async def test_every_dataset_deleted_then_one_written_lists_that_dataset_only(
    api: httpx.AsyncClient, unique_id: Callable[[str], str]
) -> None:
    station = unique_id("WeatherObserved")
    roof = "urn:ngsi-ld:Dataset:roof"
    await create_station(api, station)
    await expect(api.post(f"{API}/entities/{station}/attrs", json={"temperature": {**reading(19.0, 5), "datasetId": roof}}), 204)
    await expect(api.delete(f"{url(station)}/attrs/temperature", params={"deleteAll": "true"}), 204)
    assert "temperature" not in (await expect(api.get(url(station)), 200)).json()

    await expect(api.post(f"{API}/entities/{station}/attrs", json={"temperature": {**reading(18.0, 20), "datasetId": roof}}), 204)

    body = (await expect(api.get(url(station)), 200)).json()
    assert [(instance["value"], instance.get("datasetId")) for instance in body["temperature"]] == [(18.0, roof)]


async def test_deleting_an_attribute_in_the_core_api_lists_its_deletion_again(
    api: httpx.AsyncClient, unique_id: Callable[[str], str]
) -> None:
    station = unique_id("WeatherObserved")
    await create_station(api, station)
    await expect(api.delete(f"{url(station)}/attrs/humidity"), 204)
    await expect(api.delete(f"{API}/entities/{station}/attrs/humidity"), 204)

    deleted = (await expect(api.get(url(station), params={"timeproperty": "deletedAt"}), 200)).json()
    assert [(instance["value"], "deletedAt" in instance) for instance in deleted["humidity"]] == [(NULL, True)]
    assert values_of((await expect(api.get(url(station)), 200)).json(), "temperature") == [20.0, 21.0]
