# SPDX-License-Identifier: EUPL-1.2
"""The one async interface every store implements (SQLite now, PostgreSQL later).

Entities cross this boundary in expanded form (see broker.ld): names are IRIs, values plain JSON.
A store knows nothing of NGSI-LD semantics beyond that form: the entity operations are pure
functions in broker.entities.operations, and `modify_entity` runs one of them inside a single
transaction that holds the entity's row, so a read-modify-write is atomic against concurrent
writers (and a failing change writes nothing).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Generic, Protocol, TypeVar

T = TypeVar("T")

ExpandedEntity = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Modification(Generic[T]):
    """What `modify_entity` did: the entity before and after, and the change function's result."""

    before: ExpandedEntity
    after: ExpandedEntity
    result: T


class Store(Protocol):
    kind: str

    async def __aenter__(self) -> "Store": ...

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    async def aclose(self) -> None: ...

    async def ping(self) -> None:
        """Raise ServiceUnavailable when the store cannot answer."""

    async def create_entity(self, tenant: str, expanded_entity: ExpandedEntity) -> None:
        """Insert a new entity; AlreadyExists when one with that id exists in the tenant."""

    async def retrieve_entity(self, tenant: str, entity_id: str) -> ExpandedEntity | None: ...

    async def modify_entity(
        self, tenant: str, entity_id: str, change: Callable[[ExpandedEntity], T]
    ) -> Modification[T]:
        """Apply `change` to a private copy of the entity and write it back, atomically.

        ResourceNotFound when the entity does not exist. An exception from `change` aborts the
        transaction and propagates unchanged.
        """

    async def delete_entity(self, tenant: str, entity_id: str) -> ExpandedEntity:
        """Delete and return the entity; ResourceNotFound when it does not exist."""


__all__ = ["Store", "Modification", "ExpandedEntity"]
