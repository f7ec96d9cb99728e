# SPDX-License-Identifier: EUPL-1.2
"""GET /types, /types/{type}, /attributes, /attributes/{attrId} (clauses 6.25 to 6.28)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from broker.api.call import prepare
from broker.api.params import check_known, parse_bool
from broker.api.responses import ld_response
from broker.entities import discovery


async def types(request: Request) -> Response:
    check_known(request.query_params, {"details", "local"})
    details = parse_bool(request.query_params.get("details"), "details")
    call = await prepare(request)
    store = request.app.state.store
    if details:
        body: object = await discovery.entity_types(store, call.tenant, call.term_map)
    else:
        body = await discovery.entity_type_list(store, call.tenant, call.term_map)
    return ld_response(body, media_type=call.media_type, context=call.response_context, context_url=call.context_url)


async def entity_type(request: Request) -> Response:
    check_known(request.query_params, {"local"})
    call = await prepare(request)
    type_iri = call.term_map.expand_type(request.path_params["name"])
    body = await discovery.entity_type_info(request.app.state.store, call.tenant, type_iri, call.term_map)
    return ld_response(body, media_type=call.media_type, context=call.response_context, context_url=call.context_url)


async def attributes(request: Request) -> Response:
    check_known(request.query_params, {"details", "local"})
    details = parse_bool(request.query_params.get("details"), "details")
    call = await prepare(request)
    store = request.app.state.store
    if details:
        body: object = await discovery.attributes(store, call.tenant, call.term_map)
    else:
        body = await discovery.attribute_list(store, call.tenant, call.term_map)
    return ld_response(body, media_type=call.media_type, context=call.response_context, context_url=call.context_url)


async def attribute(request: Request) -> Response:
    check_known(request.query_params, {"local"})
    call = await prepare(request)
    iri = call.term_map.expand_term(request.path_params["name"])
    body = await discovery.attribute_info(request.app.state.store, call.tenant, iri, call.term_map)
    return ld_response(body, media_type=call.media_type, context=call.response_context, context_url=call.context_url)


__all__ = ["types", "entity_type", "attributes", "attribute"]
