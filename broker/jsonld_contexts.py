# SPDX-License-Identifier: EUPL-1.2
"""@context management per tenant (ETSI GS CIM 009 v1.9.1 clause 5.13).

Three kinds of @context appear under /ngsi-ld/v1/jsonldContexts:
- Hosted: stored by a client (POST), kept in the store, served by the broker at its own URL;
- Cached: fetched from a URL a request used; the documents live in the ContextResolver, and the
  per-tenant bookkeeping (first use, last use, hits) lives here, so a tenant sees only its own;
- ImplicitlyCreated: contexts the broker makes itself. This broker makes none yet, so the kind
  is accepted as a filter and yields nothing.
A request naming a Hosted context's URL is resolved from the store, without an HTTP round trip.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from broker.entities.operations import now_iso
from broker.errors import BadRequestData, ResourceNotFound
from broker.ld import (
    ContextResolver,
    TermMap,
    core_context_document,
    is_core_context_url,
)
from broker.store.base import Store

DOCUMENT_KIND = "jsonldContext"
HOSTED_PATH = "/ngsi-ld/v1/jsonldContexts/"
KINDS = ("Hosted", "Cached", "ImplicitlyCreated")


def local_id_of(url: str) -> str:
    return "cached-" + hashlib.sha256(url.encode()).hexdigest()[:16]


@dataclass
class _Usage:
    url: str
    created_at: str
    last_usage: str
    number_of_hits: int = 0


@dataclass
class _TenantContexts:
    cached: dict[str, _Usage] = field(default_factory=dict)
    hosted_usage: dict[str, _Usage] = field(default_factory=dict)


class ContextRegistry:
    def __init__(self, resolver: ContextResolver, store: Store) -> None:
        self.resolver = resolver
        self.store = store
        self._tenants: dict[str, _TenantContexts] = {}
        self._hosted_documents: dict[tuple[str, str], dict[str, Any]] = {}

    def _of(self, tenant: str) -> _TenantContexts:
        return self._tenants.setdefault(tenant, _TenantContexts())

    async def resolve(self, tenant: str, context: Any) -> TermMap:
        """The request's TermMap; Hosted URLs come from the store, other URLs from the resolver."""
        if context is None:
            return await self.resolver.resolve(None)
        context = await self._inline_hosted(tenant, context)
        term_map, urls = await self.resolver.resolve_with_urls(context)
        now = now_iso()
        cached = self._of(tenant).cached
        for url in urls:
            usage = cached.get(url)
            if usage is None:
                usage = cached[url] = _Usage(url, now, now)
            usage.last_usage = now
            usage.number_of_hits += 1
        return term_map

    async def _inline_hosted(self, tenant: str, context: Any) -> Any:
        if isinstance(context, str):
            local_id = _hosted_id(context)
            if local_id is None:
                return context
            record = await self._hosted(tenant, local_id)
            if record is None:
                return context
            now = now_iso()
            usage = self._of(tenant).hosted_usage.setdefault(local_id, _Usage(context, record["createdAt"], now))
            usage.last_usage = now
            usage.number_of_hits += 1
            return record["document"]["@context"]
        if isinstance(context, list):
            return [await self._inline_hosted(tenant, item) for item in context]
        return context

    async def _hosted(self, tenant: str, local_id: str) -> dict[str, Any] | None:
        key = (tenant, local_id)
        record = self._hosted_documents.get(key)
        if record is None:
            record = await self.store.retrieve_document(DOCUMENT_KIND, tenant, local_id)
            if record is not None:
                self._hosted_documents[key] = record
        return record

    async def add(self, tenant: str, document: Any, *, base_url: str) -> str:
        """POST /jsonldContexts (5.13.2): store a Hosted context; returns its localId."""
        if not isinstance(document, dict) or "@context" not in document:
            raise BadRequestData("the body must be a JSON object with an @context member")
        context = document["@context"]
        await self.resolver.resolve(context)  # invalid: BadRequestData; unreachable remote parts: 504
        local_id = uuid.uuid4().hex
        url = f"{base_url.rstrip('/')}{HOSTED_PATH}{local_id}"
        record = {"localId": local_id, "URL": url, "createdAt": now_iso(), "document": {"@context": context}}
        await self.store.create_document(DOCUMENT_KIND, tenant, local_id, record)
        return local_id

    async def list(self, tenant: str, *, kind: str | None = None) -> list[dict[str, Any]]:
        """The ContextInfo of each @context the tenant has (5.13.3), Hosted first."""
        entries: list[dict[str, Any]] = []
        state = self._of(tenant)
        if kind in (None, "Hosted"):
            for record in await self.store.list_documents(DOCUMENT_KIND, tenant):
                usage = state.hosted_usage.get(record["localId"])
                entries.append(
                    {
                        "URL": record["URL"],
                        "localId": record["localId"],
                        "kind": "Hosted",
                        "createdAt": record["createdAt"],
                        **({"lastUsage": usage.last_usage, "numberOfHits": usage.number_of_hits} if usage else {"numberOfHits": 0}),
                    }
                )
        if kind in (None, "Cached"):
            for usage in state.cached.values():
                entries.append(
                    {
                        "URL": usage.url,
                        "localId": local_id_of(usage.url),
                        "kind": "Cached",
                        "createdAt": usage.created_at,
                        "lastUsage": usage.last_usage,
                        "numberOfHits": usage.number_of_hits,
                    }
                )
        return entries

    async def serve(self, tenant: str, context_id: str) -> dict[str, Any]:
        """GET /jsonldContexts/{contextId} (5.13.4): a Hosted or Cached context, or a core context."""
        core = core_context_document(context_id)
        if core is not None:
            return core
        record = await self._hosted(tenant, context_id)
        if record is not None:
            return record["document"]  # type: ignore[no-any-return]
        url = self._cached_url(tenant, context_id)
        document = self.resolver.cached_document(url) if url else None
        if document is None:
            raise ResourceNotFound(f"no @context {context_id}")
        return document

    async def delete(self, tenant: str, context_id: str, *, reload: bool) -> None:
        """DELETE /jsonldContexts/{contextId} (5.13.5): remove a Hosted one, or drop / re-fetch a Cached one."""
        if is_core_context_url(context_id):
            raise BadRequestData("the NGSI-LD core @context cannot be deleted")
        if await self._hosted(tenant, context_id) is not None:
            if reload:
                raise BadRequestData("reload=true applies to Cached @contexts only; this one is Hosted")
            await self.store.delete_document(DOCUMENT_KIND, tenant, context_id)
            self._hosted_documents.pop((tenant, context_id), None)
            self._of(tenant).hosted_usage.pop(context_id, None)
            return
        url = self._cached_url(tenant, context_id)
        if url is None:
            raise ResourceNotFound(f"no @context {context_id}")
        self.resolver.forget(url)
        if reload:
            await self.resolve(tenant, url)  # fetched again now; LdContextNotAvailable if it is gone
        else:
            del self._of(tenant).cached[url]

    def _cached_url(self, tenant: str, context_id: str) -> str | None:
        cached = self._of(tenant).cached
        if context_id in cached:
            return context_id
        return next((url for url in cached if local_id_of(url) == context_id), None)


def _hosted_id(url: str) -> str | None:
    index = url.find(HOSTED_PATH)
    if index < 0:
        return None
    local_id = unquote(url[index + len(HOSTED_PATH) :])
    return local_id or None


__all__ = ["ContextRegistry", "DOCUMENT_KIND", "HOSTED_PATH", "KINDS", "local_id_of"]
