# SPDX-License-Identifier: EUPL-1.2
"""Resolve a request's @context to a TermMap, fetching user contexts once and caching them.

Core context URLs are never fetched (broker.ld.core). Other http(s) URLs are fetched with one
aiohttp session owned by the resolver, with a finite timeout and a size limit, and kept in an
LRU together with the bookkeeping GET /ngsi-ld/v1/jsonldContexts shows (ETSI GS CIM 009 v1.9.1,
clause 5.13). Compiled TermMaps are kept in a second LRU keyed by the @context value itself.
"""

from __future__ import annotations

import asyncio
import enum
import json
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

import aiohttp

from broker.errors import BadRequestData, LdContextNotAvailable
from broker.ld.context import (
    ContextValue,
    DocumentLoader,
    RemoteContextNotLoaded,
    check_context_document,
    check_context_url,
    compile_context,
    core_term_map,
    remote_context_urls,
)
from broker.ld.term_map import TermMap

_ACCEPT = "application/ld+json, application/json"
_CHUNK_BYTES = 64 * 1024


class _State(enum.Enum):
    # Fetching needs the session, which only exists between __aenter__ and __aexit__.
    UNOPENED = "unopened"
    OPEN = "open"
    CLOSED = "closed"


@dataclass
class _CachedDocument:
    url: str
    document: dict[str, Any]
    created_at: datetime
    last_usage: datetime
    number_of_hits: int = 0


class ContextResolver:
    """`async with ContextResolver() as resolver: term_map = await resolver.resolve(body.get("@context"))`."""

    def __init__(
        self, *, fetch_timeout_s: float = 5.0, max_context_bytes: int = 2_000_000, cache_size: int = 256
    ) -> None:
        self.fetch_timeout_s = fetch_timeout_s
        self.max_context_bytes = max_context_bytes
        self.cache_size = cache_size
        self._state = _State.UNOPENED
        self._session: aiohttp.ClientSession | None = None
        self._documents: OrderedDict[str, _CachedDocument] = OrderedDict()
        self._term_maps: OrderedDict[str, tuple[TermMap, tuple[str, ...]]] = OrderedDict()
        self._fetches: dict[str, asyncio.Task[dict[str, Any]]] = {}

    async def __aenter__(self) -> ContextResolver:
        if self._state is not _State.UNOPENED:
            raise RuntimeError(f"ContextResolver cannot be opened twice (it is {self._state.value})")
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.fetch_timeout_s))
        self._state = _State.OPEN
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._state = _State.CLOSED
        fetches = list(self._fetches.values())
        for task in fetches:
            task.cancel()
        await asyncio.gather(*fetches, return_exceptions=True)
        if self._session is not None:
            await self._session.close()

    async def resolve(self, context: ContextValue) -> TermMap:
        """The TermMap for a request's @context (None: the default core context only).

        Raises BadRequestData for an invalid context and LdContextNotAvailable when a
        remote context cannot be fetched.
        """
        return (await self.resolve_with_urls(context))[0]

    async def resolve_with_urls(self, context: ContextValue) -> tuple[TermMap, tuple[str, ...]]:
        """As `resolve`, plus the remote (non-core) context URLs the TermMap was compiled from."""
        if self._state is not _State.OPEN:
            raise RuntimeError(f"ContextResolver is {self._state.value}; use it inside `async with`")
        if context is None:
            return core_term_map(), ()
        key = _cache_key(context)
        cached = self._term_maps.get(key)
        if cached is not None:
            self._term_maps.move_to_end(key)
            self._record_use(cached[1])
            return cached
        term_map, urls = await self._compile(context)
        self._term_maps[key] = (term_map, urls)
        while len(self._term_maps) > self.cache_size:
            self._term_maps.popitem(last=False)
        self._record_use(urls)
        return term_map, urls

    def forget(self, url: str) -> bool:
        """Drop a fetched document and every TermMap compiled from it; the next use fetches it again."""
        found = self._documents.pop(url, None) is not None
        for key in [key for key, (_, urls) in self._term_maps.items() if url in urls or key == url]:
            del self._term_maps[key]
            found = True
        return found

    def cached_contexts(self) -> list[dict[str, Any]]:
        return [
            {
                "url": entry.url,
                "kind": "Cached",
                "createdAt": _timestamp(entry.created_at),
                "lastUsage": _timestamp(entry.last_usage),
                "numberOfHits": entry.number_of_hits,
            }
            for entry in self._documents.values()
        ]

    def cached_document(self, url: str) -> dict[str, Any] | None:
        entry = self._documents.get(url)
        return None if entry is None else entry.document

    async def _compile(self, context: ContextValue) -> tuple[TermMap, tuple[str, ...]]:
        """Fetch what `context` refers to, then compile it; returns the remote URLs it used."""
        # Documents fetched for this request stay at hand even if the LRU evicts them meanwhile.
        direct = list(dict.fromkeys(remote_context_urls(context)))
        for url in direct:
            check_context_url(url)
        fetched = await asyncio.gather(*(self._document(url) for url in direct))
        documents = dict(zip(direct, fetched, strict=True))
        while True:
            used: list[str] = []
            try:
                return compile_context(context, self._loader(documents, used)), tuple(dict.fromkeys(used))
            except RemoteContextNotLoaded as missing:
                # A context nested in a fetched document: fetch it and compile again (depth is bounded).
                if missing.url in documents:
                    raise
                documents[missing.url] = await self._document(missing.url)

    def _loader(self, documents: dict[str, dict[str, Any]], used: list[str]) -> DocumentLoader:
        def load(url: str) -> dict[str, Any]:
            document = documents.get(url) or self.cached_document(url)
            if document is None:
                raise RemoteContextNotLoaded(url)
            used.append(url)
            return document

        return load

    async def _document(self, url: str) -> dict[str, Any]:
        entry = self._documents.get(url)
        if entry is not None:
            return entry.document
        task = self._fetches.get(url)
        if task is None:
            task = asyncio.create_task(self._fetch(url), name=f"fetch @context {url}")
            self._fetches[url] = task
            task.add_done_callback(lambda done: self._fetch_done(url, done))
        # Shielded: one caller giving up (a cancelled request) must not cancel the others' fetch.
        return await asyncio.shield(task)

    def _fetch_done(self, url: str, task: asyncio.Task[dict[str, Any]]) -> None:
        self._fetches.pop(url, None)
        if not task.cancelled():
            task.exception()  # retrieved here, so a fetch whose waiters all left logs nothing

    async def _fetch(self, url: str) -> dict[str, Any]:
        assert self._session is not None
        try:
            async with self._session.get(url, headers={"Accept": _ACCEPT}) as response:
                if not 200 <= response.status < 300:
                    raise LdContextNotAvailable(f"@context {url} could not be fetched: HTTP status {response.status}")
                body = await self._read_limited(url, response)
        except TimeoutError as exc:
            raise LdContextNotAvailable(
                f"@context {url} could not be fetched: no answer within {self.fetch_timeout_s} s"
            ) from exc
        except aiohttp.ClientError as exc:
            raise LdContextNotAvailable(f"@context {url} could not be fetched: {type(exc).__name__}: {exc}") from exc
        try:
            parsed = json.loads(body)
        except ValueError as exc:
            raise LdContextNotAvailable(f"@context {url} could not be used: the response is not JSON") from exc
        document = check_context_document(url, parsed)
        now = datetime.now(UTC)
        self._documents[url] = _CachedDocument(url, document, created_at=now, last_usage=now)
        while len(self._documents) > self.cache_size:
            self._documents.popitem(last=False)
        return document

    async def _read_limited(self, url: str, response: aiohttp.ClientResponse) -> bytes:
        too_large = LdContextNotAvailable(
            f"@context {url} could not be used: larger than {self.max_context_bytes} bytes"
        )
        if response.content_length is not None and response.content_length > self.max_context_bytes:
            raise too_large
        body = bytearray()
        async for chunk in response.content.iter_chunked(_CHUNK_BYTES):
            body += chunk
            if len(body) > self.max_context_bytes:
                raise too_large
        return bytes(body)

    def _record_use(self, urls: tuple[str, ...]) -> None:
        now = datetime.now(UTC)
        for url in urls:
            entry = self._documents.get(url)
            if entry is not None:
                entry.last_usage = now
                entry.number_of_hits += 1
                self._documents.move_to_end(url)


def _cache_key(context: ContextValue) -> str:
    if isinstance(context, str):
        return context
    try:
        return json.dumps(context, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise BadRequestData("@context is not a JSON value") from exc


def _timestamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
