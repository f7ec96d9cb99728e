# SPDX-License-Identifier: EUPL-1.2
"""Rendering entities for responses: one entity (GET /entities/{id}) and pages of them (queries).

Selection happens on the expanded entity (representation.select); this module compacts with the
request's TermMap, applies the representation and lang, and builds GeoJSON Features.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from broker.api.call import Call
from broker.api.negotiation import GEO_JSON
from broker.api.params import Representation, split_list
from broker.api.responses import json_response, ld_response
from broker.entities import normalize, representation
from broker.entities.linked import relationship_targets
from broker.ld import TermMap, compact_entity

ENTITIES_PATH = "/ngsi-ld/v1/entities"


def parse_dataset_ids(value: str | None) -> set[str] | None:
    """datasetId=a,b (Table 6.5.3.1-1): URIs, "@none" for the default instance."""
    names = split_list(value, "datasetId")
    if names is None:
        return None
    for name in names:
        if name != "@none":
            normalize.check_entity_id(name, "datasetId")
    return set(names)


def geo_response(body: dict[str, Any], call: Call, prefer: str | None) -> Response:
    """Clause 6.3.6: GeoJSON carries its @context in the body, unless Prefer: body=json asks for a Link."""
    if prefer is not None and "body=json" in prefer.replace(" ", "").lower():
        return ld_response(body, media_type=GEO_JSON, context=call.response_context, context_url=call.context_url)
    return json_response({**body, "@context": call.response_context}, media_type=GEO_JSON)


def render_entity(selected: dict[str, Any], tm: TermMap, form: Representation, lang: str | None) -> dict[str, Any]:
    compacted = compact_entity(selected, tm)
    if form.form == "keyValues":
        return representation.to_key_values(compacted, lang)
    if lang is not None:
        compacted = representation.apply_lang(compacted, lang)
    if form.form == "concise":
        return representation.to_concise(compacted)
    return compacted


def to_feature(
    body: dict[str, Any], entity: dict[str, Any], geometry_iri: str, dataset_ids: set[str] | None = None
) -> dict[str, Any]:
    """Clause 4.5.16: an entity as a GeoJSON Feature; geometry from the chosen GeoProperty instance."""
    geometry = None
    wanted = dataset_ids or {"@none"}
    for instance in entity.get(geometry_iri, []):
        if instance.get("type") == "GeoProperty" and instance.get("datasetId", "@none") in wanted:
            geometry = instance.get("value")
            break
    properties = {key: value for key, value in body.items() if key != "id"}
    return {"id": body.get("id"), "type": "Feature", "geometry": geometry, "properties": properties}


def shown_members(entity: dict[str, Any], selected: dict[str, Any]) -> dict[str, Any]:
    """What join starts from: the members `select` kept (attrs, pick, omit, datasetId), in the order and
    with the instances the rendered body has, and the entity's id (pick may leave it out)."""
    return {**selected, "id": entity["id"]}


def render_with_links(
    entity: dict[str, Any],
    body: dict[str, Any],
    linked: dict[str, dict[str, Any]],
    tm: TermMap,
    form: Representation,
    lang: str | None,
    depth: int,
    path: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """join=inline: each Relationship carries its target entity (as "entity"; in keyValues the
    value is the target entity), to `depth` hops, never looping back along the path. `entity` holds what
    `body` shows (shown_members), so that the n-th instance of an attribute is the body's n-th."""
    if depth <= 0:
        return body
    path = path | {entity["id"]}
    for iri, index, target_id in relationship_targets(entity):
        target = linked.get(target_id)
        name = tm.compact_iri(iri)
        if target is None or target_id in path or name not in body:
            continue
        selected = representation.select(target, sys_attrs=form.sys_attrs)
        rendered = render_with_links(
            target, render_entity(selected, tm, form, lang), linked, tm, form, lang, depth - 1, path
        )
        holder = body[name]
        if form.form == "keyValues":
            if isinstance(holder, dict) and "dataset" in holder:
                continue
            body[name] = rendered
        elif isinstance(holder, list):
            if index < len(holder) and isinstance(holder[index], dict):
                holder[index]["entity"] = rendered
        elif isinstance(holder, dict):
            holder["entity"] = rendered
    return body


__all__ = ["ENTITIES_PATH", "render_entity", "to_feature", "parse_dataset_ids", "geo_response", "render_with_links", "shown_members"]
