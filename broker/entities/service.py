# SPDX-License-Identifier: EUPL-1.2
"""Entity operations over a store: the one core call each API route makes.

Inputs and outputs are expanded (IRIs); the API layer expands requests and compacts responses.
Every write runs as one store transaction (store.modify_entity), so a failed request leaves
nothing half-written.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from broker.entities import operations as ops
from broker.entities.changes import ChangeListener, EntityChange
from broker.errors import ResourceNotFound
from broker.store.base import BatchChange, BatchOutcome, ExpandedEntity, Store, shares_instances, sharing_instances

log = logging.getLogger("citycontext.entities")

T = TypeVar("T")


class EntityService:
    """Each write reports its committed changes to the listeners (subscriptions, history)."""

    def __init__(
        self,
        store: Store,
        listeners: list[ChangeListener] | None = None,
        *,
        validate: Callable[[ExpandedEntity], None] | None = None,
    ) -> None:
        """`validate` checks each entity a write would store (e.g. against its Smart Data Model)
        and raises BadRequestData to refuse it; it runs inside the write, so nothing is written."""
        self.store = store
        self.listeners: list[ChangeListener] = listeners if listeners is not None else []
        self.validate = validate

    def _report(self, tenant: str, before: ExpandedEntity | None, after: ExpandedEntity | None) -> None:
        if not self.listeners:
            return
        change = EntityChange(tenant, before, after)
        for listener in self.listeners:
            try:
                listener(change)
            except Exception:  # a listener's bug must not fail a committed write
                log.exception("change listener %r failed", listener)

    async def create_entity(self, tenant: str, expanded_entity: ExpandedEntity) -> None:
        entity = ops.new_entity(expanded_entity, ops.now_iso())
        if self.validate is not None:
            self.validate(entity)
        await self.store.create_entity(tenant, entity)
        self._report(tenant, None, entity)

    async def batch_modify(
        self, tenant: str, changes: list[tuple[str, BatchChange]], *, validate: bool = True
    ) -> list[BatchOutcome]:
        """store.batch_modify, reporting each entity that changed; `validate`: check each entity stored
        (the expiry sweep does not: what expires goes even when a data model requires it)."""
        if validate and self.validate is not None:
            changes = [(entity_id, _validated(change, self.validate)) for entity_id, change in changes]
        outcomes = await self.store.batch_modify(tenant, changes) if changes else []
        for outcome in outcomes:
            if outcome.error is None and (outcome.before is not None or outcome.after is not None):
                self._report(tenant, outcome.before, outcome.after)
        return outcomes

    async def retrieve_entity(self, tenant: str, entity_id: str, types: list[str] | None = None) -> ExpandedEntity:
        """ResourceNotFound when there is no such entity, or it has none of the types asked for."""
        entity = await self.store.retrieve_entity(tenant, entity_id)
        if entity is None or (types and not set(types).intersection(entity["type"])):
            raise ResourceNotFound(f"entity {entity_id} not found")
        return entity

    async def delete_entity(self, tenant: str, entity_id: str, *, types: list[str] | None = None) -> ExpandedEntity:
        if types:
            await self.retrieve_entity(tenant, entity_id, types)
        deleted = await self.store.delete_entity(tenant, entity_id)
        self._report(tenant, deleted, None)
        return deleted

    async def purge_entities(self, tenant: str, types: list[str]) -> list[ExpandedEntity]:
        """Delete every entity of the given types, in one transaction; returns those deleted."""
        ids = await self.store.entity_ids_of_types(tenant, types)
        outcomes = await self.batch_modify(tenant, [(entity_id, _delete_if_present) for entity_id in ids])
        return [outcome.before for outcome in outcomes if outcome.before is not None]

    async def _modify(
        self, tenant: str, entity_id: str, types: list[str] | None, change: Callable[[ExpandedEntity], T]
    ) -> T:
        """One read-modify-write; `types` (the type= parameter) must meet the entity's types."""

        validate = self.validate

        def checked(entity: ExpandedEntity) -> T:
            if types and not set(types).intersection(entity["type"]):
                raise ResourceNotFound(f"entity {entity_id} is not of type {', '.join(types)}")
            result = change(entity)
            if validate is not None:
                validate(entity)
            return result

        done = await self.store.modify_entity(tenant, entity_id, checked)
        self._report(tenant, done.before, done.after)
        return done.result

    async def replace_entity(
        self, tenant: str, entity_id: str, replacement: dict[str, Any], *, types: list[str] | None = None
    ) -> None:
        now = ops.now_iso()
        await self._modify(tenant, entity_id, types, lambda e: ops.replace_entity(e, replacement, now))

    async def merge_entity(
        self,
        tenant: str,
        entity_id: str,
        fragment: dict[str, Any],
        *,
        types: list[str] | None = None,
        lang: str | None = None,
        observed_at: str | None = None,
    ) -> None:
        now = ops.now_iso()
        await self._modify(
            tenant, entity_id, types, lambda e: ops.merge_entity(e, fragment, now, lang=lang, observed_at=observed_at)
        )

    async def append_attributes(
        self, tenant: str, entity_id: str, fragment: dict[str, Any], *, no_overwrite: bool, types: list[str] | None = None
    ) -> ops.UpdateResult:
        now = ops.now_iso()
        return await self._modify(
            tenant, entity_id, types, lambda e: ops.append_attributes(e, fragment, now, no_overwrite=no_overwrite)
        )

    async def update_attributes(
        self, tenant: str, entity_id: str, fragment: dict[str, Any], *, types: list[str] | None = None
    ) -> ops.UpdateResult:
        now = ops.now_iso()
        return await self._modify(tenant, entity_id, types, lambda e: ops.update_attributes(e, fragment, now))

    async def partial_update_attribute(
        self, tenant: str, entity_id: str, attribute: str, instance: dict[str, Any], *, types: list[str] | None = None
    ) -> None:
        now = ops.now_iso()
        await self._modify(tenant, entity_id, types, lambda e: ops.partial_update_attribute(e, attribute, instance, now))

    async def replace_attribute(
        self, tenant: str, entity_id: str, attribute: str, instance: dict[str, Any], *, types: list[str] | None = None
    ) -> None:
        now = ops.now_iso()
        await self._modify(tenant, entity_id, types, lambda e: ops.replace_attribute(e, attribute, instance, now))

    async def delete_attribute(
        self,
        tenant: str,
        entity_id: str,
        attribute: str,
        *,
        dataset_id: str | None,
        delete_all: bool,
        types: list[str] | None = None,
    ) -> None:
        now = ops.now_iso()
        await self._modify(
            tenant, entity_id, types, lambda e: ops.delete_attribute(e, attribute, dataset_id, delete_all, now)
        )


def _validated(change: BatchChange, validate: Callable[[ExpandedEntity], None]) -> BatchChange:
    def checked(current: ExpandedEntity | None) -> tuple[ExpandedEntity | None, Any]:
        after, result = change(current)
        if after is not None:
            validate(after)
        return after, result

    return sharing_instances(checked) if shares_instances(change) else checked


def _delete_if_present(current: ExpandedEntity | None) -> tuple[ExpandedEntity | None, Any]:
    return None, None


__all__ = ["EntityService"]
