# SPDX-License-Identifier: EUPL-1.2
"""The temporal API (ETSI GS CIM 009 clauses 6.18 to 6.24): routes that parse, call broker.temporal, render.

    GET    /temporal/entities                              query (5.7.4)
    POST   /temporal/entities                              create, or add instances (5.6.11): 201 / 204
    GET    /temporal/entities/{id}                         retrieve (5.7.3)
    DELETE /temporal/entities/{id}                         delete the temporal representation (5.6.16)
    POST   /temporal/entities/{id}/attrs                   add attributes (5.6.12)
    DELETE /temporal/entities/{id}/attrs/{attrId}          delete an attribute's history (5.6.13)
    PATCH  /temporal/entities/{id}/attrs/{attrId}/{instanceId}   modify an instance (5.6.14)
    DELETE /temporal/entities/{id}/attrs/{attrId}/{instanceId}   delete an instance (5.6.15)
    POST   /temporal/entityOperations/query                query with a Query body (5.7.4, 6.24)

Reads answer 200, or 206 Partial Content with Content-Range: date-time <start>-<end>/<size> when
an attribute has more instances in the window than CITYCONTEXT_TEMPORAL_PAGE_SIZE_INSTANCES
(clause 6.3.10).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote, unquote

from starlette.requests import Request
from starlette.responses import Response

from broker.api.call import Call, prepare
from broker.api.negotiation import ENTITY_MEDIA_TYPES, MERGE_PATCH
from broker.api.params import (
    Page,
    check_known,
    page_links,
    parse_bool,
    parse_page,
    split_list,
)
from broker.api.query import _entity_query, _list, _selector, _selector_of, _string
from broker.api.rendering import parse_dataset_ids
from broker.api.responses import ld_response, no_content
from broker.entities import normalize
from broker.entities.operations import now_iso
from broker.errors import BadRequestData, MethodNotAllowed, ResourceNotFound
from broker.ld import TermMap, expand_fragment
from broker.query import parse_geo_query_json, parse_geo_query_params
from broker.store.base import EntitySelector
from broker.temporal.query import (
    AGGREGATED_VALUES,
    TEMPORAL_VALUES,
    TemporalQuery,
    TemporalRepresentation,
    parse_representation,
    parse_temporal_query,
)
from broker.temporal.representation import (
    SIMPLIFIED_MEMBER,
    render_aggregated,
    render_normalized,
    render_temporal_values,
)
from broker.temporal.service import TemporalResult, TemporalService

TEMPORAL_PATH = "/ngsi-ld/v1/temporal/entities"
TEMPORAL_QUERY_PATH = "/ngsi-ld/v1/temporal/entityOperations/query"
_TEMPORAL_PARAMS = {"timerel", "timeAt", "endTimeAt", "timeproperty", "lastN", "options", "format", "aggrMethods", "aggrPeriodDuration"}
_QUERY_PARAMS = _TEMPORAL_PARAMS | {
    "id", "idPattern", "type", "attrs", "q", "georel", "geometry", "coordinates", "geoproperty", "scopeQ",
    "limit", "offset", "count", "datasetId", "local", "csf",
}  # fmt: skip
_RETRIEVE_PARAMS = _TEMPORAL_PARAMS | {"attrs", "datasetId", "local", "type"}
_TEMPORAL_Q_MEMBERS = {"timerel", "timeAt", "endTimeAt", "timeproperty", "lastN", "aggrMethods", "aggrPeriodDuration"}
_QUERY_MEMBERS = {"type", "entities", "attrs", "q", "geoQ", "scopeQ", "temporalQ", "local", "@context", "lang"}
_SIMPLIFIED_TYPES = {member: attribute_type for attribute_type, member in SIMPLIFIED_MEMBER.items()}

Handler = Callable[[Request, TemporalService, list[str]], Awaitable[Response]]


def temporal_service(request: Request) -> TemporalService:
    """One service per app, made on first use from the app's store and settings."""
    service: TemporalService | None = getattr(request.app.state, "temporal", None)
    if service is None:
        settings = request.app.state.settings
        service = TemporalService(request.app.state.store, page_size=settings.temporal_page_size_instances)
        request.app.state.temporal = service
    return service


# -- /temporal/entities --------------------------------------------------------------------------


async def temporal_collection(request: Request) -> Response:
    if request.method == "GET":
        return await _query_get(request)
    if request.method != "POST":
        raise MethodNotAllowed(f"{request.method} is not supported on {TEMPORAL_PATH}", headers={"Allow": "GET, POST"})
    check_known(request.query_params, {"local"})
    call = await prepare(request, body=True, creates=True)
    entity = parse_temporal_entity(call.body)
    expanded = expand_fragment(entity, call.term_map)
    created = await temporal_service(request).create_or_append(call.tenant, expanded, now_iso())
    if created:
        return Response(status_code=201, headers={"Location": f"{TEMPORAL_PATH}/{quote(entity['id'], safe=':')}"})
    return no_content()


async def _query_get(request: Request) -> Response:
    params = request.query_params
    check_known(params, _QUERY_PARAMS)
    settings = request.app.state.settings
    page = parse_page(params, default_limit=settings.default_page_size, max_limit=settings.max_page_size)
    temporal, form = _temporal_params(params, params.get("datasetId"))
    call = await prepare(request, offered=ENTITY_MEDIA_TYPES)
    tm = call.term_map
    selector = _selector(split_list(params.get("id"), "id"), params.get("idPattern"), params.get("type"), tm)
    geo = parse_geo_query_params(params.get("georel"), params.get("geometry"), params.get("coordinates"), params.get("geoproperty"))
    query = _entity_query(
        tm,
        selectors=(selector,) if selector != EntitySelector() else (),
        attrs=split_list(params.get("attrs"), "attrs"),
        q=params.get("q"),
        geo=geo,
        scope=params.get("scopeQ"),
    )
    if not (selector.types or selector.ids or query.attrs or query.q or query.geo):
        raise BadRequestData("a temporal query needs at least one of id, type, attrs, q or a geo-query (clause 5.7.4.4)")
    result = await temporal_service(request).query(
        call.tenant, query, temporal, form, limit=page.limit, offset=page.offset, count=page.count
    )
    return _page_response(call, result, temporal, form, TEMPORAL_PATH, params, page)


async def query_post(request: Request) -> Response:
    """POST /temporal/entityOperations/query: a Query (clause 5.2.23) with its temporalQ (Table 5.2.21-1)."""
    if request.method != "POST":
        raise MethodNotAllowed(f"{request.method} is not supported on {TEMPORAL_QUERY_PATH}", headers={"Allow": "POST"})
    params = request.query_params
    check_known(params, {"limit", "offset", "count", "options", "format", "local", "lastN", "aggrMethods", "aggrPeriodDuration"})
    settings = request.app.state.settings
    page = parse_page(params, default_limit=settings.default_page_size, max_limit=settings.max_page_size)
    call = await prepare(request, offered=ENTITY_MEDIA_TYPES, body=True)
    body = call.body
    if not isinstance(body, dict) or body.get("type") != "Query":
        raise BadRequestData('the body must be a Query: a JSON object with "type": "Query"')
    unknown = set(body) - _QUERY_MEMBERS
    if unknown:
        raise BadRequestData(f"unsupported Query members: {', '.join(sorted(unknown))}")
    temporal_q = body.get("temporalQ", {})
    if not isinstance(temporal_q, dict) or set(temporal_q) - _TEMPORAL_Q_MEMBERS:
        raise BadRequestData(f"temporalQ must be an object with members among {', '.join(sorted(_TEMPORAL_Q_MEMBERS))}")
    merged = {**{k: v for k, v in params.items() if k in _TEMPORAL_PARAMS}, **temporal_q}
    temporal, form = _temporal_params(merged, None)
    tm = call.term_map
    selectors = tuple(_selector_of(item, tm) for item in _list(body.get("entities", []), "entities"))
    attrs = body.get("attrs")
    if attrs is not None and not (isinstance(attrs, list) and all(isinstance(a, str) for a in attrs)):
        raise BadRequestData("attrs must be an array of attribute names")
    query = _entity_query(
        tm,
        selectors=selectors,
        attrs=attrs,
        q=_string(body.get("q"), "q"),
        geo=parse_geo_query_json(body["geoQ"]) if "geoQ" in body else None,
        scope=_string(body.get("scopeQ"), "scopeQ"),
    )
    result = await temporal_service(request).query(
        call.tenant, query, temporal, form, limit=page.limit, offset=page.offset, count=page.count
    )
    return _page_response(call, result, temporal, form, TEMPORAL_QUERY_PATH, params, page)


def _temporal_params(params: Any, dataset_ids: str | None) -> tuple[TemporalQuery, TemporalRepresentation]:
    datasets = parse_dataset_ids(dataset_ids)
    temporal = parse_temporal_query(
        _text(params.get("timerel"), "timerel"),
        _text(params.get("timeAt"), "timeAt"),
        _text(params.get("endTimeAt"), "endTimeAt"),
        _text(params.get("timeproperty"), "timeproperty"),
        params.get("lastN"),
        tuple(sorted("" if d == "@none" else d for d in datasets)) if datasets is not None else None,
    )
    methods = params.get("aggrMethods")
    form = parse_representation(
        _text(params.get("options"), "options"),
        _text(params.get("format"), "format"),
        methods if isinstance(methods, list) else _text(methods, "aggrMethods"),
        _text(params.get("aggrPeriodDuration"), "aggrPeriodDuration"),
    )
    return temporal, form


def _text(value: Any, name: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise BadRequestData(f"{name} must be a string")
    return value


def _page_response(
    call: Call,
    result: TemporalResult,
    temporal: TemporalQuery,
    form: TemporalRepresentation,
    path: str,
    params: Any,
    page: Page,
) -> Response:
    """A page of entities, with the entity paging headers (Link rel=next/prev, NGSILD-Results-Count)."""
    bodies = [_render_one(entity, call.term_map, temporal, form) for entity in result.entities]
    response = _respond(call, bodies, result)
    total = result.total if result.total is not None else page.offset + len(result.entities) + int(result.more_entities)
    for name, value in page_links(path, params, page, total).items():
        if name == "Link":
            response.headers.append(name, value)
        else:
            response.headers[name] = value
    return response


def _render_one(entity: Any, tm: TermMap, temporal: TemporalQuery, form: TemporalRepresentation) -> dict[str, Any]:
    if form.form == AGGREGATED_VALUES:
        assert form.aggregation is not None
        return render_aggregated(entity, tm, form.aggregation.methods)
    if form.form == TEMPORAL_VALUES:
        return render_temporal_values(entity, tm, timeproperty=temporal.timeproperty)
    return render_normalized(entity, tm, sys_attrs=form.sys_attrs)


def _respond(call: Call, body: Any, result: TemporalResult) -> Response:
    status = 206 if result.content_range is not None else 200
    response = ld_response(
        body, media_type=call.media_type, context=call.response_context, context_url=call.context_url, status=status
    )
    if result.content_range is not None:
        response.headers["Content-Range"] = result.content_range.header()
    return response


# -- /temporal/entities/{entityId}[/attrs[/{attrId}[/{instanceId}]]] ---------------------------


async def temporal_item(request: Request) -> Response:
    raw_path = request.scope.get("raw_path") or request.scope["path"].encode()
    tail = raw_path.decode("latin-1").split("?")[0][len(TEMPORAL_PATH) + 1 :]
    if not tail:
        return await temporal_collection(request)
    segments = [unquote(segment) for segment in tail.split("/")]
    if len(segments) > 1 and segments[-1] == "":
        segments.pop()
    count = len(segments)
    if not segments[0] or count > 4 or (count >= 2 and segments[1] != "attrs") or (count >= 3 and not all(segments[2:])):
        raise ResourceNotFound(f"no resource at {request.url.path}")
    routes = _ROUTES[count]
    handler = routes.get(request.method)
    if handler is None:
        allowed = ", ".join(routes) or "none"
        raise MethodNotAllowed(
            f"{request.method} is not supported here; allowed: {allowed}", headers={"Allow": ", ".join(routes)}
        )
    normalize.check_entity_id(segments[0], "the entity id in the URL")
    return await handler(request, temporal_service(request), segments)


async def _retrieve(request: Request, service: TemporalService, segments: list[str]) -> Response:
    params = request.query_params
    check_known(params, _RETRIEVE_PARAMS)
    temporal, form = _temporal_params(params, params.get("datasetId"))
    call = await prepare(request, offered=ENTITY_MEDIA_TYPES)
    names = split_list(params.get("attrs"), "attrs")
    attrs = frozenset(call.term_map.expand_term(name) for name in names) if names else None
    result = await service.retrieve(call.tenant, segments[0], temporal, form, attrs=attrs)
    types = split_list(params.get("type"), "type")
    if types and not {call.term_map.expand_type(name) for name in types} & set(result.entities[0].types):
        raise ResourceNotFound(f"entity {segments[0]} is not of type {', '.join(types)}")
    body = _render_one(result.entities[0], call.term_map, temporal, form)
    return _respond(call, body, result)


async def _delete_entity(request: Request, service: TemporalService, segments: list[str]) -> Response:
    check_known(request.query_params, {"local"})
    call = await prepare(request)
    await service.delete_entity(call.tenant, segments[0])
    return no_content()


async def _append_attributes(request: Request, service: TemporalService, segments: list[str]) -> Response:
    check_known(request.query_params, {"local"})
    call = await prepare(request, body=True)
    fragment = parse_temporal_entity(call.body, entity_id=segments[0])
    await service.append_attributes(call.tenant, segments[0], expand_fragment(fragment, call.term_map), now_iso())
    return no_content()


async def _delete_attribute(request: Request, service: TemporalService, segments: list[str]) -> Response:
    params = request.query_params
    check_known(params, {"datasetId", "deleteAll", "local"})
    delete_all = parse_bool(params.get("deleteAll"), "deleteAll")
    dataset_id = params.get("datasetId")
    if dataset_id is not None and dataset_id != "@none":
        normalize.check_entity_id(dataset_id, "datasetId")
    call = await prepare(request)
    attribute = call.term_map.expand_term(normalize.check_name(segments[2]))
    await service.delete_attribute(
        call.tenant, segments[0], attribute, dataset_id=None if dataset_id == "@none" else dataset_id, delete_all=delete_all
    )
    return no_content()


async def _modify_instance(request: Request, service: TemporalService, segments: list[str]) -> Response:
    check_known(request.query_params, {"local"})
    call = await prepare(request, body=True, body_types=ENTITY_MEDIA_TYPES + (MERGE_PATCH,))
    name = normalize.check_attribute_name(segments[2])
    instance = normalize.parse_instance(name, call.body, partial=True)
    expanded = expand_fragment({name: [instance]}, call.term_map)
    attribute = call.term_map.expand_term(name)
    await service.modify_instance(call.tenant, segments[0], attribute, segments[3], expanded[attribute][0], now_iso())
    return no_content()


async def _delete_instance(request: Request, service: TemporalService, segments: list[str]) -> Response:
    check_known(request.query_params, {"local"})
    call = await prepare(request)
    attribute = call.term_map.expand_term(normalize.check_name(segments[2]))
    await service.delete_instance(call.tenant, segments[0], attribute, segments[3])
    return no_content()


_ROUTES: dict[int, dict[str, Handler]] = {
    1: {"GET": _retrieve, "DELETE": _delete_entity},
    2: {"POST": _append_attributes},
    3: {"DELETE": _delete_attribute},
    4: {"PATCH": _modify_instance, "DELETE": _delete_instance},
}


# -- request bodies ---------------------------------------------------------------------------


def parse_temporal_entity(body: Any, *, entity_id: str | None = None) -> dict[str, Any]:
    """An EntityTemporal (clause 5.2.20): each attribute an array of instances (normalized), or the
    simplified form {"type": ..., "values": [[value, observedAt], ...]}. `entity_id`: from the URL
    (POST .../attrs), where id and type may be left out."""
    if not isinstance(body, dict):
        raise BadRequestData("a temporal entity must be a JSON object")
    entity: dict[str, Any] = {}
    if entity_id is None:
        if "id" not in body or "type" not in body:
            raise BadRequestData("a temporal entity needs an id and a type")
        entity["id"] = normalize.check_entity_id(body["id"])
    elif "id" in body and body["id"] != entity_id:
        raise BadRequestData(f"the id in the body ({body['id']!r}) differs from the id in the URL")
    for name, raw in body.items():
        if name in ("id", "@context", "createdAt", "modifiedAt", "deletedAt"):
            continue
        if name == "expiresAt":  # the entity's: an expiry is for current entities (clause 4.22), not history
            raise BadRequestData("a temporal entity has no expiresAt; expiresAt is kept on the current entity")
        if name == "type":
            entity["type"] = normalize.parse_types(raw)
        elif name == "scope":
            entity["scope"] = normalize.parse_scope(raw)
        elif name in normalize.RESERVED_ATTRIBUTE_NAMES:
            raise BadRequestData(f"{name!r} is a core NGSI-LD term and cannot name an attribute (clause 4.5.1)")
        else:
            entity[normalize.check_name(name)] = _temporal_attribute(name, raw)
    return entity


def _temporal_attribute(name: str, raw: Any) -> list[dict[str, Any]]:
    items = raw if isinstance(raw, list) else [raw]
    if not items:
        raise BadRequestData(f"attribute {name}: an empty array of instances")
    instances: list[dict[str, Any]] = []
    for item in items:
        pairs_member = next((member for member in _SIMPLIFIED_TYPES if isinstance(item, dict) and member in item), None)
        if pairs_member is None:
            instances.append(normalize.parse_instance(name, item))
            continue
        attribute_type = item.get("type", _SIMPLIFIED_TYPES[pairs_member])
        member = normalize.ATTRIBUTE_TYPES.get(attribute_type, "value")
        pairs = item[pairs_member]
        if not isinstance(pairs, list) or not all(isinstance(pair, list) and len(pair) == 2 for pair in pairs):
            raise BadRequestData(f"attribute {name}: {pairs_member} must be an array of [value, observedAt] pairs")
        extra = {key: value for key, value in item.items() if key in ("datasetId", "unitCode")}
        for value, observed_at in pairs:
            instances.append(
                normalize.parse_instance(name, {"type": attribute_type, member: value, "observedAt": observed_at, **extra})
            )
    return instances


__all__ = ["TEMPORAL_PATH", "TEMPORAL_QUERY_PATH", "parse_temporal_entity", "query_post", "temporal_collection", "temporal_item"]
