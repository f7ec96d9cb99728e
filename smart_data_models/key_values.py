# SPDX-License-Identifier: EUPL-1.2
"""Turn an NGSI-LD entity (normalized, concise or keyValues) into the keyValues document a schema checks.

Smart Data Models schemas describe the keyValues form: each attribute is its plain value. The
conversion follows the simplified representation of ETSI GS CIM 009 v1.9.1 clause 4.5.4, as the
broker renders it (broker.entities.representation): a Property or GeoProperty becomes its value,
a Relationship its object, a ListRelationship its list of objects, and a LanguageProperty,
VocabProperty or JsonProperty a one-member object ({"languageMap": ...}, {"vocab": ...},
{"json": ...}). Sub-attributes (observedAt, unitCode, ...) are not part of the schemas and are
dropped. An attribute with several instances (datasetId; in keyValues {"dataset": {id: value}})
yields one document per extra instance, so that every instance is checked. A JSON-LD value object ({"@type": "DateTime", "@value": ...})
counts as its @value, as the Smart Data Models examples write dates that way.

Each attribute is recognised on its own, so one entity may mix representations: an object with
an NGSI-LD attribute "type" is normalized; an object without "type" but with "value", "object",
"languageMap", "vocab", "valueList", "objectList" or "json" is concise; anything else is a
keyValues value (a GeoJSON geometry, a compound value, a string, ...). An object with both a
"value" and a "type" that is no NGSI-LD attribute type is an error: it is almost always a
mistyped attribute (the classic NGSI-v2 "Number"/"Text").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ATTRIBUTE_TYPES: dict[str, str] = {
    "Property": "value",
    "GeoProperty": "value",
    "Relationship": "object",
    "LanguageProperty": "languageMap",
    "VocabProperty": "vocab",
    "ListProperty": "valueList",
    "ListRelationship": "objectList",
    "JsonProperty": "json",
}
_CONCISE_KINDS: dict[str, str] = {
    "value": "Property",
    "object": "Relationship",
    "languageMap": "LanguageProperty",
    "vocab": "VocabProperty",
    "valueList": "ListProperty",
    "objectList": "ListRelationship",
    "json": "JsonProperty",
}
_WRAPPED = {"LanguageProperty": "languageMap", "VocabProperty": "vocab", "JsonProperty": "json"}
# Entity members that are not attributes; they are kept as they are.
ENTITY_MEMBERS = frozenset(("id", "type", "scope", "createdAt", "modifiedAt", "deletedAt", "expiresAt", "@context"))
_MISSING = object()


@dataclass
class KeyValues:
    """The keyValues document, the extra instances of multi-instance attributes, and shape errors."""

    document: dict[str, Any]
    extra_instances: list[tuple[str, str, Any]] = field(default_factory=list)  # (attribute, datasetId, value)
    shape_errors: list[tuple[str, str]] = field(default_factory=list)  # (attribute path, reason)


def to_key_values(entity: dict[str, Any], *, representation: str | None = None) -> KeyValues:
    """`representation`: "keyValues" takes every attribute as a plain value; None (or
    "normalized"/"concise") recognises each attribute's form as described above."""
    result = KeyValues({})
    for name, value in entity.items():
        if name in ENTITY_MEMBERS:
            if name != "@context":
                result.document[name] = value
            continue
        if _is_dataset_map(value):  # keyValues of several instances: {"dataset": {datasetId: value}}
            datasets = value["dataset"]
            first = "@none" if "@none" in datasets else next(iter(datasets))
            result.document[name] = _value_object(datasets[first])
            result.extra_instances.extend((name, key, _value_object(item)) for key, item in datasets.items() if key != first)
            continue
        if representation in ("keyValues", "simplified"):
            result.document[name] = _value_object(value)
            continue
        _attribute(name, value, result, normalized_only=representation == "normalized")
    return result


def _attribute(name: str, value: Any, result: KeyValues, *, normalized_only: bool) -> None:
    if isinstance(value, list) and value and all(_is_instance(item) for item in value):
        instances = sorted(value, key=lambda instance: "datasetId" in instance)  # the default instance first
        first = _instance_value(name, instances[0], result, normalized_only)
        if first is not _MISSING:
            result.document[name] = first
        for instance in instances[1:]:
            extra = _instance_value(name, instance, result, normalized_only)
            if extra is not _MISSING:
                result.extra_instances.append((name, str(instance.get("datasetId", "@none")), extra))
        return
    if isinstance(value, dict) and _is_instance(value):
        converted = _instance_value(name, value, result, normalized_only)
        if converted is not _MISSING:
            result.document[name] = converted
        return
    if normalized_only:
        result.shape_errors.append((name, "is not a normalized NGSI-LD attribute (an object with a \"type\")"))
        return
    result.document[name] = _value_object(value)


def _is_dataset_map(value: Any) -> bool:
    return isinstance(value, dict) and list(value) == ["dataset"] and isinstance(value["dataset"], dict) and bool(value["dataset"])


def _is_instance(value: Any) -> bool:
    if not isinstance(value, dict):
        return False
    attribute_type = value.get("type")
    if isinstance(attribute_type, str) and attribute_type in ATTRIBUTE_TYPES:
        return True
    return any(member in value for member in _CONCISE_KINDS)


def _instance_value(name: str, instance: dict[str, Any], result: KeyValues, normalized_only: bool) -> Any:
    attribute_type = instance.get("type")
    if attribute_type is None:
        if normalized_only:
            result.shape_errors.append((name, "a normalized attribute needs a \"type\""))
            return _MISSING
        members = [member for member in _CONCISE_KINDS if member in instance]
        if len(members) != 1:
            result.shape_errors.append((name, f"holds both {' and '.join(members)}; an attribute has one of them"))
            return _MISSING
        return _simplified(_CONCISE_KINDS[members[0]], instance[members[0]])
    if not isinstance(attribute_type, str) or attribute_type not in ATTRIBUTE_TYPES:
        result.shape_errors.append(
            (name, f"type {attribute_type!r} is not an NGSI-LD attribute type ({', '.join(ATTRIBUTE_TYPES)})")
        )
        return _MISSING
    member = ATTRIBUTE_TYPES[attribute_type]
    if member not in instance:
        result.shape_errors.append((name, f"a {attribute_type} needs a {member!r} member"))
        return _MISSING
    return _simplified(attribute_type, instance[member])


def _value_object(value: Any) -> Any:
    return value["@value"] if isinstance(value, dict) and "@value" in value else value


def _simplified(attribute_type: str, value: Any) -> Any:
    if attribute_type == "Property":
        return _value_object(value)
    if attribute_type == "ListRelationship" and isinstance(value, list):
        return [item.get("object") if isinstance(item, dict) else item for item in value]
    if attribute_type == "ListProperty" and isinstance(value, list):
        return [item.get("value") if isinstance(item, dict) and "value" in item else item for item in value]
    if attribute_type in _WRAPPED:
        return {_WRAPPED[attribute_type]: value}
    return value


__all__ = ["ATTRIBUTE_TYPES", "ENTITY_MEMBERS", "KeyValues", "to_key_values"]
