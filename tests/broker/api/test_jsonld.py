# SPDX-License-Identifier: EUPL-1.2
"""JSON-LD over HTTP (clauses 6.3.4 to 6.3.6): Link header, ld+json bodies, 406/415, context caching."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from tests.conftest import API, ContextServer, free_port

REL = 'rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'
SDM_PARKING = "https://smartdatamodels.org/dataModel.Parking/"
CONTEXT = {"availableSpotNumber": SDM_PARKING + "availableSpotNumber", "OffStreetParking": SDM_PARKING + "OffStreetParking"}


def link(url: str) -> dict[str, str]:
    return {"Link": f"<{url}>; {REL}"}


async def test_link_header_context_expands_on_write_and_compacts_on_read(
    client: httpx.AsyncClient, context_server: ContextServer, unique_id: Callable[[str], str]
) -> None:
    url = context_server.add("parking.jsonld", CONTEXT)
    entity_id = unique_id("OffStreetParking")
    entity = {"id": entity_id, "type": "OffStreetParking", "availableSpotNumber": {"type": "Property", "value": 12}}
    created = await client.post(f"{API}/entities", json=entity, headers=link(url))
    assert created.status_code == 201, created.text

    with_context = await client.get(f"{API}/entities/{entity_id}", headers=link(url))
    assert with_context.json() == entity
    assert with_context.headers["link"] == f"<{url}>; {REL}"

    without_context = (await client.get(f"{API}/entities/{entity_id}")).json()
    assert without_context["type"] == SDM_PARKING + "OffStreetParking"
    assert without_context[SDM_PARKING + "availableSpotNumber"]["value"] == 12

    for _ in range(5):
        await client.get(f"{API}/entities/{entity_id}", headers=link(url))
    assert context_server.hits["parking.jsonld"] == 1  # fetched once, then cached


async def test_ld_json_body_carries_its_context_and_ld_json_responses_echo_it(
    client: httpx.AsyncClient, context_server: ContextServer, unique_id: Callable[[str], str]
) -> None:
    url = context_server.add("parking.jsonld", CONTEXT)
    entity_id = unique_id("OffStreetParking")
    body = {
        "@context": [CONTEXT, "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"],
        "id": entity_id,
        "type": "OffStreetParking",
        "availableSpotNumber": {"type": "Property", "value": 3},
    }
    created = await client.post(f"{API}/entities", json=body, headers={"Content-Type": "application/ld+json"})
    assert created.status_code == 201, created.text

    response = await client.get(f"{API}/entities/{entity_id}", headers={"Accept": "application/ld+json", **link(url)})
    assert response.headers["content-type"] == "application/ld+json"
    assert "link" not in response.headers
    got = response.json()
    assert got["@context"] == url
    assert got["availableSpotNumber"] == {"type": "Property", "value": 3}


@pytest.mark.parametrize(
    "content_type,body,problem",
    [
        ("application/json", {"@context": CONTEXT}, "BadRequestData"),
        ("application/ld+json", {}, "BadRequestData"),
    ],
)
async def test_context_in_the_wrong_place_is_bad_request_data(
    client: httpx.AsyncClient, unique_id: Callable[[str], str], content_type: str, body: dict[str, object], problem: str
) -> None:
    entity = {"id": unique_id("Thing"), "type": "Thing", **body}
    response = await client.post(f"{API}/entities", json=entity, headers={"Content-Type": content_type})
    assert response.status_code == 400
    assert response.json()["type"] == f"https://uri.etsi.org/ngsi-ld/errors/{problem}"
    assert (await client.get(f"{API}/entities/{entity['id']}")).status_code == 404


async def test_two_context_link_headers_are_bad_request_data(client: httpx.AsyncClient) -> None:
    headers = [("Link", f"<http://127.0.0.1:9/a.jsonld>; {REL}"), ("Link", f"<http://127.0.0.1:9/b.jsonld>; {REL}")]
    response = await client.get(f"{API}/entities/urn:ngsi-ld:Thing:1", headers=headers)
    assert response.status_code == 400
    assert response.json()["type"] == "https://uri.etsi.org/ngsi-ld/errors/BadRequestData"


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", None])
async def test_unsupported_content_type_is_415_even_for_a_missing_entity(
    client: httpx.AsyncClient, content_type: str | None
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    for method, path in [
        ("POST", "/entities"),
        ("PATCH", "/entities/urn:ngsi-ld:Thing:missing/attrs"),
        ("POST", "/entities/urn:ngsi-ld:Thing:missing/attrs"),
    ]:
        response = await client.request(method, API + path, content=b'{"id": "urn:a:b", "type": "T"}', headers=headers)
        assert response.status_code == 415, (method, path, response.text)
        assert response.content == b""  # clause 6.3.4: just the status code


@pytest.mark.parametrize("accept", ["text/html", "application/xml", "application/json;q=0", "image/*"])
async def test_unacceptable_accept_is_406_before_404(client: httpx.AsyncClient, accept: str) -> None:
    response = await client.get(f"{API}/entities/urn:ngsi-ld:Thing:missing", headers={"Accept": accept})
    assert response.status_code == 406
    assert response.json()["type"].startswith("https://uri.etsi.org/ngsi-ld/errors/")


@pytest.mark.parametrize(
    "accept,expected",
    [
        ("application/ld+json", "application/ld+json"),
        ("application/json;q=0.5, application/ld+json", "application/ld+json"),
        ("application/ld+json;q=0.2, application/json;q=0.9", "application/json"),
        ("*/*", "application/json"),
        ("application/*", "application/json"),
        ("application/ld+json;q=0, */*", "application/json"),
        ("text/html, application/geo+json;q=0.1", "application/geo+json"),
    ],
)
async def test_accept_q_values_choose_the_response_type(
    client: httpx.AsyncClient, unique_id: Callable[[str], str], accept: str, expected: str
) -> None:
    entity = {"id": unique_id("Thing"), "type": "Thing", "location": {"type": "Point", "coordinates": [7.8, 51.6]}}
    assert (await client.post(f"{API}/entities", json=entity)).status_code == 201
    response = await client.get(f"{API}/entities/{entity['id']}", headers={"Accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"] == expected


async def test_unreachable_context_is_ld_context_not_available_and_nothing_is_written(
    client: httpx.AsyncClient, unique_id: Callable[[str], str]
) -> None:
    url = f"http://127.0.0.1:{free_port()}/gone.jsonld"
    entity = {"id": unique_id("Thing"), "type": "Thing", "a": {"type": "Property", "value": 1}}
    response = await client.post(f"{API}/entities", json=entity, headers=link(url))
    assert response.status_code == 504
    problem = response.json()
    assert problem["type"] == "https://uri.etsi.org/ngsi-ld/errors/LdContextNotAvailable"
    assert url in problem["detail"]
    assert (await client.get(f"{API}/entities/{entity['id']}")).status_code == 404


async def test_context_that_is_not_found_is_ld_context_not_available(
    client: httpx.AsyncClient, context_server: ContextServer
) -> None:
    response = await client.get(
        f"{API}/entities/urn:ngsi-ld:Thing:1", headers=link(f"{context_server.base_url}/missing.jsonld")
    )
    assert response.status_code == 504


@pytest.mark.parametrize(
    "url",
    [f"https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.{minor}.jsonld" for minor in range(3, 10)]
    + ["https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld"],
)
async def test_core_context_urls_are_known_without_a_network(
    client: httpx.AsyncClient, unique_id: Callable[[str], str], url: str
) -> None:
    # This machine has no route to uri.etsi.org: success proves the shipped copy was used.
    entity = {"id": unique_id("Thing"), "type": "Thing", "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [7.8, 51.6]}}}
    created = await client.post(f"{API}/entities", json=entity, headers=link(url))
    assert created.status_code == 201, created.text
    got = await client.get(f"{API}/entities/{entity['id']}", headers=link(url))
    assert got.json() == entity


async def test_successful_responses_have_exact_media_types(client: httpx.AsyncClient, unique_id: Callable[[str], str]) -> None:
    entity = {"id": unique_id("Thing"), "type": "Thing"}
    await client.post(f"{API}/entities", json=entity)
    for accept, media_type in [("application/json", "application/json"), ("application/ld+json", "application/ld+json")]:
        response = await client.get(f"{API}/entities/{entity['id']}", headers={"Accept": accept})
        assert response.headers["content-type"] == media_type
