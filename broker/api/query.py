# SPDX-License-Identifier: EUPL-1.2
"""GET /ngsi-ld/v1/entities and POST /ngsi-ld/v1/entityOperations/query (clauses 6.4.3.2, 6.23).

Both build one EntityQuery from the query languages of broker.query (names expanded with the
request's @context), let the store answer it, and render the page as GET /entities/{id} renders
one entity. Paging: limit/offset with relative Link headers rel="prev"/"next", count=true gives
NGSILD-Results-Count; the order is by entity id, stable across pages.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from broker.api.call import Call, prepare
from broker.api.negotiation import GEO_JSON, RETRIEVAL_MEDIA_TYPES
from broker.api.params import (
    Page,
    Representation,
    check_known,
    page_links,
    parse_page,
    parse_representation,
    split_list,
)
from broker.api.rendering import (
    ENTITIES_PATH,
    geo_response,
    parse_dataset_ids,
    render_entity,
    render_with_links,
    shown_members,
    to_feature,
)
from broker.api.responses import ld_response
from broker.entities import normalize, representation
from broker.entities.linked import linked_entities, parse_join
from broker.errors import BadRequestData
from broker.ld import TermMap
from broker.query import (
    expand_query,
    parse_geo_query_json,
    parse_geo_query_params,
    parse_q,
    parse_scope_query,
    parse_type_selection,
)
from broker.query.ast import GeoQuery, QNode, ScopeQuery, TypeExpr
from broker.store.base import EntityQuery, EntitySelector, OrderKey

QUERY_PATH = "/ngsi-ld/v1/entityOperations/query"
_GET_PARAMS = {
    "id", "idPattern", "type", "attrs", "q", "georel", "geometry", "coordinates", "geoproperty",
    "geometryProperty", "lang", "scopeQ", "options", "format", "limit", "offset", "count", "datasetId",
    "pick", "omit", "local", "join", "joinLevel", "orderBy",
}  # fmt: skip
_QUERY_MEMBERS = {"type", "entities", "attrs", "q", "geoQ", "scopeQ", "lang", "pick", "omit", "local", "@context"}


async def query_entities_get(request: Request) -> Response:
    params = request.query_params
    check_known(params, _GET_PARAMS)
    settings = request.app.state.settings
    page = parse_page(params, default_limit=settings.default_page_size, max_limit=settings.max_page_size)
    form = parse_representation(params.get("options"), params.get("format"))
    call = await prepare(request, offered=RETRIEVAL_MEDIA_TYPES)
    tm = call.term_map
    ids = split_list(params.get("id"), "id")
    selector = _selector(ids, params.get("idPattern"), params.get("type"), tm)
    geo = parse_geo_query_params(params.get("georel"), params.get("geometry"), params.get("coordinates"), params.get("geoproperty"))
    query = _entity_query(
        tm,
        selectors=(selector,) if selector != EntitySelector() else (),
        attrs=split_list(params.get("attrs"), "attrs"),
        q=params.get("q"),
        geo=geo,
        scope=params.get("scopeQ"),
        order_by=params.get("orderBy"),
    )
    if not (selector.types or query.attrs or query.q or query.geo):
        raise BadRequestData("a query needs at least one of type, attrs, q or a geo-query (clause 5.7.2.4)")
    return await _answer(request, call, query, page, form, params.get("lang"), params)


async def query_entities_post(request: Request) -> Response:
    """POST /entityOperations/query: the Query data type (clause 5.2.23) in the body."""
    params = request.query_params
    check_known(
        params, {"limit", "offset", "count", "options", "format", "local", "lang", "join", "joinLevel", "orderBy"}
    )
    settings = request.app.state.settings
    page = parse_page(params, default_limit=settings.default_page_size, max_limit=settings.max_page_size)
    form = parse_representation(params.get("options"), params.get("format"))
    call = await prepare(request, offered=RETRIEVAL_MEDIA_TYPES, body=True)
    body = call.body
    if not isinstance(body, dict) or body.get("type") != "Query":
        raise BadRequestData('the body must be a Query: a JSON object with "type": "Query"')
    unknown = set(body) - _QUERY_MEMBERS
    if unknown:
        raise BadRequestData(f"unsupported Query members: {', '.join(sorted(unknown))}")
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
        order_by=params.get("orderBy"),
    )
    if not (any(s.types for s in selectors) or query.attrs or query.q or query.geo):
        raise BadRequestData("a query needs at least one of entities with a type, attrs, q or geoQ")
    lang = params.get("lang") or _string(body.get("lang"), "lang")
    pick = body.get("pick")
    omit = body.get("omit")
    return await _answer(request, call, query, page, form, lang, params, pick=pick, omit=omit)


def _selector(ids: list[str] | None, id_pattern: str | None, types: str | None, tm: TermMap) -> EntitySelector:
    if ids is not None:
        for entity_id in ids:
            normalize.check_entity_id(entity_id)
    if id_pattern is not None:
        try:
            re.compile(id_pattern)
        except re.error as exc:
            raise BadRequestData(f"idPattern is not a valid regular expression: {exc}") from None
    type_expr: TypeExpr | None = expand_query(parse_type_selection(types), tm) if types is not None else None
    return EntitySelector(tuple(ids) if ids is not None else None, id_pattern, type_expr)


def _selector_of(item: Any, tm: TermMap) -> EntitySelector:
    if not isinstance(item, dict):
        raise BadRequestData("each item of entities must be an EntitySelector object")
    entity_id = item.get("id")
    return _selector(
        [entity_id] if entity_id is not None else None,
        _string(item.get("idPattern"), "idPattern"),
        _string(item.get("type"), "type"),
        tm,
    )


def _entity_query(
    tm: TermMap,
    *,
    selectors: tuple[EntitySelector, ...],
    attrs: list[str] | None,
    q: str | None,
    geo: GeoQuery | None,
    scope: str | None,
    order_by: str | None = None,
) -> EntityQuery:
    q_node: QNode | None = expand_query(parse_q(q), tm) if q is not None else None
    scope_node: ScopeQuery | None = parse_scope_query(scope) if scope is not None else None
    return EntityQuery(
        selectors=selectors,
        attrs=frozenset(name if name == "scope" else tm.expand_term(name) for name in attrs) if attrs else None,
        q=q_node,
        geo=expand_query(geo, tm) if geo is not None else None,
        scope=scope_node,
        order_by=_order_keys(order_by, tm),
    )


_ORDER_MEMBERS = {"value", "observedAt", "unitCode", "createdAt", "modifiedAt", "datasetId"}


def _order_keys(value: str | None, tm: TermMap) -> tuple[OrderKey, ...]:
    """orderBy=name[;asc|desc],... (the entity ordering of later spec versions; not in v1.9.1):
    id, createdAt, modifiedAt, an attribute (its value or object), or attribute.observedAt etc."""
    keys: list[OrderKey] = []
    for item in split_list(value, "orderBy") or ():
        name, _, direction = item.partition(";")
        if direction not in ("", "asc", "desc"):
            raise BadRequestData(f"orderBy direction must be asc or desc, not {direction!r}")
        descending = direction == "desc"
        if name in ("id", "createdAt", "modifiedAt"):
            keys.append(OrderKey(None, name, descending))
            continue
        attribute, _, member = name.partition(".")
        member = member or "value"
        if member not in _ORDER_MEMBERS:
            raise BadRequestData(f"orderBy can use an attribute's {', '.join(sorted(_ORDER_MEMBERS))}, not {member!r}")
        keys.append(OrderKey(tm.expand_term(normalize.check_name(attribute)), member, descending))
    return tuple(keys)


async def _answer(
    request: Request,
    call: Call,
    query: EntityQuery,
    page: Page,
    form: Representation,
    lang: str | None,
    params: Any,
    *,
    pick: Any = None,
    omit: Any = None,
) -> Response:
    tm = call.term_map
    if pick is None:
        pick = split_list(params.get("pick"), "pick")
    if omit is None:
        omit = split_list(params.get("omit"), "omit")
    if pick is not None and omit is not None:
        raise BadRequestData("pick and omit cannot be used together")
    dataset_ids = parse_dataset_ids(params.get("datasetId"))
    geometry_property = params.get("geometryProperty")
    if geometry_property is not None and call.media_type != GEO_JSON:
        raise BadRequestData("geometryProperty applies only to Accept: application/geo+json")
    join, join_level = parse_join(params.get("join"), params.get("joinLevel"))
    store = request.app.state.store
    entities, total = await store.query_entities(call.tenant, query, limit=page.limit, offset=page.offset, count=page.count)
    pick_set = _members(pick, tm)
    omit_set = _members(omit, tm)
    selections = [
        representation.select(
            entity, attrs=query.attrs, pick=pick_set, omit=omit_set, sys_attrs=form.sys_attrs, dataset_ids=dataset_ids
        )
        for entity in entities
    ]
    # What join starts from; without join (the hot path) no copy of each selection is made.
    shown = [shown_members(entity, selected) for entity, selected in zip(entities, selections, strict=True)] if join else selections
    linked = await linked_entities(store, call.tenant, shown, join_level) if join else {}
    bodies = []
    features = []
    for entity, selected, members in zip(entities, selections, shown, strict=True):
        body = render_entity(selected, tm, form, lang)
        if join == "inline":
            body = render_with_links(members, body, linked, tm, form, lang, join_level)
        bodies.append(body)
        if call.media_type == GEO_JSON:
            features.append(to_feature(body, entity, tm.expand_term(geometry_property or "location"), dataset_ids))
    if join == "flat":  # clause 4.5.23: the linked entities follow the page, once each
        bodies.extend(render_entity(representation.select(e, sys_attrs=form.sys_attrs), tm, form, lang) for e in linked.values())
    if call.media_type == GEO_JSON:
        response = geo_response({"type": "FeatureCollection", "features": features}, call, request.headers.get("prefer"))
    else:
        response = ld_response(bodies, media_type=call.media_type, context=call.response_context, context_url=call.context_url)
    path = ENTITIES_PATH if request.method == "GET" else QUERY_PATH
    for name, value in page_links(path, params, page, total if total is not None else _lower_bound(page, entities)).items():
        if name == "Link":
            response.headers.append("Link", value)
        else:
            response.headers[name] = value
    return response


def _lower_bound(page: Page, entities: list[Any]) -> int:
    # Without count=true the total is unknown: a full page means there may be a next one.
    return page.offset + len(entities) + (1 if len(entities) == page.limit else 0)


def _members(names: Any, tm: TermMap) -> set[str] | None:
    if names is None:
        return None
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise BadRequestData("pick and omit are lists of entity member names")
    return {name if name in ("id", "type", "scope") else tm.expand_term(name) for name in names}


def _list(value: Any, name: str) -> list[Any]:
    if not isinstance(value, list):
        raise BadRequestData(f"{name} must be an array")
    return value


def _string(value: Any, name: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise BadRequestData(f"{name} must be a string")
    return value


__all__ = ["QUERY_PATH", "query_entities_get", "query_entities_post"]
