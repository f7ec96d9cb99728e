# SPDX-License-Identifier: EUPL-1.2
"""Expand a normalized entity's names to IRIs; the stored ("expanded") form of the broker.

Like Orion-LD, only names are expanded: attribute and sub-attribute names, entity types,
VocabProperty values, objectType, and the keys of compound Property values. Values otherwise
stay the JSON the client sent (GeoJSON, JsonProperty, language maps, object ids). The input is
already normalized and validated (broker.entities); this walk only checks the shapes it relies on.
The shape of the result is described in broker/ld/__init__.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from broker.errors import BadRequestData
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

# Keywords whose value is a literal inside a compound value; other keywords (@list, @set, ...) hold JSON-LD.
LITERAL_KEYWORDS = frozenset(("@value", "@id", "@language", "@direction", "@index"))
# The instance members whose values hold names to expand (expand_member); the others stay as given.
EXPANDED_MEMBERS = frozenset(("value", "valueList", "vocab", "objectType"))
# Deeper input is refused rather than left to exhaust the interpreter's stack.
MAX_NESTING = 100


def expand_entity(compacted_entity: CompactedEntity, term_map: TermMap) -> ExpandedEntity:
    """Every attribute becomes a list of instances; "type" becomes a list of IRIs; "@context" is dropped."""
    expanded_entity: ExpandedEntity = {}
    names: dict[str, str] = {}
    for name, value in compacted_entity.items():
        if name == "@context":
            continue
        if name == "type":
            expanded_entity["type"] = expand_types(value, term_map)
        elif name in ENTITY_MEMBERS:
            expanded_entity[name] = value
        else:
            iri = attribute_iri(name, term_map, names)
            expanded_entity[iri] = expand_attribute(value, term_map, name=name)
    return expanded_entity


def expand_fragment(fragment: CompactedEntity, term_map: TermMap) -> ExpandedEntity:
    """Attributes without id and type, as in PATCH or POST .../attrs bodies; core members pass as in an entity."""
    return expand_entity(fragment, term_map)


def expand_attribute(value: Any, term_map: TermMap, *, name: str = "attribute") -> list[ExpandedInstance]:
    """One instance (an object) or several (an array of objects, one per datasetId) -> a list."""
    instances = value if isinstance(value, list) else [value]
    if not instances:
        raise BadRequestData(f"{name!r} has an empty array of instances")
    return [expand_instance(instance, term_map, name=name) for instance in instances]


def expand_instance(instance: CompactedInstance, term_map: TermMap, *, name: str = "attribute") -> ExpandedInstance:
    return _expand_instance(instance, term_map, name, 0)


def _expand_instance(instance: CompactedInstance, term_map: TermMap, name: str, depth: int) -> ExpandedInstance:
    if depth > MAX_NESTING:
        raise BadRequestData(f"sub-attributes of {name!r} are nested deeper than {MAX_NESTING} levels")
    if not isinstance(instance, dict):
        raise BadRequestData(f"{name!r} must be an object (or an array of objects), not {type(instance).__name__}")
    attribute_type = instance.get("type")
    expanded: ExpandedInstance = {}
    names: dict[str, str] = {}
    for key, value in instance.items():
        if key in INSTANCE_MEMBERS:
            expanded[key] = expand_member(key, value, attribute_type, term_map) if key in EXPANDED_MEMBERS else value
        else:
            iri = attribute_iri(key, term_map, names)
            if isinstance(value, list):
                raise BadRequestData(f"sub-attribute {key!r} of {name!r} must be a single object, not an array")
            expanded[iri] = _expand_instance(value, term_map, key, depth + 1)
    return expanded


def expand_types(value: Any, term_map: TermMap) -> list[str]:
    types = value if isinstance(value, list) else [value]
    if not types or not all(isinstance(item, str) and item for item in types):
        raise BadRequestData("entity type must be a non-empty string or an array of them")
    return [term_map.expand_type(item) for item in types]


def attribute_iri(name: str, term_map: TermMap, seen: dict[str, str]) -> str:
    """The IRI of an attribute or sub-attribute name; `seen` (IRI -> name) refuses two names of one IRI."""
    iri = term_map.expand_term(name)
    if iri.startswith("@"):
        raise BadRequestData(f"{name!r} is a JSON-LD keyword (or an alias of one), not an attribute name")
    if iri in seen:
        raise BadRequestData(f"{seen[iri]!r} and {name!r} are the same attribute ({iri})")
    seen[iri] = name
    return iri


def expand_member(key: str, value: Any, attribute_type: Any, term_map: TermMap) -> Any:
    """One member of an attribute instance as stored; only EXPANDED_MEMBERS change."""
    if key == "value":
        return value if attribute_type == "GeoProperty" or is_geojson_geometry(value) else _expand_value(value, term_map, 0)
    if key == "valueList":
        return _expand_value(value, term_map, 0)
    if key in ("vocab", "objectType"):
        return map_strings(value, term_map.expand_type)
    return value


def _expand_value(value: Any, term_map: TermMap, depth: int) -> Any:
    """Keys of JSON objects inside a Property value become IRIs, as a JSON-LD node's keys would.

    A key that is a keyword alias ("type", "id") keeps the spelling the client used, so that
    compaction gives the same value back; its value is treated as the keyword's.
    """
    if depth > MAX_NESTING:
        raise BadRequestData(f"a value is nested deeper than {MAX_NESTING} levels")
    if isinstance(value, list):
        return [_expand_value(item, term_map, depth + 1) for item in value]
    if not isinstance(value, dict):
        return value
    expanded: dict[str, Any] = {}
    seen: dict[str, str] = {}
    for key, item in value.items():
        keyword = key if key.startswith("@") else None
        name = key
        if keyword is None:
            iri = term_map.expand_term(key)
            if iri.startswith("@"):
                keyword = iri
            else:
                name = iri
                if iri in seen:
                    raise BadRequestData(f"{seen[iri]!r} and {key!r} are the same member ({iri}) of a value")
                seen[iri] = key
        if keyword == "@type":
            expanded[name] = map_strings(item, term_map.expand_type)
        elif keyword in LITERAL_KEYWORDS:
            expanded[name] = item
        else:
            expanded[name] = _expand_value(item, term_map, depth + 1)
    return expanded


def map_strings(value: Any, convert: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return convert(value)
    if isinstance(value, list):
        return [convert(item) if isinstance(item, str) else item for item in value]
    return value
