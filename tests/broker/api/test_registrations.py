# SPDX-License-Identifier: EUPL-1.2
"""Context source registrations: what FIWARE IoT agents do to register their commands."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import API

REGS = f"{API}/csourceRegistrations"


def registration(**extra: Any) -> dict[str, Any]:
    return {
        "type": "ContextSourceRegistration",
        "information": [
            {"entities": [{"type": "Streetlight", "id": "urn:ngsi-ld:Streetlight:hamm-1"}], "propertyNames": ["switch", "dim"]}
        ],
        "endpoint": "http://127.0.0.1:4041/ngsi-ld",
        "mode": "exclusive",
        "operations": ["updateOps"],
        **extra,
    }


async def test_create_read_update_delete(client: httpx.AsyncClient) -> None:
    created = await client.post(f"{REGS}/", json=registration())
    assert created.status_code == 201, created.text
    location = created.headers["location"]
    got = await client.get(location)
    assert got.status_code == 200
    body = got.json()
    assert body["id"].startswith("urn:ngsi-ld:ContextSourceRegistration:")
    assert body["information"] == registration()["information"]
    assert body["endpoint"] == "http://127.0.0.1:4041/ngsi-ld"
    assert "createdAt" not in body
    assert "createdAt" in (await client.get(location, params={"options": "sysAttrs"})).json()

    patched = await client.patch(location, json={"endpoint": "http://127.0.0.1:4042/ngsi-ld", "description": "Hamm lights"})
    assert patched.status_code == 204
    after = (await client.get(location)).json()
    assert after["endpoint"] == "http://127.0.0.1:4042/ngsi-ld" and after["description"] == "Hamm lights"
    assert (await client.delete(location)).status_code == 204
    assert (await client.get(location)).status_code == 404
    assert (await client.delete(location)).status_code == 404


async def test_list_filters_by_type_and_id_with_paging(client: httpx.AsyncClient) -> None:
    for n in range(5):
        reg = registration(id=f"urn:ngsi-ld:ContextSourceRegistration:{n}")
        reg["information"][0]["entities"][0]["id"] = f"urn:ngsi-ld:Streetlight:hamm-{n}"
        assert (await client.post(REGS, json=reg)).status_code == 201
    other = registration(id="urn:ngsi-ld:ContextSourceRegistration:weather")
    other["information"] = [{"entities": [{"type": "WeatherObserved"}]}]
    await client.post(REGS, json=other)

    assert len((await client.get(REGS)).json()) == 6
    lights = await client.get(REGS, params={"type": "Streetlight", "limit": "2", "count": "true"})
    assert len(lights.json()) == 2
    assert lights.headers["ngsild-results-count"] == "5"
    assert 'rel="next"' in lights.headers["link"]
    by_id = (await client.get(REGS, params={"id": "urn:ngsi-ld:Streetlight:hamm-3", "type": "Streetlight"})).json()
    assert [reg["id"] for reg in by_id] == ["urn:ngsi-ld:ContextSourceRegistration:3"]
    # a registration for every WeatherObserved (no id) may hold any entity id
    any_id = (await client.get(REGS, params={"id": "urn:ngsi-ld:Streetlight:hamm-3"})).json()
    assert {reg["id"] for reg in any_id} == {"urn:ngsi-ld:ContextSourceRegistration:3", "urn:ngsi-ld:ContextSourceRegistration:weather"}
    duplicate = await client.post(REGS, json=registration(id="urn:ngsi-ld:ContextSourceRegistration:1"))
    assert duplicate.status_code == 409


@pytest.mark.parametrize(
    "body",
    [
        {**registration(), "type": "Registration"},
        {**registration(), "information": []},
        {**registration(), "information": [{"entities": [{"id": "urn:a:b"}]}]},
        {**registration(), "endpoint": "not a uri"},
        {**registration(), "mode": "sometimes"},
        {**registration(), "expiresAt": "tomorrow"},
        [registration()],
    ],
)
async def test_invalid_registrations_are_bad_request_data(client: httpx.AsyncClient, body: Any) -> None:
    response = await client.post(REGS, json=body)
    assert response.status_code == 400
    assert response.json()["type"] == "https://uri.etsi.org/ngsi-ld/errors/BadRequestData"
    assert (await client.get(REGS)).json() == []


async def test_paging_limits(client: httpx.AsyncClient) -> None:
    too_many = await client.get(REGS, params={"limit": "1001"})
    assert too_many.status_code == 403
    assert too_many.json()["type"] == "https://uri.etsi.org/ngsi-ld/errors/TooManyResults"
    assert (await client.get(REGS, params={"limit": "-1"})).status_code == 400
    assert (await client.get(REGS, params={"limit": "0"})).status_code == 400
    assert (await client.get(REGS, params={"limit": "0", "count": "true"})).headers["ngsild-results-count"] == "0"
