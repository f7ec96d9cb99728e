# SPDX-License-Identifier: EUPL-1.2
"""The entity routes of the NGSI-LD API (ETSI GS CIM 009 clauses 6.4 to 6.7).

Entity ids are URIs and may hold '/' or '#', percent-encoded in the path; Starlette would decode
them before routing, so the item routes dispatch on the raw path's segments themselves.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote, unquote

from starlette.requests import Request
from starlette.responses import Response

from broker.api.call import Call, prepare
from broker.api.negotiation import (
    ENTITY_MEDIA_TYPES,
    GEO_JSON,
    MERGE_PATCH,
    RETRIEVAL_MEDIA_TYPES,
)
from broker.api.params import (
    check_known,
    parse_bool,
    parse_options,
    parse_representation,
    split_list,
)
from broker.api.query import query_entities_get
from broker.api.rendering import (
    ENTITIES_PATH,
    geo_response,
    parse_dataset_ids,
    render_entity,
    render_with_links,
    shown_members,
    to_feature,
)
from broker.api.responses import json_response, ld_response, no_content
from broker.entities import normalize, representation
from broker.entities.linked import linked_entities, parse_join
from broker.entities.operations import UpdateResult
from broker.entities.service import EntityService
from broker.errors import BadRequestData, MethodNotAllowed, ResourceNotFound
from broker.ld import TermMap, expand_entity, expand_fragment
from broker.query import expand_query, matches_types, parse_type_selection

_RETRIEVE_PARAMS = {
    "type", "attrs", "pick", "omit", "options", "format", "lang", "geometryProperty", "datasetId", "local",
    "join", "joinLevel",
}  # fmt: skip
_MERGE_BODY_TYPES = ENTITY_MEDIA_TYPES + (MERGE_PATCH,)

Handler = Callable[[Request, EntityService, list[str]], Awaitable[Response]]


def entity_location(entity_id: str) -> str:
    return f"{ENTITIES_PATH}/{quote(entity_id, safe=':')}"


def _service(request: Request) -> EntityService:
    service: EntityService = request.app.state.entity_service
    return service


# -- /entities ---------------------------------------------------------------------------------


async def entities_collection(request: Request) -> Response:
    if request.method == "DELETE":
        return await _purge_entities(request)
    if request.method == "GET":
        return await query_entities_get(request)
    if request.method != "POST":
        raise MethodNotAllowed(
            f"{request.method} is not supported on {ENTITIES_PATH}", headers={"Allow": "GET, POST, DELETE"}
        )
    check_known(request.query_params, {"local"})
    call = await prepare(request, body=True, creates=True)
    entity = normalize.parse_entity(call.body)
    expanded = expand_entity(entity, call.term_map)
    await _service(request).create_entity(call.tenant, expanded)
    return Response(status_code=201, headers={"Location": entity_location(entity["id"])})


async def _purge_entities(request: Request) -> Response:
    """DELETE /entities?type=... (clause 5.6.21, v1.9): delete every entity of the types given."""
    check_known(request.query_params, {"type", "local"})
    names = split_list(request.query_params.get("type"), "type")
    if not names:
        raise BadRequestData("purging entities needs a type= parameter (the spec forbids an unbounded delete)")
    call = await prepare(request)
    types = [call.term_map.expand_type(normalize.check_name(name, "entity type")) for name in names]
    await _service(request).purge_entities(call.tenant, types)
    return no_content()


# -- /entities/{entityId}[/attrs[/{attrId}]] ----------------------------------------------------


async def entity_item(request: Request) -> Response:
    raw_path = request.scope.get("raw_path") or request.scope["path"].encode()
    tail = raw_path.decode("latin-1").split("?")[0][len(ENTITIES_PATH) + 1 :]
    if not tail:
        return await entities_collection(request)  # /entities/ is the collection
    segments = [unquote(segment) for segment in tail.split("/")]
    if len(segments) > 1 and segments[-1] == "":
        segments.pop()  # a trailing slash names the same resource
    count = len(segments)
    if not segments[0] or count > 3 or (count >= 2 and segments[1] != "attrs") or (count == 3 and not segments[2]):
        raise ResourceNotFound(f"no resource at {request.url.path}")
    routes = _ROUTES[count]
    handler = routes.get(request.method)
    if handler is None:
        raise MethodNotAllowed(
            f"{request.method} is not supported here; allowed: {', '.join(routes)}",
            headers={"Allow": ", ".join(routes)},
        )
    normalize.check_entity_id(segments[0], "the entity id in the URL")
    return await handler(request, _service(request), segments)


async def _retrieve_entity(request: Request, service: EntityService, segments: list[str]) -> Response:
    params: dict[str, str] = {}
    if request.scope["query_string"]:
        check_known(request.query_params, _RETRIEVE_PARAMS)
        params = dict(request.query_params)  # each name once (checked); a plain dict reads faster
    call = await prepare(request, offered=RETRIEVAL_MEDIA_TYPES)
    form = parse_representation(params.get("options"), params.get("format"))
    tm = call.term_map
    type_text = params.get("type")
    type_expr = expand_query(parse_type_selection(type_text), tm) if type_text is not None else None
    attrs = _expand_names(split_list(params.get("attrs"), "attrs"), tm)
    pick = _expand_members(split_list(params.get("pick"), "pick"), tm)
    omit = _expand_members(split_list(params.get("omit"), "omit"), tm)
    if pick is not None and omit is not None:
        raise BadRequestData("pick and omit cannot be used together")
    dataset_ids = parse_dataset_ids(params.get("datasetId"))
    if params.get("geometryProperty") is not None and call.media_type != GEO_JSON:
        raise BadRequestData("geometryProperty applies only to Accept: application/geo+json (clause 5.7.1.4)")
    entity = await service.retrieve_entity(call.tenant, segments[0])
    if type_expr is not None and not matches_types(type_expr, entity):
        raise ResourceNotFound(f"entity {segments[0]} is not of type {type_text}")  # clause 4.17 selection
    if attrs is not None and not attrs.intersection(entity):
        raise ResourceNotFound(f"entity {segments[0]} has none of the attributes asked for (attrs)")
    selected = representation.select(
        entity, attrs=attrs, pick=pick, omit=omit, sys_attrs=form.sys_attrs, dataset_ids=dataset_ids
    )
    lang = params.get("lang")
    body = render_entity(selected, tm, form, lang)
    join, join_level = parse_join(params.get("join"), params.get("joinLevel"))
    if join is not None:
        shown = shown_members(entity, selected)
        linked = await linked_entities(service.store, call.tenant, [shown], join_level)
        if join == "inline":
            body = render_with_links(shown, body, linked, tm, form, lang, join_level)
        else:  # flat: the entity, then each linked entity once (clause 4.5.23)
            flat = [body] + [render_entity(representation.select(e, sys_attrs=form.sys_attrs), tm, form, lang) for e in linked.values()]
            return ld_response(flat, media_type=call.media_type, context=call.response_context, context_url=call.context_url)
    if call.media_type == GEO_JSON:
        geometry_property = tm.expand_term(params.get("geometryProperty") or "location")
        feature = to_feature(body, entity, geometry_property, dataset_ids)
        return geo_response(feature, call, request.headers.get("prefer"))
    return ld_response(body, media_type=call.media_type, context=call.response_context, context_url=call.context_url)


def _expand_names(names: list[str] | None, tm: TermMap) -> set[str] | None:
    return None if names is None else {name if name == "scope" else tm.expand_term(name) for name in names}


def _expand_members(names: list[str] | None, tm: TermMap) -> set[str] | None:
    if names is None:
        return None
    return {name if name in ("id", "type", "scope") else tm.expand_term(name) for name in names}


async def _delete_entity(request: Request, service: EntityService, segments: list[str]) -> Response:
    check_known(request.query_params, {"type", "local"})
    call = await prepare(request)
    await service.delete_entity(call.tenant, segments[0], types=_types(request, call))
    return no_content()


async def _replace_entity(request: Request, service: EntityService, segments: list[str]) -> Response:
    check_known(request.query_params, {"type", "local"})
    call = await prepare(request, body=True)
    fragment = normalize.parse_fragment(call.body, allow_null=False, entity_id=segments[0])
    await service.replace_entity(
        call.tenant, segments[0], expand_fragment(fragment, call.term_map), types=_types(request, call)
    )
    return no_content()


async def _merge_entity(request: Request, service: EntityService, segments: list[str]) -> Response:
    """Clause 5.6.17 with the parameters of Table 6.5.3.4-1 (format/options keyValues, lang, observedAt)."""
    params = request.query_params
    check_known(params, {"options", "format", "lang", "observedAt", "type", "local"})
    options = parse_options(params.get("options"), {"keyValues", "concise", "normalized", "simplified"})
    simplified = bool({"keyValues", "simplified"} & options) or params.get("format") in ("keyValues", "simplified")
    observed_at = params.get("observedAt")
    if observed_at is not None and not normalize.is_datetime(observed_at):
        raise BadRequestData(f"observedAt {observed_at!r} is not a DateTime (YYYY-MM-DDThh:mm:ssZ)")
    call = await prepare(request, body=True, body_types=_MERGE_BODY_TYPES)
    body = call.body
    if simplified and isinstance(body, dict):
        body = {k: v if k in normalize.ENTITY_MEMBERS else {"value": v} for k, v in body.items()}
    fragment = normalize.parse_fragment(body, allow_null=True, entity_id=segments[0], partial=True)
    await service.merge_entity(
        call.tenant,
        segments[0],
        expand_fragment(fragment, call.term_map),
        types=_types(request, call),
        lang=params.get("lang"),
        observed_at=observed_at,
    )
    return no_content()


def _types(request: Request, call: Call) -> list[str] | None:
    """The type= parameter of write operations: the entity must be of one of these types."""
    names = split_list(request.query_params.get("type"), "type")
    return [call.term_map.expand_type(name) for name in names] if names else None


async def _append_attributes(request: Request, service: EntityService, segments: list[str]) -> Response:
    params = request.query_params
    check_known(params, {"options", "type", "local"})
    options = parse_options(params.get("options"), {"noOverwrite"})
    call = await prepare(request, body=True)
    fragment = normalize.parse_fragment(call.body, allow_null=False, entity_id=segments[0])
    result = await service.append_attributes(
        call.tenant,
        segments[0],
        expand_fragment(fragment, call.term_map),
        no_overwrite="noOverwrite" in options,
        types=_types(request, call),
    )
    return _update_result_response(result, call)


async def _update_attributes(request: Request, service: EntityService, segments: list[str]) -> Response:
    check_known(request.query_params, {"type", "local"})
    call = await prepare(request, body=True, body_types=_MERGE_BODY_TYPES)
    fragment = normalize.parse_fragment(call.body, allow_null=False, entity_id=segments[0])
    if "type" in fragment or "scope" in fragment:
        raise BadRequestData("update attributes changes attributes only; use merge (PATCH /entities/{id}) for type or scope")
    result = await service.update_attributes(
        call.tenant, segments[0], expand_fragment(fragment, call.term_map), types=_types(request, call)
    )
    return _update_result_response(result, call)


def _update_result_response(result: UpdateResult, call: Call) -> Response:
    """204 when every attribute was written, else 207 with the spec's UpdateResult (5.2.18).

    Names are fully qualified: "only Fully Qualified Names shall be used in the payload body of
    error or partial success responses, as there is no context present" (clause 6.3.6).
    """
    if result.complete:
        return no_content()
    body = {
        "updated": list(result.updated),
        "notUpdated": [{"attributeName": iri, "reason": reason} for iri, reason in result.not_updated],
    }
    return json_response(body, status=207)


def _attribute_body(call: Call, segments: list[str], *, partial: bool) -> tuple[str, dict[str, Any]]:
    name = normalize.check_attribute_name(segments[2])
    instance = normalize.parse_instance(name, call.body, allow_null=partial, partial=partial)
    expanded = expand_fragment({name: [instance]}, call.term_map)
    iri = call.term_map.expand_term(name)
    return iri, expanded[iri][0]


async def _partial_update_attribute(request: Request, service: EntityService, segments: list[str]) -> Response:
    check_known(request.query_params, {"type", "local"})
    call = await prepare(request, body=True, body_types=_MERGE_BODY_TYPES)
    iri, instance = _attribute_body(call, segments, partial=True)
    await service.partial_update_attribute(call.tenant, segments[0], iri, instance, types=_types(request, call))
    return no_content()


async def _replace_attribute(request: Request, service: EntityService, segments: list[str]) -> Response:
    check_known(request.query_params, {"type", "local"})
    call = await prepare(request, body=True)
    iri, instance = _attribute_body(call, segments, partial=False)
    await service.replace_attribute(call.tenant, segments[0], iri, instance, types=_types(request, call))
    return no_content()


async def _delete_attribute(request: Request, service: EntityService, segments: list[str]) -> Response:
    params = request.query_params
    check_known(params, {"datasetId", "deleteAll", "type", "local"})
    delete_all = parse_bool(params.get("deleteAll"), "deleteAll")
    dataset_id = params.get("datasetId")
    if dataset_id is not None:
        normalize.check_entity_id(dataset_id, "datasetId")
    call = await prepare(request)
    name = segments[2]
    iri = "scope" if name == "scope" else call.term_map.expand_term(normalize.check_name(name))
    await service.delete_attribute(
        call.tenant, segments[0], iri, dataset_id=dataset_id, delete_all=delete_all, types=_types(request, call)
    )
    return no_content()


_ROUTES: dict[int, dict[str, Handler]] = {
    1: {"GET": _retrieve_entity, "DELETE": _delete_entity, "PUT": _replace_entity, "PATCH": _merge_entity},
    2: {"POST": _append_attributes, "PATCH": _update_attributes},
    3: {"PATCH": _partial_update_attribute, "PUT": _replace_attribute, "DELETE": _delete_attribute},
}

__all__ = ["ENTITIES_PATH", "entities_collection", "entity_item", "entity_location"]
