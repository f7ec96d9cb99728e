# SPDX-License-Identifier: EUPL-1.2
"""What every NGSI-LD request needs before its operation runs, checked in the spec's order.

Accept (406) and Content-Type (415) are decided first, then Content-Length (411/413), the JSON
body (400 InvalidRequest), the @context (400 BadRequestData, 504 when a URL cannot be fetched).
Only then does a route look anything up, so these errors win over a 404.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request

from broker.api.negotiation import (
    ENTITY_MEDIA_TYPES,
    JSON,
    JSON_LD,
    body_media_type,
    choose_media_type,
    context_from_link_headers,
    request_context,
)
from broker.errors import (
    BadRequestData,
    InvalidRequest,
    LengthRequired,
    NonexistentTenant,
    PayloadTooLarge,
)
from broker.jsonld_contexts import ContextRegistry
from broker.ld import DEFAULT_CORE_CONTEXT_URL, TermMap, core_term_map

TENANT_HEADER = "NGSILD-Tenant"
FIWARE_SERVICE_HEADER = "fiware-service"
DEFAULT_TENANT = ""
_TENANT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,63}$")


@dataclass(frozen=True, slots=True)
class Call:
    tenant: str
    media_type: str  # the response media type chosen from Accept
    context: Any  # the request's @context as given (a URL, an inline context, a list), None = core
    term_map: TermMap
    body: Any = None
    body_media_type: str = JSON

    @property
    def context_url(self) -> str:
        """The context to echo in a Link header: the request's URL, or the core context."""
        return self.context if isinstance(self.context, str) else DEFAULT_CORE_CONTEXT_URL

    @property
    def response_context(self) -> Any:
        return self.context if self.context is not None else DEFAULT_CORE_CONTEXT_URL


def tenant_of(request: Request) -> str:
    """NGSILD-Tenant, else FIWARE's fiware-service (what existing IoT agents send), else the default."""
    tenant = request.headers.get(TENANT_HEADER) or request.headers.get(FIWARE_SERVICE_HEADER)
    if not tenant:
        return DEFAULT_TENANT
    if not _TENANT.match(tenant):
        raise InvalidRequest(f"invalid {TENANT_HEADER} {tenant!r}: use letters, digits, '_', '.', '-' (max 64)")
    return tenant


async def prepare(
    request: Request,
    *,
    offered: tuple[str, ...] = ENTITY_MEDIA_TYPES,
    body: bool = False,
    body_types: tuple[str, ...] = ENTITY_MEDIA_TYPES,
    creates: bool = False,
    batch: bool = False,
) -> Call:
    """Check the request in the spec's order and resolve its @context.

    `creates`: the operation may create the tenant (otherwise a tenant that does not exist is
    NonexistentTenant). `batch`: the body is an array whose items carry their own @context
    (application/ld+json), so the call's context is the Link header's and `body_media_type`
    tells the route how to read each item.
    """
    settings = request.app.state.settings
    media_type = choose_media_type(request.headers.get("accept"), offered)
    tenant = tenant_of(request)
    link_context = context_from_link_headers(request.headers.getlist("link"))
    payload: Any = None
    content_type = JSON
    context: Any = link_context
    if body:
        content_type = body_media_type(request.headers.get("content-type"), body_types)
        if content_type not in ENTITY_MEDIA_TYPES:
            content_type = JSON  # application/merge-patch+json reads like application/json
        payload = await read_json(request, settings.max_body_bytes)
        if not batch:
            context = request_context(content_type, link_context, payload)
    if tenant and not creates and not await request.app.state.store.tenant_exists(tenant):
        raise NonexistentTenant(f"tenant {tenant!r} does not exist")
    term_map = await resolve_context(request, tenant, None if batch and content_type == JSON_LD else context)
    return Call(
        tenant=tenant, media_type=media_type, context=context, term_map=term_map, body=payload, body_media_type=content_type
    )


async def resolve_context(request: Request, tenant: str, context: Any) -> TermMap:
    if context is None:  # most requests: the core context, compiled once
        return core_term_map()
    registry: ContextRegistry = request.app.state.context_registry
    return await registry.resolve(tenant, context)


async def read_json(request: Request, max_body_bytes: int) -> Any:
    declared = request.headers.get("content-length")
    if declared is None:
        raise LengthRequired("a request with a body needs a Content-Length header")
    try:
        length = int(declared)
    except ValueError:
        raise InvalidRequest(f"invalid Content-Length {declared!r}") from None
    if length > max_body_bytes:
        raise PayloadTooLarge(f"the body has {length} bytes; the limit is {max_body_bytes}")
    raw = await request.body()
    if len(raw) > max_body_bytes:
        raise PayloadTooLarge(f"the body is larger than the limit of {max_body_bytes} bytes")
    if not raw.strip():
        raise InvalidRequest("the request body is empty")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"the body is not valid JSON: {exc}") from None
    try:
        # orjson reads JSON nested up to 1,024 levels but writes at most 254: a body deeper than that
        # could not be stored, and failed the write (a whole batch) deep inside the store. Four levels
        # more are left for what the broker wraps around it (an attribute's list of instances, a
        # notification's data). A batch of 1,000 entities takes about 0.3 ms to write out here.
        orjson.dumps([[[[body]]]])
    except orjson.JSONEncodeError as exc:
        raise BadRequestData(f"the body cannot be stored: {exc} (JSON nested more than 250 levels deep)") from None
    return body


__all__ = ["Call", "prepare", "resolve_context", "read_json", "tenant_of", "TENANT_HEADER", "DEFAULT_TENANT"]
