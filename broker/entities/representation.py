# SPDX-License-Identifier: EUPL-1.2
"""Shape an entity for a response (ETSI GS CIM 009 clauses 4.5 and 5.7.1).

Selection (attrs, pick, omit, sysAttrs) works on the expanded entity, before compaction, so names
are compared as IRIs. The representations concise and keyValues (= simplified) are derived from
the compacted normalized entity, where only the structure matters.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from broker.entities.normalize import ATTRIBUTE_TYPES, SYSTEM_MEMBERS
from broker.entities.operations import is_attribute_key, is_sub_attribute_key

REPRESENTATIONS = ("normalized", "concise", "keyValues", "simplified")
_COMPACTED_CORE = frozenset({"id", "type", "scope", "createdAt", "modifiedAt", "deletedAt", "@context"})


def select(
    expanded_entity: dict[str, Any],
    *,
    attrs: Collection[str] | None = None,
    pick: Collection[str] | None = None,
    omit: Collection[str] | None = None,
    sys_attrs: bool = False,
    dataset_id: str | None = None,
) -> dict[str, Any]:
    """A new entity with only the members asked for.

    attrs, pick and omit hold expanded attribute IRIs and the core members "id", "type", "scope"
    (pick/omit may name those too, clause 4.21). datasetId keeps only the instances of that dataset.
    """
    selected: dict[str, Any] = {}
    for key, value in expanded_entity.items():
        if key in SYSTEM_MEMBERS:
            if sys_attrs:
                selected[key] = value
            continue
        if pick is not None and key not in pick:
            continue
        if omit is not None and key in omit:
            continue
        if is_attribute_key(key):
            if attrs is not None and key not in attrs:
                continue
            instances = value if dataset_id is None else [i for i in value if i.get("datasetId") == dataset_id]
            if not instances:
                continue
            value = instances if sys_attrs else [_without_sys_attrs(instance) for instance in instances]
        selected[key] = value
    return selected


def _without_sys_attrs(instance: dict[str, Any]) -> dict[str, Any]:
    return {
        key: _without_sys_attrs(value) if isinstance(value, dict) and is_sub_attribute_key(key) else value
        for key, value in instance.items()
        if key not in SYSTEM_MEMBERS
    }


def to_concise(compacted_entity: dict[str, Any]) -> dict[str, Any]:
    """Clause 4.5.3: drop attribute "type"s; a bare Property value when nothing else is there."""
    return {
        key: value if key in _COMPACTED_CORE else _map_instances(value, _concise_instance)
        for key, value in compacted_entity.items()
    }


def _concise_instance(instance: dict[str, Any]) -> Any:
    attr_type = instance.get("type")
    out = {
        key: _concise_instance(value) if isinstance(value, dict) and is_sub_attribute_key(key) else value
        for key, value in instance.items()
        if key != "type"
    }
    if attr_type in ("Property", "GeoProperty") and list(out) == ["value"] and not isinstance(out["value"], dict):
        return out["value"]
    if attr_type == "GeoProperty" and list(out) == ["value"]:
        return out["value"]  # a GeoJSON geometry is recognised as a GeoProperty on input
    return out


def to_key_values(compacted_entity: dict[str, Any], lang: str | None = None) -> dict[str, Any]:
    """Clause 4.5.4: each attribute becomes its value; one instance (the default one first)."""
    out: dict[str, Any] = {}
    for key, value in compacted_entity.items():
        if key in _COMPACTED_CORE:
            out[key] = value
            continue
        instances = value if isinstance(value, list) else [value]
        chosen = next((i for i in instances if "datasetId" not in i), instances[0])
        out[key] = key_value(chosen, lang)
    return out


def key_value(instance: dict[str, Any], lang: str | None = None) -> Any:
    attr_type = instance.get("type", "Property")
    member = ATTRIBUTE_TYPES.get(attr_type, "value")
    value = instance.get(member, instance.get("value"))
    if attr_type == "LanguageProperty" and lang is not None and isinstance(value, dict):
        return pick_language(value, lang)[1]
    if attr_type == "ListRelationship" and isinstance(value, list):
        return [item.get("object") if isinstance(item, dict) else item for item in value]
    return value


def pick_language(language_map: dict[str, Any], lang: str) -> tuple[str, Any]:
    """Clause 4.15: the entry for the language asked for, else @none, else the first one."""
    if lang == "*":
        return "*", language_map
    for tag in [part.split(";")[0].strip() for part in lang.split(",")]:
        if tag in language_map:
            return tag, language_map[tag]
    if "@none" in language_map:
        return "@none", language_map["@none"]
    first = next(iter(language_map))
    return first, language_map[first]


def apply_lang(compacted_entity: dict[str, Any], lang: str) -> dict[str, Any]:
    """lang=xx on normalized/concise output: a LanguageProperty becomes a Property with "lang"."""
    if lang == "*":
        return compacted_entity
    out = dict(compacted_entity)
    for key, value in compacted_entity.items():
        if key not in _COMPACTED_CORE:
            out[key] = _map_instances(value, lambda instance: _lang_instance(instance, lang))
    return out


def _lang_instance(instance: dict[str, Any], lang: str) -> dict[str, Any]:
    if instance.get("type") != "LanguageProperty" or "languageMap" not in instance:
        return instance
    tag, text = pick_language(instance["languageMap"], lang)
    converted = {k: v for k, v in instance.items() if k != "languageMap"}
    converted["type"] = "Property"
    converted["value"] = text
    converted["lang"] = tag
    return converted


def _map_instances(value: Any, fn: Any) -> Any:
    if isinstance(value, list):
        return [fn(instance) for instance in value]
    return fn(value)


__all__ = [
    "REPRESENTATIONS",
    "select",
    "to_concise",
    "to_key_values",
    "key_value",
    "pick_language",
    "apply_lang",
]
