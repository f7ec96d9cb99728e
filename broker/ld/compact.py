# SPDX-License-Identifier: EUPL-1.2
"""Compact a stored (expanded) entity with a request's TermMap: the inverse of broker.ld.expand.

The result is the normalized representation: an attribute with one instance is a single
object, several instances stay an array, and a single entity type is a string.
"""

from __future__ import annotations

from typing import Any

from broker.ld.expand import LITERAL_KEYWORDS, map_strings
from broker.ld.members import (
    ENTITY_MEMBERS,
    INSTANCE_MEMBERS,
    CompactedEntity,
    CompactedInstance,
    ExpandedEntity,
    ExpandedInstance,
    is_geojson_geometry,
)
from broker.ld.term_map import TermMap


def compact_entity(expanded_entity: ExpandedEntity, term_map: TermMap) -> CompactedEntity:
    compacted_entity: CompactedEntity = {}
    for name, value in expanded_entity.items():
        if name == "type":
            compacted_entity["type"] = compact_types(value, term_map)
        elif name in ENTITY_MEMBERS:
            compacted_entity[name] = value
        else:
            compacted_entity[_free_name(term_map.compact_iri(name), name, compacted_entity)] = compact_attribute(
                value, term_map
            )
    return compacted_entity


def compact_fragment(expanded_fragment: ExpandedEntity, term_map: TermMap) -> CompactedEntity:
    return compact_entity(expanded_fragment, term_map)


def compact_attribute(
    instances: list[ExpandedInstance], term_map: TermMap
) -> CompactedInstance | list[CompactedInstance]:
    compacted = [compact_instance(instance, term_map) for instance in instances]
    return compacted[0] if len(compacted) == 1 else compacted


def compact_instance(instance: ExpandedInstance, term_map: TermMap) -> CompactedInstance:
    attribute_type = instance.get("type")
    compacted: CompactedInstance = {}
    for key, value in instance.items():
        if key in INSTANCE_MEMBERS:
            compacted[key] = _compact_member(key, value, attribute_type, term_map)
        else:
            compacted[_free_name(term_map.compact_iri(key), key, compacted)] = compact_instance(value, term_map)
    return compacted


def compact_types(types: list[str], term_map: TermMap) -> str | list[str]:
    compacted = [term_map.compact_type(iri) for iri in types]
    return compacted[0] if len(compacted) == 1 else compacted


def _free_name(term: str, iri: str, taken: dict[str, Any]) -> str:
    # Two IRIs can only compact to one name when an IRI reads as a compact IRI of a prefix
    # (JSON-LD calls that an error); keep the second one's IRI rather than lose it.
    return iri if term in taken else term


def _compact_member(key: str, value: Any, attribute_type: Any, term_map: TermMap) -> Any:
    if key == "value":
        return value if attribute_type == "GeoProperty" or is_geojson_geometry(value) else _compact_value(value, term_map)
    if key == "valueList":
        return _compact_value(value, term_map)
    if key in ("vocab", "objectType"):
        return map_strings(value, term_map.compact_type)
    return value


def _compact_value(value: Any, term_map: TermMap) -> Any:
    if isinstance(value, list):
        return [_compact_value(item, term_map) for item in value]
    if not isinstance(value, dict):
        return value
    compacted: dict[str, Any] = {}
    for key, item in value.items():
        # Keywords and keyword aliases were kept as the client spelled them (see expand._expand_value).
        keyword = key if key.startswith("@") else None
        name = key
        if keyword is None:
            expanded_key = term_map.expand_term(key)
            if expanded_key.startswith("@"):
                keyword = expanded_key
            else:
                name = _free_name(term_map.compact_iri(key), key, compacted)
        if keyword == "@type":
            compacted[name] = map_strings(item, term_map.compact_type)
        elif keyword in LITERAL_KEYWORDS:
            compacted[name] = item
        else:
            compacted[name] = _compact_value(item, term_map)
    return compacted
