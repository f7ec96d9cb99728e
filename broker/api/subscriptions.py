# SPDX-License-Identifier: EUPL-1.2
"""/ngsi-ld/v1/subscriptions: create, query, retrieve, update, delete (clauses 5.8.1 to 5.8.5, 6.10, 6.11).

The routes parse the request, call one operation of broker.subscriptions.SubscriptionService and
compact the result with the request's @context.
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from broker.api.call import prepare
from broker.api.params import check_known, page_links, parse_options, parse_page
from broker.api.responses import ld_response, no_content
from broker.entities.normalize import check_entity_id
from broker.errors import MethodNotAllowed
from broker.subscriptions import SubscriptionService, render_subscription

SUBSCRIPTIONS_PATH = "/ngsi-ld/v1/subscriptions"


def _service(request: Request) -> SubscriptionService:
    service: SubscriptionService = request.app.state.subscriptions
    return service


def subscription_location(subscription_id: str) -> str:
    return f"{SUBSCRIPTIONS_PATH}/{quote(subscription_id, safe=':')}"


async def subscriptions_collection(request: Request) -> Response:
    if request.method == "POST":
        check_known(request.query_params, set())
        call = await prepare(request, body=True, creates=True)
        subscription_id = await _service(request).create(call.tenant, call.body, call.term_map, call.context)
        return Response(status_code=201, headers={"Location": subscription_location(subscription_id)})
    if request.method != "GET":
        raise MethodNotAllowed(f"{request.method} is not supported here", headers={"Allow": "GET, POST"})
    params = request.query_params
    check_known(params, {"limit", "offset", "count", "options", "local"})
    options = parse_options(params.get("options"), {"sysAttrs"})
    settings = request.app.state.settings
    page = parse_page(params, default_limit=settings.default_page_size, max_limit=settings.max_page_size)
    call = await prepare(request)
    found = await _service(request).query(call.tenant)
    body = [
        render_subscription(doc, state, call.term_map, sys_attrs="sysAttrs" in options)
        for doc, state in found[page.offset : page.offset + page.limit]
    ]
    response = ld_response(body, media_type=call.media_type, context=call.response_context, context_url=call.context_url)
    for name, value in page_links(SUBSCRIPTIONS_PATH, params, page, len(found)).items():
        if name == "Link":
            response.headers.append("Link", value)
        else:
            response.headers[name] = value
    return response


async def subscription_item(request: Request) -> Response:
    subscription_id = request.path_params["subscription_id"]
    service = _service(request)
    if request.method == "GET":
        check_known(request.query_params, {"options", "local"})
        options = parse_options(request.query_params.get("options"), {"sysAttrs"})
        call = await prepare(request)
        doc, state = await service.retrieve(call.tenant, check_entity_id(subscription_id, "the subscription id"))
        body = render_subscription(doc, state, call.term_map, sys_attrs="sysAttrs" in options)
        return ld_response(body, media_type=call.media_type, context=call.response_context, context_url=call.context_url)
    if request.method == "PATCH":
        check_known(request.query_params, set())
        call = await prepare(request, body=True)
        await service.update(call.tenant, check_entity_id(subscription_id, "the subscription id"), call.body, call.term_map)
        return no_content()
    if request.method == "DELETE":
        check_known(request.query_params, set())
        call = await prepare(request)
        await service.delete(call.tenant, check_entity_id(subscription_id, "the subscription id"))
        return no_content()
    raise MethodNotAllowed(f"{request.method} is not supported here", headers={"Allow": "GET, PATCH, DELETE"})


__all__ = ["SUBSCRIPTIONS_PATH", "subscription_item", "subscriptions_collection"]
