# SPDX-License-Identifier: EUPL-1.2
"""Batch operations: statuses and bodies as the spec gives them, partial failures, one transaction."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import API, ContextServer

OPS = f"{API}/entityOperations"
ERRORS = "https://uri.etsi.org/ngsi-ld/errors/"


def station(n: int, bikes: int = 5) -> dict[str, Any]:
    return {
        "id": f"urn:ngsi-ld:BikeHireDockingStation:hamm-{n}",
        "type": "BikeHireDockingStation",
        "availableBikeNumber": {"type": "Property", "value": bikes},
        "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [7.80 + n / 1000, 51.67]}},
    }


async def values(client: httpx.AsyncClient, entity_id: str) -> dict[str, Any] | None:
    response = await client.get(f"{API}/entities/{entity_id}", params={"options": "keyValues"})
    return response.json() if response.status_code == 200 else None


async def test_create_all_gives_201_with_the_ids(client: httpx.AsyncClient) -> None:
    items = [station(n) for n in range(3)]
    response = await client.post(f"{OPS}/create", json=items)
    assert response.status_code == 201, response.text
    assert response.json() == [item["id"] for item in items]
    assert (await values(client, items[2]["id"]))["availableBikeNumber"] == 5  # type: ignore[index]


async def test_create_with_duplicates_and_bad_items_is_207_and_writes_the_good_ones(client: httpx.AsyncClient) -> None:
    await client.post(f"{API}/entities", json=station(0))
    items = [station(0), station(1), station(1), {"id": "not a uri", "type": "X"}, station(2)]
    response = await client.post(f"{OPS}/create", json=items)
    assert response.status_code == 207
    body = response.json()
    assert body["success"] == [station(1)["id"], station(2)["id"]]
    errors = {(e["entityId"], e["error"]["type"]) for e in body["errors"]}
    assert errors == {
        ("not a uri", ERRORS + "BadRequestData"),
        (station(0)["id"], ERRORS + "AlreadyExists"),
        (station(1)["id"], ERRORS + "AlreadyExists"),
    }
    assert all(e["error"]["detail"] for e in body["errors"])
    assert await values(client, station(2)["id"]) is not None


@pytest.mark.parametrize("body", [[], [None], [station(9), None], {"id": "urn:a:b"}, "x"])
async def test_empty_null_or_non_array_fails_the_whole_request(client: httpx.AsyncClient, body: Any) -> None:
    for operation in ("create", "upsert", "update", "delete", "merge"):
        response = await client.post(f"{OPS}/{operation}", json=body)
        assert response.status_code == 400, (operation, response.text)
        assert response.json()["type"] == ERRORS + "BadRequestData"
    assert await values(client, station(9)["id"]) is None


async def test_upsert_creates_then_replaces_and_201_lists_only_created(client: httpx.AsyncClient) -> None:
    first = await client.post(f"{OPS}/upsert", json=[station(0), station(1)])
    assert first.status_code == 201
    assert first.json() == [station(0)["id"], station(1)["id"]]
    replaced = {"id": station(0)["id"], "type": "BikeHireDockingStation", "status": {"type": "Property", "value": "working"}}
    second = await client.post(f"{OPS}/upsert", json=[replaced, station(2)])
    assert second.status_code == 201
    assert second.json() == [station(2)["id"]]
    after = await values(client, station(0)["id"])
    assert after == {"id": station(0)["id"], "type": "BikeHireDockingStation", "status": "working"}
    third = await client.post(f"{OPS}/upsert", json=[station(1, bikes=1)])
    assert third.status_code == 204


async def test_upsert_update_keeps_other_attributes(client: httpx.AsyncClient) -> None:
    await client.post(f"{OPS}/create", json=[station(0)])
    patch = {"id": station(0)["id"], "type": "BikeHireDockingStation", "availableBikeNumber": {"type": "Property", "value": 0}}
    response = await client.post(f"{OPS}/upsert", params={"options": "update"}, json=[patch])
    assert response.status_code == 204
    after = await values(client, station(0)["id"])
    assert after is not None and after["availableBikeNumber"] == 0 and "location" in after


async def test_fiware_iot_agent_style_upsert_with_trailing_slash_and_inline_contexts(
    client: httpx.AsyncClient, context_server: ContextServer
) -> None:
    url = context_server.add("ctx.jsonld", {"count": "https://example.org/hamm#count"})
    items = [
        {"@context": url, "id": "urn:ngsi-ld:Device:lora-1", "type": "Device", "count": {"type": "Property", "value": 3}},
        {"@context": [url], "id": "urn:ngsi-ld:Device:lora-2", "type": "Device", "count": {"type": "Property", "value": 4}},
    ]
    headers = {
        "Content-Type": "application/ld+json",
        "fiware-service": "hammiot",
        "fiware-servicepath": "/",
        "NGSILD-Path": "/",
    }
    response = await client.post(f"{OPS}/upsert/?options=update", json=items, headers=headers)
    assert response.status_code == 201, response.text
    assert response.headers["ngsild-tenant"] == "hammiot"
    got = await client.get(
        f"{API}/entities/urn:ngsi-ld:Device:lora-1", headers={"NGSILD-Tenant": "hammiot"}
    )
    assert got.json()["https://example.org/hamm#count"]["value"] == 3
    assert (await client.get(f"{API}/entities/urn:ngsi-ld:Device:lora-1")).status_code == 404


async def test_per_entity_context_errors_fail_only_that_entity(client: httpx.AsyncClient) -> None:
    items = [
        {"@context": "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld", **station(0)},
        station(1),  # no @context in an ld+json batch
        {"@context": 42, **station(2)},
    ]
    response = await client.post(f"{OPS}/create", json=items, headers={"Content-Type": "application/ld+json"})
    assert response.status_code == 207
    body = response.json()
    assert body["success"] == [station(0)["id"]]
    assert {e["entityId"] for e in body["errors"]} == {station(1)["id"], station(2)["id"]}


async def test_update_with_no_overwrite_and_missing_entities(client: httpx.AsyncClient) -> None:
    await client.post(f"{OPS}/create", json=[station(0), station(1)])
    items = [
        {"id": station(0)["id"], "availableBikeNumber": {"type": "Property", "value": 1}, "new": {"type": "Property", "value": "x"}},
        {"id": station(1)["id"], "status": {"type": "Property", "value": "ok"}},
        {"id": "urn:ngsi-ld:BikeHireDockingStation:none", "status": {"type": "Property", "value": "ok"}},
    ]
    response = await client.post(f"{OPS}/update", params={"options": "noOverwrite"}, json=items)
    assert response.status_code == 207
    body = response.json()
    assert body["success"] == [station(1)["id"]]
    errors = {e["entityId"]: e["error"] for e in body["errors"]}
    assert errors["urn:ngsi-ld:BikeHireDockingStation:none"]["type"] == ERRORS + "ResourceNotFound"
    assert "availableBikeNumber" in errors[station(0)["id"]]["detail"]
    first = await values(client, station(0)["id"])
    assert first is not None and first["availableBikeNumber"] == 5 and first["new"] == "x"
    all_good = await client.post(f"{OPS}/update", json=[{"id": station(1)["id"], "status": {"type": "Property", "value": "x"}}])
    assert all_good.status_code == 204


async def test_merge_and_delete(client: httpx.AsyncClient) -> None:
    await client.post(f"{OPS}/create", json=[station(0), station(1)])
    merge = await client.post(
        f"{OPS}/merge",
        json=[{"id": station(0)["id"], "availableBikeNumber": 2, "location": "urn:ngsi-ld:null"}, {"id": "urn:x:none", "a": 1}],
    )
    assert merge.status_code == 207
    assert merge.json()["success"] == [station(0)["id"]]
    assert await values(client, station(0)["id"]) == {
        "id": station(0)["id"], "type": "BikeHireDockingStation", "availableBikeNumber": 2
    }
    delete = await client.post(f"{OPS}/delete", json=[station(0)["id"], station(1)["id"]])
    assert delete.status_code == 204
    again = await client.post(f"{OPS}/delete", json=[station(0)["id"], "not a uri"])
    assert again.status_code == 207
    assert {e["error"]["type"] for e in again.json()["errors"]} == {ERRORS + "ResourceNotFound", ERRORS + "BadRequestData"}


async def test_a_bad_entity_in_a_batch_of_1000_fails_only_itself(client: httpx.AsyncClient) -> None:
    items = [station(n) for n in range(1000)]
    items[500] = {**station(500), "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [999, 0]}}}
    response = await client.post(f"{OPS}/create", json=items)
    assert response.status_code == 207
    body = response.json()
    assert len(body["success"]) == 999
    assert [e["entityId"] for e in body["errors"]] == [station(500)["id"]]
    types = (await client.get(f"{API}/types/BikeHireDockingStation")).json()
    assert types["entityCount"] == 999


async def test_upsert_10000_entities_in_batches_of_1000(client: httpx.AsyncClient) -> None:
    for start in range(0, 10_000, 1000):
        response = await client.post(f"{OPS}/upsert", json=[station(n) for n in range(start, start + 1000)])
        assert response.status_code == 201, response.text
        assert len(response.json()) == 1000
    info = (await client.get(f"{API}/types/BikeHireDockingStation")).json()
    assert info["entityCount"] == 10_000


async def test_batch_over_the_size_limit_is_refused_whole(client: httpx.AsyncClient, settings: Any) -> None:
    items = [station(n) for n in range(settings.max_batch_size + 1)]
    response = await client.post(f"{OPS}/create", json=items)
    assert response.status_code == 400
    assert str(settings.max_batch_size) in response.json()["detail"]
    assert await values(client, station(0)["id"]) is None


async def test_unknown_batch_operation_is_404(client: httpx.AsyncClient) -> None:
    response = await client.post(f"{OPS}/explode", json=[station(0)])
    assert response.status_code == 404


async def test_purge_deletes_every_entity_of_a_type(client: httpx.AsyncClient) -> None:
    await client.post(f"{OPS}/create", json=[station(n) for n in range(5)])
    await client.post(f"{API}/entities", json={"id": "urn:ngsi-ld:OffStreetParking:p1", "type": "OffStreetParking"})
    assert (await client.delete(f"{API}/entities")).status_code == 400
    response = await client.delete(f"{API}/entities", params={"type": "BikeHireDockingStation"})
    assert response.status_code == 204
    assert await values(client, station(3)["id"]) is None
    assert await values(client, "urn:ngsi-ld:OffStreetParking:p1") is not None
    assert (await client.get(f"{API}/types")).json()["typeList"] == ["OffStreetParking"]
