# SPDX-License-Identifier: EUPL-1.2
"""A trailing slash names the same resource (FIWARE IoT agents send one); a collection stays a collection."""

from __future__ import annotations

import httpx

from tests.conftest import API

ENTITY = {"id": "urn:ngsi-ld:Streetlight:slash", "type": "Streetlight", "power": {"type": "Property", "value": 1}}


async def test_trailing_slashes_everywhere(client: httpx.AsyncClient) -> None:
    assert (await client.post(f"{API}/entities/", json=ENTITY)).status_code == 201
    assert (await client.get(f"{API}/entities/{ENTITY['id']}/")).json() == ENTITY
    assert (await client.post(f"{API}/entities/{ENTITY['id']}/attrs/", json={"dim": 1})).status_code == 204
    assert (await client.patch(f"{API}/entities/{ENTITY['id']}/attrs/dim/", json={"value": 2})).status_code == 204
    assert (await client.get(f"{API}/types/")).json()["typeList"] == ["Streetlight"]
    assert (await client.get(f"{API}/attributes/")).status_code == 200
    assert (await client.post(f"{API}/entityOperations/upsert/", params={"options": "update"}, json=[ENTITY])).status_code == 204
    assert (await client.get(f"{API}/csourceRegistrations/")).status_code == 200
    assert (await client.get(f"{API}/jsonldContexts/")).status_code == 200
    assert (await client.delete(f"{API}/entities/{ENTITY['id']}/")).status_code == 204


async def test_a_collection_with_a_trailing_slash_is_still_the_collection(client: httpx.AsyncClient) -> None:
    response = await client.put(f"{API}/entities/", json=ENTITY)
    assert response.status_code == 405
    assert response.json()["type"] == "https://uri.etsi.org/ngsi-ld/errors/InvalidRequest"
