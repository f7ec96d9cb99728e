# SPDX-License-Identifier: EUPL-1.2
"""/ngsi-ld/v1/csourceRegistrations: create, list, retrieve, update, delete (clauses 6.8 and 6.9)."""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from broker import registrations
from broker.api.call import prepare
from broker.api.params import (
    check_known,
    page_links,
    parse_options,
    parse_page,
    split_list,
)
from broker.api.responses import ld_response, no_content
from broker.entities.normalize import check_entity_id
from broker.errors import MethodNotAllowed, ResourceNotFound

REGISTRATIONS_PATH = "/ngsi-ld/v1/csourceRegistrations"
KIND = registrations.DOCUMENT_KIND


async def registrations_collection(request: Request) -> Response:
    store = request.app.state.store
    settings = request.app.state.settings
    if request.method == "POST":
        check_known(request.query_params, set())
        call = await prepare(request, body=True, creates=True)
        reg = registrations.new_registration(registrations.parse_registration(call.body, call.term_map))
        await store.create_document(KIND, call.tenant, reg["id"], reg)
        return Response(status_code=201, headers={"Location": f"{REGISTRATIONS_PATH}/{quote(reg['id'], safe=':')}"})
    if request.method != "GET":
        raise MethodNotAllowed(f"{request.method} is not supported here", headers={"Allow": "GET, POST"})
    params = request.query_params
    check_known(params, {"id", "type", "attrs", "limit", "offset", "count", "options", "local"})
    options = parse_options(params.get("options"), {"sysAttrs"})
    page = parse_page(params, default_limit=settings.default_page_size, max_limit=settings.max_page_size)
    call = await prepare(request)
    tm = call.term_map
    entity_id = params.get("id")
    if entity_id is not None:
        check_entity_id(entity_id)
    types = [tm.expand_type(t) for t in split_list(params.get("type"), "type") or ()]
    attrs = [tm.expand_term(a) for a in split_list(params.get("attrs"), "attrs") or ()]
    found = [
        reg
        for reg in await store.list_documents(KIND, call.tenant)
        if registrations.matches(reg, entity_id=entity_id, types=types or None, attrs=attrs or None)
    ]
    body = [
        registrations.compact_registration(reg, tm, sys_attrs="sysAttrs" in options)
        for reg in found[page.offset : page.offset + page.limit]
    ]
    response = ld_response(body, media_type=call.media_type, context=call.response_context, context_url=call.context_url)
    headers = page_links(REGISTRATIONS_PATH, params, page, len(found))
    if "Link" in headers and "link" in response.headers:
        headers["Link"] = response.headers["link"] + ", " + headers["Link"]
    response.headers.update(headers)
    return response


async def registration_item(request: Request) -> Response:
    reg_id = request.path_params["reg_id"]
    store = request.app.state.store
    if request.method == "GET":
        check_known(request.query_params, {"options", "local"})
        options = parse_options(request.query_params.get("options"), {"sysAttrs"})
        call = await prepare(request)
        reg = await store.retrieve_document(KIND, call.tenant, check_entity_id(reg_id))
        if reg is None:
            raise ResourceNotFound(f"registration {reg_id} not found")
        body = registrations.compact_registration(reg, call.term_map, sys_attrs="sysAttrs" in options)
        return ld_response(body, media_type=call.media_type, context=call.response_context, context_url=call.context_url)
    if request.method == "PATCH":
        check_known(request.query_params, set())
        call = await prepare(request, body=True)
        fragment = registrations.parse_registration(call.body, call.term_map, require_all=False)
        current = await store.retrieve_document(KIND, call.tenant, check_entity_id(reg_id))
        if current is None:
            raise ResourceNotFound(f"registration {reg_id} not found")
        merged = registrations.merge_registration(current, fragment)
        await store.replace_document(KIND, call.tenant, reg_id, merged)
        return no_content()
    if request.method == "DELETE":
        check_known(request.query_params, set())
        call = await prepare(request)
        await store.delete_document(KIND, call.tenant, check_entity_id(reg_id))
        return no_content()
    raise MethodNotAllowed(f"{request.method} is not supported here", headers={"Allow": "GET, PATCH, DELETE"})


__all__ = ["REGISTRATIONS_PATH", "registrations_collection", "registration_item"]
