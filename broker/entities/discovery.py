# SPDX-License-Identifier: EUPL-1.2
"""Entity type and attribute discovery (ETSI GS CIM 009 v1.9.1 clauses 5.7.5 to 5.7.10).

Builds the spec's data types (EntityTypeList 5.2.24, EntityType 5.2.25, EntityTypeInfo 5.2.26,
AttributeList 5.2.27, Attribute 5.2.28) with exactly their members, from the store's counters;
names are compacted with the request's TermMap, ids stay full IRIs.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

from broker.errors import ResourceNotFound
from broker.ld import TermMap
from broker.store.base import Store


async def entity_type_list(store: Store, tenant: str, tm: TermMap) -> dict[str, Any]:
    types = await store.type_counts(tenant)
    return {
        "id": f"urn:ngsi-ld:EntityTypeList:{uuid.uuid4()}",
        "type": "EntityTypeList",
        "typeList": [tm.compact_type(iri) for iri in types],
    }


async def entity_types(store: Store, tenant: str, tm: TermMap) -> list[dict[str, Any]]:
    attributes: dict[str, list[str]] = defaultdict(list)
    for row in await store.type_attribute_counts(tenant):
        if row.attribute not in attributes[row.type]:
            attributes[row.type].append(row.attribute)
    return [
        {
            "id": iri,
            "type": "EntityType",
            "typeName": tm.compact_type(iri),
            "attributeNames": [tm.compact_iri(attribute) for attribute in attributes.get(iri, [])],
        }
        for iri in await store.type_counts(tenant)
    ]


async def entity_type_info(store: Store, tenant: str, type_iri: str, tm: TermMap) -> dict[str, Any]:
    count = (await store.type_counts(tenant)).get(type_iri)
    if count is None:
        raise ResourceNotFound(f"no entity of type {tm.compact_type(type_iri)}")
    kinds: dict[str, list[str]] = defaultdict(list)
    for row in await store.type_attribute_counts(tenant, type_iri):
        kinds[row.attribute].append(row.attribute_type)
    return {
        "id": type_iri,
        "type": "EntityTypeInfo",
        "typeName": tm.compact_type(type_iri),
        "entityCount": count,
        "attributeDetails": [
            {"id": attribute, "type": "Attribute", "attributeName": tm.compact_iri(attribute), "attributeTypes": types}
            for attribute, types in kinds.items()
        ],
    }


async def attribute_list(store: Store, tenant: str, tm: TermMap) -> dict[str, Any]:
    names = dict.fromkeys(row.attribute for row in await store.attribute_counts(tenant))
    return {
        "id": f"urn:ngsi-ld:AttributeList:{uuid.uuid4()}",
        "type": "AttributeList",
        "attributeList": [tm.compact_iri(iri) for iri in names],
    }


async def attributes(store: Store, tenant: str, tm: TermMap) -> list[dict[str, Any]]:
    type_names = await _type_names(store, tenant, tm)
    names = dict.fromkeys(row.attribute for row in await store.attribute_counts(tenant))
    return [
        {"id": iri, "type": "Attribute", "attributeName": tm.compact_iri(iri), "typeNames": type_names.get(iri, [])}
        for iri in names
    ]


async def attribute_info(store: Store, tenant: str, attribute_iri: str, tm: TermMap) -> dict[str, Any]:
    rows = await store.attribute_counts(tenant, attribute_iri)
    if not rows:
        raise ResourceNotFound(f"no attribute {tm.compact_iri(attribute_iri)}")
    type_names = await _type_names(store, tenant, tm)
    return {
        "id": attribute_iri,
        "type": "Attribute",
        "attributeName": tm.compact_iri(attribute_iri),
        "attributeCount": sum(row.count for row in rows),
        "attributeTypes": [row.attribute_type for row in rows],
        "typeNames": type_names.get(attribute_iri, []),
    }


async def _type_names(store: Store, tenant: str, tm: TermMap) -> dict[str, list[str]]:
    names: dict[str, list[str]] = defaultdict(list)
    for row in await store.type_attribute_counts(tenant):
        name = tm.compact_type(row.type)
        if name not in names[row.attribute]:
            names[row.attribute].append(name)
    return names


__all__ = ["entity_type_list", "entity_types", "entity_type_info", "attribute_list", "attributes", "attribute_info"]
