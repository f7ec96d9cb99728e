# SPDX-License-Identifier: EUPL-1.2
"""Batch entity operations (ETSI GS CIM 009 clauses 5.6.7 to 5.6.10 and 5.6.20): the changes.

Each item becomes one change function for store.batch_modify, which applies them in order in one
transaction; an item whose change raises fails alone. The API layer parses and expands the items
(an item that cannot be parsed is an error of its own) and reports the BatchOperationResult.
"""

from __future__ import annotations

from typing import Any

import orjson

from broker.entities import operations as ops
from broker.errors import AlreadyExists, ResourceNotFound
from broker.store.base import BatchChange, ExpandedEntity, sharing_instances

CREATED = "created"


def create(expanded_entity: ExpandedEntity, now: str) -> BatchChange:
    def change(current: ExpandedEntity | None) -> tuple[ExpandedEntity | None, Any]:
        if current is not None:
            raise AlreadyExists(f"entity {expanded_entity['id']} already exists")
        return ops.created_entity(expanded_entity, now), CREATED

    return change


def upsert(expanded_entity: ExpandedEntity, now: str, *, replace: bool) -> BatchChange:
    """options=replace (the default): the entity is replaced; options=update: attributes are merged in."""

    def change(current: ExpandedEntity | None) -> tuple[ExpandedEntity | None, Any]:
        if current is None:
            return ops.created_entity(expanded_entity, now), CREATED
        if replace:  # replace_entity stamps copies, leaving the item as it was
            ops.replace_entity(current, expanded_entity, now)
        else:
            ops.append_attributes(current, _copy(expanded_entity), now, no_overwrite=False)
        return current, None

    return sharing_instances(change)  # replace_entity and append_attributes replace instances, never change one


def update(fragment: ExpandedEntity, now: str, *, no_overwrite: bool) -> BatchChange:
    """Batch update = Append Entity Attributes on each entity (clause 5.6.9)."""

    def change(current: ExpandedEntity | None) -> tuple[ExpandedEntity | None, Any]:
        if current is None:
            raise ResourceNotFound(f"entity {fragment['id']} not found")
        # Skipped attributes (noOverwrite) are reported by the caller; the others are written.
        return current, ops.append_attributes(current, _copy(fragment), now, no_overwrite=no_overwrite)

    return sharing_instances(change)  # append_attributes replaces instances, never changes one


def merge(fragment: ExpandedEntity, now: str) -> BatchChange:
    def change(current: ExpandedEntity | None) -> tuple[ExpandedEntity | None, Any]:
        if current is None:
            raise ResourceNotFound(f"entity {fragment['id']} not found")
        ops.merge_entity(current, _copy(fragment), now)
        return current, None

    return change


def delete(entity_id: str) -> BatchChange:
    def change(current: ExpandedEntity | None) -> tuple[ExpandedEntity | None, Any]:
        if current is None:
            raise ResourceNotFound(f"entity {entity_id} not found")
        return None, None

    return change


def _copy(entity: ExpandedEntity) -> ExpandedEntity:
    # The operations stamp the fragment's instances in place and keep them in the entity; a change may run
    # again (PostgreSQL retries a transaction), so each run starts from its own copy. Creates need none:
    # ops.created_entity leaves its input as it was.
    return orjson.loads(orjson.dumps(entity))  # type: ignore[no-any-return]


__all__ = ["CREATED", "create", "upsert", "update", "merge", "delete"]
