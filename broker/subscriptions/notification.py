# SPDX-License-Identifier: EUPL-1.2
"""Build the Notification (ETSI GS CIM 009 v1.9.1 clause 5.3.1): id, type, subscriptionId, notifiedAt, data.

Each notified entity is shaped as a retrieval would shape it (broker.entities.representation):
attributes / pick / omit / sysAttrs / datasetId select on the expanded entity, then it is
compacted with the subscription's @context (jsonldContext, else the creating request's) and put
into the format asked for (normalized, concise, keyValues = simplified), with lang applied.

- An entity deleted (entityDeleted) is exactly {id, type, deletedAt}.
- An attribute instance deleted (attributeDeleted) is shown with its value member set to
  "urn:ngsi-ld:null" and deletedAt, so the receiver sees what went.
- showChanges (clause 5.2.14) adds to each attribute instance that existed before the change its
  previous value: previousValue (Property, GeoProperty), previousObject (Relationship),
  previousLanguageMap, previousJson, previousVocab, previousValueList (ListProperty) and
  previousObjectList (ListRelationship).
- Accept application/ld+json puts the @context into each entity; application/geo+json makes data a
  FeatureCollection (geometry from "location").
"""

from __future__ import annotations

import uuid
from typing import Any

from broker.ld.members import ENTITY_MEMBERS
from broker.entities import representation
from broker.ld import TermMap, compact_entity, compact_instance, compact_types
from broker.subscriptions.compiled import CompiledSubscription
from broker.subscriptions.matcher import EntityEvent
from broker.subscriptions.model import now_iso
from broker.subscriptions.notifiers import GEO_JSON, JSON_LD

NGSI_LD_NULL = "urn:ngsi-ld:null"
LOCATION_IRI = "https://uri.etsi.org/ngsi-ld/location"
# The member holding an attribute's value, by attribute type, and its showChanges companion.
VALUE_MEMBERS = {
    "Property": "value",
    "GeoProperty": "value",
    "Relationship": "object",
    "LanguageProperty": "languageMap",
    "VocabProperty": "vocab",
    "JsonProperty": "json",
    "ListProperty": "valueList",
    "ListRelationship": "objectList",
}
PREVIOUS_MEMBERS = {
    "value": "previousValue",
    "object": "previousObject",
    "languageMap": "previousLanguageMap",
    "json": "previousJson",
    "vocab": "previousVocab",
    "valueList": "previousValueList",
    "objectList": "previousObjectList",
}
_CORE = ENTITY_MEMBERS  # the core members of an entity (broker.ld.members)


def build_notification(sub: CompiledSubscription, data: list[dict[str, Any]]) -> dict[str, Any]:
    body: Any = data
    if sub.notification.accept == GEO_JSON:
        body = {"type": "FeatureCollection", "features": [_feature(entity) for entity in data]}
    return {
        "id": f"urn:ngsi-ld:Notification:{uuid.uuid4()}",
        "type": "Notification",
        "subscriptionId": sub.id,
        "notifiedAt": now_iso(),
        "data": body,
    }


def render_event(sub: CompiledSubscription, event: EntityEvent, fired: frozenset[str]) -> dict[str, Any]:
    """One entity of the data of a change notification (shared by the subscriptions that render alike)."""
    key = (sub.render_key, fired)
    rendered = event.rendered.get(key)
    if rendered is None:
        rendered = event.rendered[key] = _render_event(sub, event, fired)
    return rendered


def _render_event(sub: CompiledSubscription, event: EntityEvent, fired: frozenset[str]) -> dict[str, Any]:
    tm = sub.term_map
    if event.after is None:
        assert event.before is not None
        deleted = {"id": event.before["id"], "type": compact_types(event.before["type"], tm), "deletedAt": event.at}
        return _with_context(sub, deleted)
    params = sub.notification
    selected = representation.select(
        event.after,
        attrs=params.attributes,
        pick=params.pick,
        omit=params.omit,
        sys_attrs=params.sys_attrs,
        dataset_ids=params.dataset_ids,
    )
    if event.before is not None and "attributeDeleted" in fired:
        _add_deleted_instances(selected, event, sub)
    compacted = compact_entity(selected, tm)
    if params.show_changes and event.before is not None:
        _add_previous_values(compacted, selected, event.before, tm)
    return _with_context(sub, _shape(compacted, params.form, params.lang))


def render_entity(sub: CompiledSubscription, expanded_entity: dict[str, Any]) -> dict[str, Any]:
    """One entity of the data of a periodic notification (its current state)."""
    params = sub.notification
    selected = representation.select(
        expanded_entity,
        attrs=params.attributes,
        pick=params.pick,
        omit=params.omit,
        sys_attrs=params.sys_attrs,
        dataset_ids=params.dataset_ids,
    )
    return _with_context(sub, _shape(compact_entity(selected, sub.term_map), params.form, params.lang))


def _shape(compacted: dict[str, Any], form: str, lang: str | None) -> dict[str, Any]:
    if form == "keyValues":
        return representation.to_key_values(compacted, lang)
    if lang is not None:
        compacted = representation.apply_lang(compacted, lang)
    if form == "concise":
        return representation.to_concise(compacted)
    return compacted


def _with_context(sub: CompiledSubscription, entity: dict[str, Any]) -> dict[str, Any]:
    if sub.notification.accept == JSON_LD:
        entity["@context"] = sub.context
    return entity


def _add_deleted_instances(selected: dict[str, Any], event: EntityEvent, sub: CompiledSubscription) -> None:
    """Instances present before and gone now, as NGSI-LD Null, if the selection shows their attribute."""
    assert event.before is not None and event.after is not None
    params = sub.notification
    for key, old_instances in event.before.items():
        if key in _CORE or not isinstance(old_instances, list):
            continue
        if params.attributes is not None and key not in params.attributes:
            continue
        if (params.pick is not None and key not in params.pick) or (params.omit is not None and key in params.omit):
            continue
        remaining = {instance.get("datasetId") for instance in event.after.get(key, ())}
        for instance in old_instances:
            dataset_id = instance.get("datasetId")
            if dataset_id in remaining:
                continue
            if params.dataset_ids is not None and (dataset_id or "@none") not in params.dataset_ids:
                continue
            attribute_type = instance.get("type", "Property")
            marker: dict[str, Any] = {"type": attribute_type, VALUE_MEMBERS.get(attribute_type, "value"): NGSI_LD_NULL}
            if dataset_id is not None:
                marker["datasetId"] = dataset_id
            marker["deletedAt"] = event.at
            # A new list: select() may hand out the event's own list (sysAttrs), which every subscription reads.
            selected[key] = [*selected.get(key, ()), marker]


def _add_previous_values(
    compacted: dict[str, Any], selected: dict[str, Any], before: dict[str, Any], tm: TermMap
) -> None:
    for key, instances in selected.items():
        if key in _CORE or not isinstance(instances, list):
            continue
        previous = {instance.get("datasetId"): instance for instance in before.get(key, ())}
        name = tm.compact_iri(key)
        shown = compacted.get(name)
        if shown is None:
            continue
        shown_list = shown if isinstance(shown, list) else [shown]
        for instance, out in zip(instances, shown_list, strict=False):
            old = previous.get(instance.get("datasetId"))
            if old is None:
                continue
            member = VALUE_MEMBERS.get(old.get("type", "Property"), "value")
            previous_member = PREVIOUS_MEMBERS.get(member)
            if previous_member is None or member not in old:
                continue
            # Compact the old value exactly as the current one was compacted.
            out[previous_member] = compact_instance({"type": old.get("type"), member: old[member]}, tm)[member]


def _feature(entity: dict[str, Any]) -> dict[str, Any]:
    """Clause 4.5.16: an entity as a GeoJSON Feature, its geometry from the location GeoProperty."""
    location = entity.get("location")
    geometry = None
    if isinstance(location, dict):
        geometry = location.get("value") if location.get("type") == "GeoProperty" or "value" in location else location
    elif isinstance(location, list) and location and isinstance(location[0], dict):
        geometry = location[0].get("value")
    properties = {key: value for key, value in entity.items() if key not in ("id", "@context")}
    feature: dict[str, Any] = {"id": entity.get("id"), "type": "Feature", "geometry": geometry, "properties": properties}
    if "@context" in entity:
        feature["@context"] = entity["@context"]
    return feature


__all__ = ["NGSI_LD_NULL", "PREVIOUS_MEMBERS", "build_notification", "render_entity", "render_event"]
