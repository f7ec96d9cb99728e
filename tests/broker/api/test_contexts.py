# SPDX-License-Identifier: EUPL-1.2
"""@context management (clause 5.13): hosted, cached and core contexts under /jsonldContexts."""

from __future__ import annotations

from urllib.parse import quote

import httpx

from tests.conftest import API, ContextServer

CORE = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"
REL = 'rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'


async def test_hosted_context_is_stored_served_used_and_deleted(client: httpx.AsyncClient) -> None:
    document = {"@context": {"spots": "https://example.org/parking#spots"}}
    created = await client.post(f"{API}/jsonldContexts", json=document)
    assert created.status_code == 201
    location = created.headers["location"]
    assert location.startswith("/ngsi-ld/v1/jsonldContexts/")
    served = await client.get(location)
    assert served.status_code == 200
    assert served.headers["content-type"] == "application/ld+json"
    assert served.json() == document

    listing = (await client.get(f"{API}/jsonldContexts", params={"details": "true"})).json()
    hosted = [entry for entry in listing if entry["kind"] == "Hosted"]
    assert len(hosted) == 1
    entry = hosted[0]
    assert set(entry) >= {"URL", "localId", "kind", "createdAt", "numberOfHits"}
    assert location.endswith(entry["localId"])
    assert entry["URL"].endswith(location)
    assert (await client.get(f"{API}/jsonldContexts")).json() == [entry["URL"]]

    # the hosted URL works as a request's @context, without an HTTP round trip to ourselves
    link = {"Link": f"<{entry['URL']}>; {REL}"}
    thing = {"id": "urn:ngsi-ld:Thing:h", "type": "Thing", "spots": {"type": "Property", "value": 1}}
    assert (await client.post(f"{API}/entities", json=thing, headers=link)).status_code == 201
    assert "https://example.org/parking#spots" in (await client.get(f"{API}/entities/urn:ngsi-ld:Thing:h")).json()
    hits = [e for e in (await client.get(f"{API}/jsonldContexts", params={"details": "true"})).json() if e["kind"] == "Hosted"]
    assert hits[0]["numberOfHits"] == 1

    assert (await client.delete(location, params={"reload": "true"})).status_code == 400
    assert (await client.delete(location)).status_code == 204
    assert (await client.get(location)).status_code == 404
    assert (await client.delete(location)).status_code == 404


async def test_cached_contexts_are_listed_served_reloaded_and_dropped(
    client: httpx.AsyncClient, context_server: ContextServer
) -> None:
    url = context_server.add("cached.jsonld", {"a": "https://example.org/a"})
    link = {"Link": f"<{url}>; {REL}"}
    await client.post(f"{API}/entities", json={"id": "urn:ngsi-ld:Thing:c", "type": "Thing"}, headers=link)
    await client.get(f"{API}/entities/urn:ngsi-ld:Thing:c", headers=link)
    cached = [e for e in (await client.get(f"{API}/jsonldContexts", params={"details": "true"})).json() if e["kind"] == "Cached"]
    assert [e["URL"] for e in cached] == [url]
    assert cached[0]["numberOfHits"] == 2
    assert (await client.get(f"{API}/jsonldContexts", params={"kind": "Hosted"})).json() == []
    served = await client.get(f"{API}/jsonldContexts/{quote(url, safe='')}")
    assert served.json() == {"@context": {"a": "https://example.org/a"}}
    by_local_id = await client.get(f"{API}/jsonldContexts/{cached[0]['localId']}")
    assert by_local_id.json() == served.json()

    context_server.documents["cached.jsonld"] = {"@context": {"a": "https://example.org/a-v2"}}
    assert (await client.delete(f"{API}/jsonldContexts/{quote(url, safe='')}", params={"reload": "true"})).status_code == 204
    assert context_server.hits["cached.jsonld"] == 2
    assert (await client.get(f"{API}/jsonldContexts/{quote(url, safe='')}")).json()["@context"]["a"].endswith("a-v2")

    assert (await client.delete(f"{API}/jsonldContexts/{quote(url, safe='')}")).status_code == 204
    assert (await client.get(f"{API}/jsonldContexts", params={"kind": "Cached"})).json() == []


async def test_core_context_is_served_and_cannot_be_deleted(client: httpx.AsyncClient) -> None:
    served = await client.get(f"{API}/jsonldContexts/{quote(CORE, safe='')}")
    assert served.status_code == 200
    assert served.json()["@context"]["Property"] == "ngsi-ld:Property"
    assert (await client.delete(f"{API}/jsonldContexts/{quote(CORE, safe='')}")).status_code == 400


async def test_bad_context_documents_are_bad_request_data(client: httpx.AsyncClient) -> None:
    for body in ([1, 2], {"no": "context"}, {"@context": 42}):
        response = await client.post(f"{API}/jsonldContexts", json=body)
        assert response.status_code == 400, body
        assert response.json()["type"] == "https://uri.etsi.org/ngsi-ld/errors/BadRequestData"
    wrong_kind = await client.get(f"{API}/jsonldContexts", params={"kind": "Borrowed"})
    assert wrong_kind.status_code == 400
