# SPDX-License-Identifier: EUPL-1.2
"""Shape an entity for a response (ETSI GS CIM 009 clauses 4.5 and 5.7.1).

Selection (attrs, pick, omit, sysAttrs) works on the expanded entity, before compaction, so names
are compared as IRIs. The representations concise and keyValues (= simplified) are derived from
the compacted normalized entity, where only the structure matters.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from broker.ld.members import ENTITY_MEMBERS
from broker.entities.normalize import ATTRIBUTE_TYPES, SYSTEM_MEMBERS
from broker.entities.operations import is_attribute_key, is_sub_attribute_key

REPRESENTATIONS = ("normalized", "concise", "keyValues", "simplified")
_COMPACTED_CORE = ENTITY_MEMBERS | {"@context"}


def select(
    expanded_entity: dict[str, Any],
    *,
    attrs: Collection[str] | None = None,
    pick: Collection[str] | None = None,
    omit: Collection[str] | None = None,
    sys_attrs: bool = False,
    dataset_ids: Collection[str] | None = None,
) -> dict[str, Any]:
    """A new entity with only the members asked for.

    attrs, pick and omit hold expanded attribute IRIs and the core members "id", "type", "scope"
    (pick/omit may name those too, clause 4.21). dataset_ids keeps only the instances of those
    datasets, "@none" standing for the default instance (clause 5.7.1.4).
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
        if key == "scope" and attrs is not None and key not in attrs:
            continue  # scope is shown like an attribute: only when attrs names it
        if is_attribute_key(key):
            if attrs is not None and key not in attrs:
                continue
            instances = (
                value if dataset_ids is None else [i for i in value if i.get("datasetId", "@none") in dataset_ids]
            )
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
    """Clause 4.5.3: drop attribute "type"s; a bare Property value when nothing else is there.

    Several instances (datasetIds) stay objects each, so the representation is lossless (4.5.2.3).
    """
    return {
        key: value
        if key in _COMPACTED_CORE
        else [_concise_object(i) for i in value]
        if isinstance(value, list)
        else _concise_instance(value)
        for key, value in compacted_entity.items()
    }


def _concise_object(instance: dict[str, Any]) -> Any:
    concise = _concise_instance(instance)
    return concise if isinstance(concise, dict) and "type" not in concise else {"value": concise}


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
    """Clause 4.5.4: each attribute becomes its value; several instances become {"dataset": {...}}."""
    out: dict[str, Any] = {}
    for key, value in compacted_entity.items():
        if key in _COMPACTED_CORE:
            out[key] = value
        elif isinstance(value, list):
            out[key] = {"dataset": {i.get("datasetId", "@none"): key_value(i, lang) for i in value}}
        else:
            out[key] = key_value(value, lang)
    return out


# Clause 4.5.4: these keep a one-key object in the simplified representation.
_WRAPPED_IN_KEY_VALUES = {"LanguageProperty": "languageMap", "VocabProperty": "vocab", "JsonProperty": "json"}


def key_value(instance: dict[str, Any], lang: str | None = None) -> Any:
    attr_type = instance.get("type", "Property")
    member = ATTRIBUTE_TYPES.get(attr_type, "value")
    value = instance.get(member, instance.get("value"))
    if attr_type == "LanguageProperty" and lang is not None and isinstance(value, dict):
        return pick_language(value, lang)[1]
    if attr_type == "ListRelationship" and isinstance(value, list):
        return [item.get("object") if isinstance(item, dict) else item for item in value]
    if attr_type in _WRAPPED_IN_KEY_VALUES:
        return {_WRAPPED_IN_KEY_VALUES[attr_type]: value}
    return value


def pick_language(language_map: dict[str, Any], lang: str) -> tuple[str, Any]:
    """Clause 4.15: the best entry by the lang list's quality values, else @none, else the first."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(lang.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        name, _, number = params.strip().partition("=")
        if name.strip() == "q":
            try:
                quality = float(number)
            except ValueError:
                quality = 0.0
        if tag and quality > 0:
            ranked.append((-quality, position, tag.strip()))
    for _, _, tag in sorted(ranked):
        if tag in language_map:
            return tag, language_map[tag]
        if tag != "*":
            prefix = next((key for key in language_map if key.split("-")[0] == tag.split("-")[0]), None)
            if prefix is not None:
                return prefix, language_map[prefix]
    if "@none" in language_map:
        return "@none", language_map["@none"]
    first = next(iter(language_map))
    return first, language_map[first]


def apply_lang(compacted_entity: dict[str, Any], lang: str) -> dict[str, Any]:
    """lang=xx on normalized/concise output: a LanguageProperty becomes a Property with "lang"."""
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
