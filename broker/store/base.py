# SPDX-License-Identifier: EUPL-1.2
"""The one async interface every store implements (SQLite and PostgreSQL).

Entities cross this boundary in expanded form (see broker.ld): names are IRIs, values plain JSON.
A store knows nothing of NGSI-LD semantics beyond that form: the entity operations are pure
functions in broker.entities.operations, and `modify_entity` runs one of them inside a single
transaction that holds the entity's row, so a read-modify-write is atomic against concurrent
writers (and a failing change writes nothing).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from types import TracebackType
from typing import Any, Generic, Protocol, TypeVar

from broker.errors import NgsiLdError
from broker.query.ast import GeoQuery, QNode, ScopeQuery, TypeExpr
from broker.store.delivery_state import DeliveryDelta
from broker.temporal.model import (
    AggregatedPeriod,
    AggregationPlan,
    HistoryCursor,
    HistoryEntity,
    HistoryInstance,
    HistoryWindow,
    InstanceRecord,
)
from broker.temporal.times import format_ms

T = TypeVar("T")

ExpandedEntity = dict[str, Any]


BatchChange = Callable[["ExpandedEntity | None"], tuple["ExpandedEntity | None", Any]]


def sharing_instances(change: BatchChange) -> BatchChange:
    """Mark a change that never changes an instance (a dict in an attribute's list) of the entity it is
    given in place: it replaces the entity's members and the items of its lists. A store may then hand it
    the stored entity with its dict and lists copied and its instances shared with `before`, instead of
    a second parse of the stored document (about 3 % of an update batch's instructions)."""
    setattr(change, "shares_instances", True)
    return change


def shares_instances(change: BatchChange) -> bool:
    return bool(getattr(change, "shares_instances", False))


def lists_copied(entity: ExpandedEntity) -> ExpandedEntity:
    """The entity with its dict and its lists (attributes, types, scopes) new, and the instances shared:
    the private copy a change marked by `sharing_instances` may be given."""
    return {key: list(member) if isinstance(member, list) else member for key, member in entity.items()}


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    """One item of a batch: the entity before and after (None: absent), or the error that failed it."""

    entity_id: str
    before: "ExpandedEntity | None" = None
    after: "ExpandedEntity | None" = None
    result: Any = None
    error: NgsiLdError | None = None



def as_deleted(entity: ExpandedEntity, at_ms: int) -> ExpandedEntity:
    """The entity as deleted: a copy with deletedAt, the instant its history records for the deletion,
    so that an entityDeleted notification shows the same instant as the temporal API."""
    return {**entity, "deletedAt": format_ms(at_ms)}


def deletions_stamped(outcomes: list[BatchOutcome], at_ms: int) -> list[BatchOutcome]:
    """A batch's outcomes, each deleted entity `as_deleted` at the batch's instant."""
    return [
        replace(outcome, before=as_deleted(outcome.before, at_ms))
        if outcome.after is None and outcome.before is not None and outcome.error is None
        else outcome
        for outcome in outcomes
    ]

@dataclass(frozen=True, slots=True)
class EntitySelector:
    """One EntitySelector (clause 5.2.33): id list, idPattern and type selection, all optional."""

    ids: tuple[str, ...] | None = None
    id_pattern: str | None = None
    types: TypeExpr | None = None


@dataclass(frozen=True, slots=True)
class OrderKey:
    """One orderBy key: a core member ("id", "createdAt", "modifiedAt") or an attribute IRI with
    the member of its (first) instance to order by ("value" covers value/object/vocab)."""

    attribute: str | None
    member: str
    descending: bool = False


@dataclass(frozen=True, slots=True)
class EntityQuery:
    """What GET /entities and POST /entityOperations/query select (clause 5.7.2), names expanded.

    Every member narrows the result; None means "no condition". An entity matches when it
    matches any of the selectors; `attrs` keeps entities having at least one of those attributes.
    """

    selectors: tuple[EntitySelector, ...] = ()
    attrs: frozenset[str] | None = None
    q: QNode | None = None
    geo: GeoQuery | None = None
    scope: ScopeQuery | None = None
    order_by: tuple[OrderKey, ...] = ()


@dataclass(frozen=True, slots=True)
class TypeAttributeCount:
    type: str
    attribute: str
    attribute_type: str
    count: int


@dataclass(frozen=True, slots=True)
class AttributeCount:
    attribute: str
    attribute_type: str
    count: int


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
        """Delete and return the entity, `as_deleted` (with deletedAt, the instant its history records);
        ResourceNotFound when it does not exist."""

    async def batch_modify(self, tenant: str, changes: list[tuple[str, BatchChange]]) -> list[BatchOutcome]:
        """Apply each change, in order, in ONE transaction; an item's error fails only that item.

        A change gets a private copy of the entity as the earlier items left it (None when absent)
        and returns (the entity to store or None to delete it, a result to report). The outcome of a
        deletion has the entity `as_deleted` at the instant the history records.
        """

    async def entity_ids_of_types(self, tenant: str, types: list[str]) -> list[str]: ...

    async def expired_entities(self, now_ms: int, limit: int) -> list[tuple[str, str]]:
        """(tenant, entity id) of up to `limit` entities, of every tenant, that expire (the entity or one
        of its attribute instances: expiresAt, clause 4.22) at or before `now_ms`, the earliest first."""

    async def query_entities(
        self, tenant: str, query: EntityQuery, *, limit: int, offset: int, count: bool
    ) -> tuple[list[ExpandedEntity], int | None]:
        """The page [offset, offset+limit) of matching entities in a stable order (by id), and the
        total number of matches when `count` is asked for. Filtering happens in the database; only
        exact geometry predicates run in Python, on the candidates of a spatial index."""

    async def tenant_exists(self, tenant: str) -> bool:
        """A tenant exists once anything was written in it; the default tenant "" always exists."""

    async def ensure_tenant(self, tenant: str) -> None: ...

    async def entity_counts(self) -> dict[str, int]:
        """Entities per tenant (kept as a counter, not counted at each call)."""

    # Discovery (clause 5.7.5 to 5.7.10), served from counters kept on every write.
    async def type_counts(self, tenant: str) -> dict[str, int]: ...

    async def type_attribute_counts(self, tenant: str, entity_type: str | None = None) -> list[TypeAttributeCount]: ...

    async def attribute_counts(self, tenant: str, attribute: str | None = None) -> list[AttributeCount]: ...

    # The attribute history (temporal API, broker.temporal). Every entity write above records the
    # instances it changed (broker.temporal.instances) in its own transaction; these add and read them.
    async def add_history(self, tenant: str, entity: HistoryEntity, records: list[InstanceRecord]) -> bool:
        """Add instances (the temporal API's create/append); merges the entity's types. True: the history
        did not know the entity before."""

    async def retrieve_history_entity(self, tenant: str, entity_id: str) -> HistoryEntity | None: ...

    async def history_entities(
        self,
        tenant: str,
        *,
        ids: list[str] | None = None,
        types: list[str] | None = None,
        attrs: list[str] | None = None,
        after_id: str | None = None,
        limit: int,
    ) -> list[HistoryEntity]:
        """Entities of the history in id order after `after_id`: with one of the ids, one of the types
        (plain names), a history of one of attrs. A superset of an exact selection; the caller checks."""

    async def history_attributes(self, tenant: str, entity_id: str) -> list[str]:
        """The attributes the entity has a history of, in order."""

    async def read_history(
        self,
        tenant: str,
        entity_id: str,
        attribute: str,
        window: HistoryWindow,
        *,
        limit: int,
        descending: bool = False,
        after: HistoryCursor | None = None,
    ) -> list[HistoryInstance]:
        """At most `limit` instances of the attribute in the window, ordered by the window's time
        property (then row id), from `after` on (keyset paging)."""

    async def history_bounds(
        self, tenant: str, entity_id: str, attribute: str, window: HistoryWindow
    ) -> tuple[int, int] | None:
        """The first and last instant of the attribute's instances in the window (deletions aside)."""

    async def aggregate_history(
        self, tenant: str, entity_id: str, attribute: str, window: HistoryWindow, plan: AggregationPlan
    ) -> list[AggregatedPeriod]:
        """Every aggregate per dataset and period, computed in the database, periods with instances only."""

    async def modify_history_instance(
        self,
        tenant: str,
        entity_id: str,
        attribute: str,
        row_id: int,
        change: Callable[[dict[str, Any], int], InstanceRecord],
    ) -> None:
        """Replace one instance by change(its doc, its createdAt); ResourceNotFound when there is none."""

    async def delete_history_instance(self, tenant: str, entity_id: str, attribute: str, row_id: int) -> None: ...

    async def delete_history_attribute(
        self, tenant: str, entity_id: str, attribute: str, dataset_id: str | None
    ) -> None:
        """Delete an attribute's instances of one dataset ("" the default), or of all (None)."""

    async def delete_history_entity(self, tenant: str, entity_id: str) -> None: ...

    async def purge_history(self, tenant: str, before_ms: int) -> int:
        """Retention: delete the tenant's instances older than before_ms; how many were deleted."""

    async def history_tenants(self) -> list[str]: ...

    async def maintain_history(self, now_ms: int) -> None:
        """Prepare storage for the coming instances (PostgreSQL: the next monthly partitions)."""

    # Small documents by kind ("csourceRegistration", "jsonldContext", "subscription", ...).
    async def create_document(self, kind: str, tenant: str, doc_id: str, doc: dict[str, Any]) -> None:
        """AlreadyExists when a document of that kind and id exists in the tenant."""

    async def retrieve_document(self, kind: str, tenant: str, doc_id: str) -> dict[str, Any] | None: ...

    async def list_documents(self, kind: str, tenant: str) -> list[dict[str, Any]]: ...

    async def replace_document(self, kind: str, tenant: str, doc_id: str, doc: dict[str, Any]) -> None:
        """ResourceNotFound when there is no such document."""

    async def delete_document(self, kind: str, tenant: str, doc_id: str) -> None:
        """ResourceNotFound when there is no such document."""

    # Subscriptions' delivery state and periodic claims (broker.store.delivery_state): atomic, so that
    # broker processes sharing the store can all write them.
    async def add_delivery_state(self, tenant: str, subscription_id: str, delta: DeliveryDelta) -> None:
        """Add the counts (in SQL: times_sent = times_sent + n) and move each instant forward."""

    async def delivery_state(self, tenant: str, subscription_id: str) -> dict[str, Any]:
        """timesSent, timesFailed and the instants there are ({} when nothing was recorded)."""

    async def delivery_states(self, tenant: str) -> dict[str, dict[str, Any]]:
        """delivery_state of every subscription of the tenant that has one, by subscription id."""

    async def delete_delivery_state(self, tenant: str, subscription_id: str) -> None:
        """Nothing happens when there is none."""

    async def claim_periodic(
        self, tenant: str, subscription_id: str, version: str, now_s: float, next_due_s: float
    ) -> tuple[bool, float | None]:
        """Take the periodic notification due at now_s (POSIX seconds): (True, next_due_s) for exactly one
        caller, which then sends it; the others get (False, the next due time stored by the winner).
        Won too when nothing is claimed yet or `version` (the subscription's modifiedAt) is newer."""


__all__ = ["DeliveryDelta", "Store", "Modification", "ExpandedEntity", "BatchChange", "BatchOutcome", "sharing_instances", "shares_instances", "lists_copied", "as_deleted", "deletions_stamped", "TypeAttributeCount", "AttributeCount", "EntityQuery", "EntitySelector", "OrderKey"]
