# SPDX-License-Identifier: EUPL-1.2
"""Multi-tenancy (clause 4.14): tenants exist after their first write and never see each other."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import API

A = {"NGSILD-Tenant": "stadtwerke"}
B = {"NGSILD-Tenant": "verkehr"}
ENTITY = {"id": "urn:ngsi-ld:OffStreetParking:hbf", "type": "OffStreetParking", "spots": {"type": "Property", "value": 3}}
REGISTRATION = {
    "type": "ContextSourceRegistration",
    "information": [{"entities": [{"type": "OffStreetParking"}]}],
    "endpoint": "http://127.0.0.1:9/ngsi-ld",
}


async def setup_tenants(client: httpx.AsyncClient) -> dict[str, str]:
    assert (await client.post(f"{API}/entities", json=ENTITY, headers=A)).status_code == 201
    registration = await client.post(f"{API}/csourceRegistrations", json=REGISTRATION, headers=A)
    assert registration.status_code == 201
    context = await client.post(f"{API}/jsonldContexts", json={"@context": {"spots": "https://example.org/spots"}}, headers=A)
    assert context.status_code == 201
    other = {"id": "urn:ngsi-ld:TrafficFlowObserved:1", "type": "TrafficFlowObserved"}
    assert (await client.post(f"{API}/entities", json=other, headers=B)).status_code == 201
    return {"registration": registration.headers["location"], "context": context.headers["location"]}


async def test_every_endpoint_is_isolated(client: httpx.AsyncClient) -> None:
    locations = await setup_tenants(client)
    entity_url = f"{API}/entities/{ENTITY['id']}"
    assert (await client.get(entity_url, headers=A)).status_code == 200
    assert (await client.get(entity_url, headers=B)).status_code == 404
    assert (await client.get(entity_url)).status_code == 404  # the default tenant
    assert (await client.get(f"{API}/types", headers=B)).json()["typeList"] == ["TrafficFlowObserved"]
    assert (await client.get(f"{API}/types", headers=A)).json()["typeList"] == ["OffStreetParking"]
    assert (await client.get(f"{API}/types/OffStreetParking", headers=B)).status_code == 404
    assert (await client.get(f"{API}/attributes", headers=B)).json()["attributeList"] == []
    assert (await client.get(f"{API}/attributes/spots", headers=B)).status_code == 404
    assert (await client.get(f"{API}/csourceRegistrations", headers=B)).json() == []
    assert len((await client.get(f"{API}/csourceRegistrations", headers=A)).json()) == 1
    assert (await client.get(locations["registration"], headers=B)).status_code == 404
    assert (await client.get(locations["context"], headers=B)).status_code == 404
    assert (await client.get(locations["context"], headers=A)).status_code == 200
    hosted_b = (await client.get(f"{API}/jsonldContexts", params={"details": "true"}, headers=B)).json()
    assert [entry for entry in hosted_b if entry["kind"] == "Hosted"] == []
    # writes in B cannot reach A's entity
    patch = await client.patch(f"{entity_url}/attrs", json={"spots": {"type": "Property", "value": 0}}, headers=B)
    assert patch.status_code == 404
    batch = await client.post(f"{API}/entityOperations/delete", json=[ENTITY["id"]], headers=B)
    assert batch.status_code == 207
    assert (await client.delete(f"{API}/entities", params={"type": "OffStreetParking"}, headers=B)).status_code == 204
    assert (await client.delete(entity_url, headers=B)).status_code == 404
    assert (await client.get(entity_url, headers=A)).json()["spots"]["value"] == 3


@pytest.mark.parametrize(
    "path",
    ["/entities/urn:ngsi-ld:X:1", "/types", "/attributes", "/csourceRegistrations", "/jsonldContexts"],
)
async def test_reading_a_tenant_that_does_not_exist_is_nonexistent_tenant(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(API + path, headers={"NGSILD-Tenant": "nobody"})
    assert response.status_code == 404
    assert response.json()["type"] == "https://uri.etsi.org/ngsi-ld/errors/NonexistentTenant"
    assert response.headers["ngsild-tenant"] == "nobody"


async def test_every_response_echoes_the_tenant(client: httpx.AsyncClient) -> None:
    created = await client.post(f"{API}/entities", json=ENTITY, headers=A)
    assert created.headers["ngsild-tenant"] == "stadtwerke"
    error = await client.post(f"{API}/entities", json={"id": "bad"}, headers=A)
    assert error.status_code == 400 and error.headers["ngsild-tenant"] == "stadtwerke"
    assert "ngsild-tenant" not in (await client.get(f"{API}/types")).headers


@pytest.mark.parametrize("tenant", ["../../etc", "a b", "x" * 65, "t;DROP TABLE entities", "tenant/evil", "%2e%2e"])
async def test_tenant_names_are_validated(client: httpx.AsyncClient, tenant: str) -> None:
    response = await client.post(f"{API}/entities", json=ENTITY, headers={"NGSILD-Tenant": tenant})
    assert response.status_code == 400
    assert response.json()["type"] == "https://uri.etsi.org/ngsi-ld/errors/InvalidRequest"


async def test_fiware_service_header_selects_the_tenant(client: httpx.AsyncClient) -> None:
    assert (await client.post(f"{API}/entities", json=ENTITY, headers={"fiware-service": "verkehr"})).status_code == 201
    assert (await client.get(f"{API}/entities/{ENTITY['id']}", headers=B)).status_code == 200
    both = {"NGSILD-Tenant": "stadtwerke", "fiware-service": "verkehr"}
    assert (await client.get(f"{API}/entities/{ENTITY['id']}", headers=both)).status_code == 404
