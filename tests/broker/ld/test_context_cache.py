# SPDX-License-Identifier: EUPL-1.2
"""ContextResolver against a real HTTP server on 127.0.0.1: fetch once, cache, and fail as the spec says."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest
from aiohttp import web

from broker.errors import BadRequestData, LdContextNotAvailable
from broker.ld import ContextResolver, compact_entity, expand_entity

USER_CONTEXT = {
    "@context": {"availableSpotNumber": "https://smartdatamodels.org/dataModel.Parking/availableSpotNumber"}
}


class LdServer:
    """Serves @context documents from `documents`; counts GETs per path."""

    def __init__(self) -> None:
        self.base_url = ""
        self.hits: dict[str, int] = {}
        self.documents: dict[str, Any] = {}
        self.release = asyncio.Event()

    def url(self, name: str) -> str:
        return f"{self.base_url}/{name}"

    async def handle(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        self.hits[name] = self.hits.get(name, 0) + 1
        if name == "slow.jsonld":
            await asyncio.wait_for(self.release.wait(), timeout=5)
        if name == "delayed.jsonld":
            await asyncio.sleep(0.05)
        if name == "streamed.jsonld":  # chunked: no Content-Length to check up front
            response = web.StreamResponse(headers={"Content-Type": "application/ld+json"})
            await response.prepare(request)
            for _ in range(50):
                await response.write(b" " * 100)
            await response.write(json.dumps(USER_CONTEXT).encode())
            await response.write_eof()
            return response
        if name == "not-json.jsonld":
            return web.Response(text="<html>no</html>", content_type="text/html")
        if name not in self.documents:
            return web.Response(status=404)
        self.hits.setdefault("accept:" + request.headers.get("Accept", ""), 0)
        return web.json_response(self.documents[name], content_type="application/ld+json")


@pytest.fixture
async def ld_server() -> AsyncIterator[LdServer]:
    server = LdServer()
    server.documents = {
        "parking.jsonld": USER_CONTEXT,
        "delayed.jsonld": USER_CONTEXT,
        "big.jsonld": {"@context": {f"term{n}": f"http://example.org/{n}" for n in range(100)}},
        "no-context.jsonld": {"hello": "world"},
        "outer.jsonld": {"@context": ["parking.jsonld", {"speed": "http://example.org/speed"}]},
        "cycle-a.jsonld": {"@context": "cycle-b.jsonld"},
        "cycle-b.jsonld": {"@context": "cycle-a.jsonld"},
    }
    app = web.Application()
    app.router.add_get("/{name}", server.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    server.base_url = f"http://127.0.0.1:{port}"
    # Documents refer to each other by absolute URL, now that the port is known.
    server.documents["outer.jsonld"]["@context"][0] = server.url("parking.jsonld")
    server.documents["cycle-a.jsonld"]["@context"] = server.url("cycle-b.jsonld")
    server.documents["cycle-b.jsonld"]["@context"] = server.url("cycle-a.jsonld")
    try:
        yield server
    finally:
        server.release.set()
        await runner.cleanup()


def refused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_a_user_context_is_fetched_once_and_then_served_from_the_cache(ld_server: LdServer) -> None:
    url = ld_server.url("parking.jsonld")
    async with ContextResolver() as resolver:
        first = await resolver.resolve(url)
        again = await resolver.resolve(url)
        in_a_list = await resolver.resolve([url, {"extra": "http://example.org/extra"}])
        assert ld_server.hits["parking.jsonld"] == 1
        assert "accept:application/ld+json, application/json" in ld_server.hits
        assert first is again
        for term_map in (first, in_a_list):
            assert (
                term_map.expand_term("availableSpotNumber")
                == "https://smartdatamodels.org/dataModel.Parking/availableSpotNumber"
            )
        assert resolver.cached_document(url) == USER_CONTEXT
        [entry] = resolver.cached_contexts()
        assert entry["url"] == url and entry["kind"] == "Cached" and entry["numberOfHits"] == 3
        assert datetime.fromisoformat(entry["createdAt"]) <= datetime.fromisoformat(entry["lastUsage"])
        assert entry["lastUsage"].endswith("Z")


async def test_an_entity_round_trips_through_a_fetched_context(ld_server: LdServer) -> None:
    entity = {
        "id": "urn:ngsi-ld:OffStreetParking:Hamm-1",
        "type": "OffStreetParking",
        "availableSpotNumber": {"type": "Property", "value": 5},
    }
    async with ContextResolver() as resolver:
        term_map = await resolver.resolve(ld_server.url("parking.jsonld"))
    expanded_entity = expand_entity(entity, term_map)
    assert "https://smartdatamodels.org/dataModel.Parking/availableSpotNumber" in expanded_entity
    assert compact_entity(expanded_entity, term_map) == entity


async def test_concurrent_requests_share_one_fetch(ld_server: LdServer) -> None:
    url = ld_server.url("delayed.jsonld")
    async with ContextResolver() as resolver:
        term_maps = await asyncio.gather(*(resolver.resolve([url, {f"t{n}": "http://x.org/t"}]) for n in range(5)))
    assert ld_server.hits["delayed.jsonld"] == 1
    assert len({id(term_map) for term_map in term_maps}) == 5


async def test_nested_remote_contexts_are_fetched_and_cached(ld_server: LdServer) -> None:
    async with ContextResolver() as resolver:
        term_map = await resolver.resolve(ld_server.url("outer.jsonld"))
        assert term_map.expand_term("speed") == "http://example.org/speed"
        assert term_map.expand_term("availableSpotNumber").startswith("https://smartdatamodels.org/")
        assert {entry["url"] for entry in resolver.cached_contexts()} == {
            ld_server.url("outer.jsonld"),
            ld_server.url("parking.jsonld"),
        }


async def test_a_core_context_is_resolved_without_any_server() -> None:
    async with ContextResolver(fetch_timeout_s=0.3) as resolver:
        term_map = await resolver.resolve("https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.9.jsonld")
        default = await resolver.resolve(None)
        with_user = await resolver.resolve(
            [{"a": "http://x.org/a"}, "http://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.7.jsonld"]
        )
        assert resolver.cached_contexts() == []
    assert term_map.core_url.endswith("v1.9.jsonld")
    assert default.core_url.endswith("v1.8.jsonld")
    assert with_user.core_url.endswith("v1.7.jsonld") and with_user.expand_term("a") == "http://x.org/a"


async def test_a_missing_context_is_ld_context_not_available(ld_server: LdServer) -> None:
    url = ld_server.url("missing.jsonld")
    async with ContextResolver() as resolver:
        with pytest.raises(LdContextNotAvailable) as caught:
            await resolver.resolve(url)
        assert resolver.cached_contexts() == []
    assert caught.value.status == 504
    assert url in caught.value.detail and "404" in caught.value.detail


async def test_a_refused_connection_is_ld_context_not_available() -> None:
    url = f"http://127.0.0.1:{refused_port()}/ctx.jsonld"
    async with ContextResolver() as resolver:
        with pytest.raises(LdContextNotAvailable) as caught:
            await resolver.resolve([url])
    assert caught.value.status == 504
    assert url in caught.value.detail


async def test_a_slow_server_is_ld_context_not_available(ld_server: LdServer) -> None:
    url = ld_server.url("slow.jsonld")
    async with ContextResolver(fetch_timeout_s=0.3) as resolver:
        with pytest.raises(LdContextNotAvailable) as caught:
            await resolver.resolve(url)
    assert caught.value.status == 504
    assert url in caught.value.detail and "0.3 s" in caught.value.detail


@pytest.mark.parametrize("name", ["big.jsonld", "streamed.jsonld"])
async def test_an_oversized_context_is_rejected(ld_server: LdServer, name: str) -> None:
    async with ContextResolver(max_context_bytes=1000) as resolver:
        with pytest.raises(LdContextNotAvailable, match="larger than 1000 bytes"):
            await resolver.resolve(ld_server.url(name))
        assert resolver.cached_document(ld_server.url(name)) is None


async def test_a_body_that_is_not_json_is_ld_context_not_available(ld_server: LdServer) -> None:
    async with ContextResolver() as resolver:
        with pytest.raises(LdContextNotAvailable, match="not JSON"):
            await resolver.resolve(ld_server.url("not-json.jsonld"))


@pytest.mark.parametrize(
    ("context", "detail"),
    [
        ("no-context.jsonld", "@context member"),
        ("cycle-a.jsonld", "itself"),
        ("file:///etc/passwd", "http or https"),
        ("ftp://127.0.0.1/ctx.jsonld", "http or https"),
        ([{"a": 1}], "'a'"),
    ],
)
async def test_invalid_contexts_are_bad_request_data(ld_server: LdServer, context: Any, detail: str) -> None:
    if isinstance(context, str) and context.endswith(".jsonld") and "//" not in context:
        context = ld_server.url(context)
    async with ContextResolver() as resolver:
        with pytest.raises(BadRequestData) as caught:
            await resolver.resolve(context)
    assert detail in caught.value.detail


async def test_the_resolver_must_be_open() -> None:
    resolver = ContextResolver()
    with pytest.raises(RuntimeError, match="async with"):
        await resolver.resolve(None)
    async with resolver:
        await resolver.resolve(None)
    with pytest.raises(RuntimeError, match="closed"):
        await resolver.resolve(None)


async def test_the_caches_are_bounded(ld_server: LdServer) -> None:
    async with ContextResolver(cache_size=1) as resolver:
        term_map = await resolver.resolve(ld_server.url("outer.jsonld"))
        assert term_map.expand_term("speed") == "http://example.org/speed"
        assert len(resolver.cached_contexts()) == 1
        await resolver.resolve({"b": "http://x.org/b"})
        await resolver.resolve(ld_server.url("outer.jsonld"))
    assert ld_server.hits["outer.jsonld"] == 2
