# SPDX-License-Identifier: EUPL-1.2
"""/ngsi-ld/v1/jsonldContexts: add, list, serve, delete and reload @contexts (clause 6.32 to 6.33)."""

from __future__ import annotations

from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import Response

from broker.api.call import read_json, tenant_of
from broker.api.negotiation import JSON, JSON_LD, body_media_type, choose_media_type
from broker.api.params import check_known, parse_bool
from broker.api.responses import json_response, no_content
from broker.errors import BadRequestData, MethodNotAllowed, NonexistentTenant
from broker.jsonld_contexts import HOSTED_PATH, KINDS, ContextRegistry

CONTEXTS_PATH = HOSTED_PATH.rstrip("/")


def _registry(request: Request) -> ContextRegistry:
    registry: ContextRegistry = request.app.state.context_registry
    return registry


async def _existing_tenant(request: Request) -> str:
    tenant = tenant_of(request)
    if tenant and not await request.app.state.store.tenant_exists(tenant):
        raise NonexistentTenant(f"tenant {tenant!r} does not exist")
    return tenant


async def contexts_collection(request: Request) -> Response:
    if request.method == "POST":
        check_known(request.query_params, set())
        choose_media_type(request.headers.get("accept"))
        body_media_type(request.headers.get("content-type"), (JSON, JSON_LD))
        document = await read_json(request, request.app.state.settings.max_body_bytes)
        local_id = await _registry(request).add(tenant_of(request), document, base_url=str(request.base_url))
        return Response(status_code=201, headers={"Location": f"{CONTEXTS_PATH}/{local_id}"})
    if request.method != "GET":
        raise MethodNotAllowed(f"{request.method} is not supported here", headers={"Allow": "GET, POST"})
    params = request.query_params
    check_known(params, {"details", "kind"})
    choose_media_type(request.headers.get("accept"))
    details = parse_bool(params.get("details"), "details")
    kind = params.get("kind")
    if kind is not None and kind not in KINDS:
        raise BadRequestData(f"kind must be one of {', '.join(KINDS)}")
    entries = await _registry(request).list(await _existing_tenant(request), kind=kind)
    return json_response(entries if details else [entry["URL"] for entry in entries])


async def context_item(request: Request) -> Response:
    context_id = unquote(request.path_params["context_id"])
    if request.method == "GET":
        check_known(request.query_params, set())
        choose_media_type(request.headers.get("accept"), (JSON_LD, JSON))
        document = await _registry(request).serve(await _existing_tenant(request), context_id)
        return json_response(document, media_type=JSON_LD)
    if request.method == "DELETE":
        check_known(request.query_params, {"reload"})
        reload = parse_bool(request.query_params.get("reload"), "reload")
        await _registry(request).delete(await _existing_tenant(request), context_id, reload=reload)
        return no_content()
    raise MethodNotAllowed(f"{request.method} is not supported here", headers={"Allow": "GET, DELETE"})


__all__ = ["CONTEXTS_PATH", "contexts_collection", "context_item"]
