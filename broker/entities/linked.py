# SPDX-License-Identifier: EUPL-1.2
"""Linked entity retrieval (ETSI GS CIM 009 v1.8+, clause 4.5.23): the targets of Relationships.

`join=flat|inline` with `joinLevel` (default 1) follows Relationships (and ListRelationships)
of the entities returned, up to joinLevel hops, with one store query per hop.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from broker.counts import is_count
from broker.entities.operations import is_attribute_key
from broker.errors import BadRequestData
from broker.store.base import EntityQuery, EntitySelector, ExpandedEntity, Store

MAX_JOIN_LEVEL = 5


def relationship_targets(entity: ExpandedEntity) -> Iterator[tuple[str, int, str]]:
    """(attribute IRI, instance index, target entity id) of every Relationship instance."""
    for key, instances in entity.items():
        if not is_attribute_key(key):
            continue
        for index, instance in enumerate(instances):
            kind = instance.get("type")
            if kind == "Relationship":
                objects = instance.get("object")
                for target in objects if isinstance(objects, list) else [objects]:
                    if isinstance(target, str):
                        yield key, index, target
            elif kind == "ListRelationship":
                for item in instance.get("objectList", []):
                    target = item.get("object") if isinstance(item, dict) else item
                    if isinstance(target, str):
                        yield key, index, target


async def linked_entities(
    store: Store, tenant: str, entities: list[ExpandedEntity], join_level: int
) -> dict[str, ExpandedEntity]:
    """Every entity reachable within join_level Relationship hops, keyed by id (the roots excluded)."""
    found: dict[str, ExpandedEntity] = {}
    seen = {entity["id"] for entity in entities}
    frontier = entities
    for _ in range(join_level):
        targets = sorted({target for e in frontier for _, _, target in relationship_targets(e)} - seen)
        if not targets:
            break
        query = EntityQuery(selectors=(EntitySelector(ids=tuple(targets)),))
        fetched, _ = await store.query_entities(tenant, query, limit=len(targets), offset=0, count=False)
        seen.update(targets)
        for entity in fetched:
            found[entity["id"]] = entity
        frontier = fetched
    return found


def parse_join(join: Any, join_level: Any) -> tuple[str | None, int]:
    """join= and joinLevel= URL parameters (Table 6.5.3.1-1)."""
    if join is None:
        if join_level is not None:
            raise BadRequestData("joinLevel needs join=flat or join=inline")
        return None, 0
    if join not in ("flat", "inline", "@none"):
        raise BadRequestData(f"join must be flat, inline or @none, not {join!r}")
    if join == "@none":
        return None, 0
    if join_level is None:
        return join, 1
    if not is_count(str(join_level)) or not 1 <= int(join_level) <= MAX_JOIN_LEVEL:
        raise BadRequestData(f"joinLevel must be an integer from 1 to {MAX_JOIN_LEVEL}")
    return join, int(join_level)


__all__ = ["relationship_targets", "linked_entities", "parse_join", "MAX_JOIN_LEVEL"]
