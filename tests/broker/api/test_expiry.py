# SPDX-License-Identifier: EUPL-1.2
"""expiresAt (clause 4.22, Table 5.2.4-1): transient entities and attribute instances, through the API.

The broker runs with a sweep every 50 ms (expiry_interval_s), so what expired goes while the test
waits for it, as it would in the running broker; on both stores.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from broker.settings import Settings
from tests.conftest import API

ENTITIES = f"{API}/entities"
PAST = "2020-01-01T00:00:00Z"
FUTURE = "2100-01-01T00:00:00Z"
SWEEP_S = 0.05


@pytest.fixture(params=["sqlite", "postgres"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    if request.param == "postgres":
        return Settings.from_mapping(
            {}, store=request.getfixturevalue("postgres_dsn"), postgres_pool_size=4, expiry_interval_s=SWEEP_S
        )
    return Settings.from_mapping({}, store=f"sqlite:///{tmp_path}/broker.db", expiry_interval_s=SWEEP_S)


def soon(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


async def eventually(check: Callable[[], Awaitable[bool]], what: str, timeout_s: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"not within {timeout_s} s: {what}")
        await asyncio.sleep(0.02)


async def sweeps(count: int = 5) -> None:
    """Long enough for several sweeps to have run."""
    await asyncio.sleep(count * SWEEP_S)


async def create(client: httpx.AsyncClient, entity: dict[str, Any]) -> None:
    response = await client.post(ENTITIES, json=entity)
    assert response.status_code == 201, response.text


async def get(client: httpx.AsyncClient, entity_id: str, **params: str) -> httpx.Response:
    return await client.get(f"{ENTITIES}/{entity_id}", params=params)


def thing(entity_id: str, **members: Any) -> dict[str, Any]:
    return {"id": entity_id, "type": "Thing", "a": {"type": "Property", "value": 1}, **members}


@pytest.mark.parametrize(
    ("where", "body"),
    [
        ("entity", {"expiresAt": "2100-01-01"}),
        ("entity", {"expiresAt": 4102444800}),
        ("entity", {"expiresAt": "2100-01-01T00:00:00+01:00"}),
        ("attribute", {"b": {"type": "Property", "value": 2, "expiresAt": "tomorrow"}}),
        ("attribute", {"b": {"type": "Relationship", "object": "urn:x:1", "expiresAt": None}}),
        ("sub-attribute", {"b": {"type": "Property", "value": 2, "s": {"type": "Property", "value": 3, "expiresAt": FUTURE}}}),
    ],
)
async def test_an_expires_at_that_is_no_datetime_is_bad_request_data(
    client: httpx.AsyncClient, unique_id: Callable[[str], str], where: str, body: dict[str, Any]
) -> None:
    entity_id = unique_id("Thing")
    response = await client.post(ENTITIES, json=thing(entity_id, **body))
    assert response.status_code == 400, response.text
    assert response.json()["type"] == "https://uri.etsi.org/ngsi-ld/errors/BadRequestData"
    assert "expiresAt" in response.json()["detail"] or where == "attribute"
    assert (await get(client, entity_id)).status_code == 404


async def test_expires_at_is_a_system_member_shown_with_sys_attrs(
    client: httpx.AsyncClient, unique_id: Callable[[str], str]
) -> None:
    entity_id = unique_id("Thing")
    await create(client, thing(entity_id, expiresAt=FUTURE, b={"type": "Property", "value": 2, "expiresAt": FUTURE}))
    plain = (await get(client, entity_id)).json()
    assert "expiresAt" not in plain and "expiresAt" not in plain["b"]
    shown = (await get(client, entity_id, options="sysAttrs")).json()
    assert shown["expiresAt"] == FUTURE and shown["b"]["expiresAt"] == FUTURE
    key_values = (await get(client, entity_id, options="sysAttrs,keyValues")).json()
    assert key_values["expiresAt"] == FUTURE and key_values["b"] == 2
    listed = (await client.get(ENTITIES, params={"type": "Thing", "options": "sysAttrs"})).json()
    assert [entity["expiresAt"] for entity in listed if entity["id"] == entity_id] == [FUTURE]
    types = (await client.get(f"{API}/attributes")).json()
    assert not any(name.endswith("expiresAt") for name in types["attributeList"])


async def test_an_expired_entity_is_deleted_and_one_that_has_not_expired_stays(
    client: httpx.AsyncClient, unique_id: Callable[[str], str]
) -> None:
    gone, kept, later = unique_id("Thing"), unique_id("Thing"), unique_id("Thing")
    await create(client, thing(gone, expiresAt=PAST))
    await create(client, thing(kept, expiresAt=FUTURE))
    await create(client, thing(later, expiresAt=soon(3.0)))

    async def gone_away() -> bool:
        return (await get(client, gone)).status_code == 404

    await eventually(gone_away, f"{gone} deleted")
    assert (await get(client, later)).status_code == 200

    async def later_away() -> bool:
        return (await get(client, later)).status_code == 404

    await eventually(later_away, f"{later} deleted once its expiresAt passed")
    assert (await get(client, kept)).status_code == 200
    history = await client.get(f"{API}/temporal/entities/{gone}", params={"timeproperty": "deletedAt"})
    assert history.status_code == 200, history.text
    assert [instance["value"] for instance in history.json()["a"]] == ["urn:ngsi-ld:null"]


async def test_an_expired_attribute_instance_goes_and_the_entity_stays(
    client: httpx.AsyncClient, unique_id: Callable[[str], str]
) -> None:
    entity_id = unique_id("Thing")
    await create(
        client,
        thing(
            entity_id,
            b=[
                {"type": "Property", "value": "old", "expiresAt": PAST},
                {"type": "Property", "value": "other", "datasetId": "urn:ngsi-ld:Dataset:other", "expiresAt": FUTURE},
            ],
            c={"type": "Relationship", "object": "urn:x:1", "expiresAt": PAST},
        ),
    )

    async def cleaned() -> bool:
        return "c" not in (await get(client, entity_id)).json()

    await eventually(cleaned, "the expired attribute instances removed")
    entity = (await get(client, entity_id, options="sysAttrs")).json()
    assert entity["a"]["value"] == 1
    assert entity["b"]["value"] == "other" and entity["b"]["datasetId"] == "urn:ngsi-ld:Dataset:other"
    assert entity["modifiedAt"] > entity["createdAt"]
    history = (await client.get(f"{API}/temporal/entities/{entity_id}", params={"timeproperty": "deletedAt"})).json()
    assert [instance["object"] for instance in history["c"]] == ["urn:ngsi-ld:null"]


async def test_writes_set_change_and_take_away_the_entity_s_expiry(
    client: httpx.AsyncClient, unique_id: Callable[[str], str]
) -> None:
    merged, replaced, appended, updated = (unique_id("Thing") for _ in range(4))
    for entity_id in (merged, replaced, appended, updated):
        await create(client, thing(entity_id, expiresAt=soon(3.0)))
    # merge-patch: urn:ngsi-ld:null takes the expiry away
    response = await client.patch(f"{ENTITIES}/{merged}", json={"expiresAt": "urn:ngsi-ld:null"})
    assert response.status_code == 204, response.text
    # replace: an entity given without expiresAt no longer expires
    response = await client.put(f"{ENTITIES}/{replaced}", json={"type": "Thing", "a": {"type": "Property", "value": 2}})
    assert response.status_code == 204, response.text
    # append with noOverwrite keeps the expiry it has; without it, the new one replaces it
    response = await client.post(f"{ENTITIES}/{appended}/attrs", params={"options": "noOverwrite"}, json={"expiresAt": FUTURE})
    assert response.status_code in (204, 207), response.text
    response = await client.patch(f"{ENTITIES}/{updated}/attrs", json={"expiresAt": FUTURE})
    assert response.status_code == 204, response.text

    async def appended_gone() -> bool:
        return (await get(client, appended)).status_code == 404

    await eventually(appended_gone, f"{appended} deleted at the expiry noOverwrite kept")
    await sweeps()
    for entity_id in (merged, replaced, updated):
        response = await get(client, entity_id, options="sysAttrs")
        assert response.status_code == 200, entity_id
    assert "expiresAt" not in (await get(client, merged, options="sysAttrs")).json()
    assert "expiresAt" not in (await get(client, replaced, options="sysAttrs")).json()
    assert (await get(client, updated, options="sysAttrs")).json()["expiresAt"] == FUTURE


async def test_batch_upsert_sets_expiry_and_a_batch_of_expired_entities_goes(
    client: httpx.AsyncClient, unique_id: Callable[[str], str]
) -> None:
    ids = [unique_id("Thing") for _ in range(30)]
    batch = [thing(entity_id, expiresAt=PAST if n % 3 == 0 else FUTURE) for n, entity_id in enumerate(ids)]
    response = await client.post(f"{API}/entityOperations/upsert", json=batch)
    assert response.status_code in (201, 204), response.text

    async def swept() -> bool:
        listed = (await client.get(ENTITIES, params={"type": "Thing", "limit": 100})).json()
        return {entity["id"] for entity in listed} == {entity_id for n, entity_id in enumerate(ids) if n % 3}

    await eventually(swept, "the entities that expired deleted, the others kept")


@pytest.mark.parametrize("name", ["expiresAt", "createdAt", "modifiedAt", "observedAt"])
async def test_a_core_member_cannot_be_written_as_an_attribute_of_the_url(
    client: httpx.AsyncClient, unique_id: Callable[[str], str], name: str
) -> None:
    entity_id = unique_id("Thing")
    await create(client, thing(entity_id, expiresAt=FUTURE))
    for method, body in (("PATCH", {"value": 2}), ("PUT", {"type": "Property", "value": 2})):
        response = await client.request(method, f"{ENTITIES}/{entity_id}/attrs/{name}", json=body)
        assert response.status_code == 400, (method, response.text)
        assert response.json()["type"] == "https://uri.etsi.org/ngsi-ld/errors/BadRequestData"
    instance = "urn:ngsi-ld:attribute:instance:1"
    response = await client.patch(f"{API}/temporal/entities/{entity_id}/attrs/{name}/{instance}", json={"value": 2})
    assert response.status_code == 400, response.text
    assert (await get(client, entity_id, options="sysAttrs")).json()["expiresAt"] == FUTURE


async def test_a_temporal_entity_has_no_expiry(client: httpx.AsyncClient, unique_id: Callable[[str], str]) -> None:
    entity_id = unique_id("Thing")
    body = {"id": entity_id, "type": "Thing", "expiresAt": FUTURE, "a": [{"type": "Property", "value": 1}]}
    response = await client.post(f"{API}/temporal/entities", json=body)
    assert response.status_code == 400, response.text
    assert (await client.get(f"{API}/temporal/entities/{entity_id}")).status_code == 404


async def test_the_history_shows_an_instance_s_expiry_with_sys_attrs_and_q_compares_it(
    client: httpx.AsyncClient, unique_id: Callable[[str], str]
) -> None:
    lasting, other = unique_id("Thing"), unique_id("Thing")
    await create(client, thing(lasting, b={"type": "Property", "value": 2, "expiresAt": FUTURE}))
    await create(client, thing(other, b={"type": "Property", "value": 2, "expiresAt": "2099-01-01T00:00:00Z"}))
    url = f"{API}/temporal/entities/{lasting}"
    assert "expiresAt" not in (await client.get(url)).json()["b"][0]
    assert (await client.get(url, params={"options": "sysAttrs"})).json()["b"][0]["expiresAt"] == FUTURE
    for q, expected in (("b.expiresAt>2099-06-01T00:00:00Z", [lasting]), ("b.expiresAt<2099-06-01T00:00:00Z", [other])):
        response = await client.get(ENTITIES, params={"type": "Thing", "q": q})
        assert response.status_code == 200, response.text
        assert [entity["id"] for entity in response.json()] == expected, q
