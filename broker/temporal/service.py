# SPDX-License-Identifier: EUPL-1.2
"""The operations of the temporal API over a Store (ETSI GS CIM 009 clauses 5.6.11 to 5.6.16, 5.7.3, 5.7.4).

Reads select entities from the history (the store narrows by id, type and attrs; the exact entity
selection is checked here), then read each attribute's instances in the time window, or let the
store aggregate them. The q filter of a query is checked against the instances in the window
(clause 5.7.4.4: an entity matches when its windowed instances satisfy q, any instance for each
term). geoQ and scopeQ are checked against the entity's latest state: a station's location rarely
has history inside the window a researcher asks for.

Temporal pagination (clause 6.3.10): at most `page_size` instances per attribute. When an
attribute has more in the window, every attribute of every entity of the page is cut at one
instant, so that no instance is skipped or repeated by the next request: the caller answers
206 with Content-Range date-time <start>-<end>/<size> and the window of the next page.
Forwards (no lastN) the next page starts at `next_start_ms`; backwards (lastN beyond the page)
the next page ends before the earliest instance delivered.

Writes (create, append, modify and delete instances) change the history only; the current
entity of the core API stays as it is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from broker.ld.members import ENTITY_MEMBERS
from broker.counts import is_count
from broker.errors import BadRequestData, ResourceNotFound
from broker.query import matches_geo, matches_q, matches_scope, matches_types
from broker.query.ast import (
    And,
    Comparison,
    Exists,
    NotExists,
    Or,
    QNode,
    TypeName,
    TypeOr,
)
from broker.query.values import pattern_matches
from broker.store.base import EntityQuery, EntitySelector, Store
from broker.temporal.instances import STAMPS, instance_record
from broker.temporal.model import (
    INSTANCE_ID_PREFIX,
    AggregationPlan,
    HistoryEntity,
    HistoryInstance,
    InstanceRecord,
)
from broker.temporal.query import (
    AGGREGATED_VALUES,
    TemporalQuery,
    TemporalRepresentation,
)
from broker.temporal.representation import Period, TemporalEntity, period_values
from broker.temporal.times import LAST_MS, datetime_ms, format_ms, month_index, month_start_ms

_CANDIDATE_BATCH = 200
_Q_INSTANCES = 100_000  # instances per attribute read to evaluate q (the window's, deletions aside)


@dataclass(frozen=True, slots=True)
class ContentRange:
    """The range of a partial answer (clause 6.3.10) and where the next page's window begins or ends."""

    start_ms: int
    end_ms: int
    size: int | None  # lastN, else unknown ("*")
    next_start_ms: int | None = None  # forwards: ask again from here (timerel=after / between)
    next_end_ms: int | None = None  # backwards: ask again before this instant (timerel=before / between)

    def header(self) -> str:
        return f"date-time {format_ms(self.start_ms)}-{format_ms(self.end_ms)}/{'*' if self.size is None else self.size}"


@dataclass(frozen=True, slots=True)
class TemporalResult:
    entities: list[TemporalEntity]
    total: int | None = None  # with count=true
    content_range: ContentRange | None = None  # set when instances were cut (206)
    more_entities: bool = False  # a full page of entities: there may be a next one


class TemporalService:
    def __init__(self, store: Store, *, page_size: int) -> None:
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        self.store = store
        self.page_size = page_size

    # -- reads ---------------------------------------------------------------------------------

    async def retrieve(
        self,
        tenant: str,
        entity_id: str,
        temporal: TemporalQuery,
        form: TemporalRepresentation,
        *,
        attrs: frozenset[str] | None = None,
    ) -> TemporalResult:
        """GET /temporal/entities/{id} (clause 5.7.3)."""
        entity = await self.store.retrieve_history_entity(tenant, entity_id)
        if entity is None:
            raise ResourceNotFound(f"entity {entity_id} has no temporal representation")
        return await self._read(tenant, [entity], temporal, form, attrs)

    async def query(
        self,
        tenant: str,
        query: EntityQuery,
        temporal: TemporalQuery,
        form: TemporalRepresentation,
        *,
        limit: int,
        offset: int,
        count: bool,
    ) -> TemporalResult:
        """GET /temporal/entities and POST /temporal/entityOperations/query (clause 5.7.4)."""
        matched: list[HistoryEntity] = []
        total = 0
        after_id: str | None = None
        ids, types = _prefilter(query.selectors)
        attrs = sorted(query.attrs) if query.attrs is not None else None
        done = False
        while not done:
            batch = await self.store.history_entities(
                tenant, ids=ids, types=types, attrs=attrs, after_id=after_id, limit=_CANDIDATE_BATCH
            )
            for entity in batch:
                if not await self._matches(tenant, entity, query, temporal):
                    continue
                if offset <= total < offset + limit:
                    matched.append(entity)
                total += 1
                if not count and total > offset + limit:
                    done = True  # one past the page: there is a next page, and that is all we need
                    break
            if len(batch) < _CANDIDATE_BATCH:
                break
            after_id = batch[-1].id
        result = await self._read(tenant, matched, temporal, form, query.attrs)
        return replace(result, total=total if count else None, more_entities=total > offset + limit)

    async def _matches(self, tenant: str, entity: HistoryEntity, query: EntityQuery, temporal: TemporalQuery) -> bool:
        if query.selectors and not any(_selector_matches(selector, entity) for selector in query.selectors):
            return False
        if query.scope is not None and not matches_scope(query.scope, {"scope": list(entity.scope or ())}):
            return False
        if query.q is not None and not matches_q(query.q, await self._windowed(tenant, entity.id, query.q, temporal)):
            return False
        if query.geo is not None:
            current = await self.store.retrieve_entity(tenant, entity.id)
            if current is None or not matches_geo(query.geo, current):
                return False
        return True

    async def _windowed(self, tenant: str, entity_id: str, q: QNode, temporal: TemporalQuery) -> dict[str, Any]:
        """The entity as the instances of q's attributes in the window make it (deletions aside)."""
        windowed: dict[str, Any] = {"id": entity_id}
        for attribute in sorted(q_attributes(q)):
            rows = await self.store.read_history(tenant, entity_id, attribute, temporal.window, limit=_Q_INSTANCES)
            instances = [row.doc for row in rows if row.deleted_at_ms is None]
            if instances:
                windowed[attribute] = instances
        return windowed

    async def _read(
        self,
        tenant: str,
        entities: list[HistoryEntity],
        temporal: TemporalQuery,
        form: TemporalRepresentation,
        attrs: frozenset[str] | None,
    ) -> TemporalResult:
        out: list[TemporalEntity] = []
        for entity in entities:
            attributes = await self.store.history_attributes(tenant, entity.id)
            if attrs is not None:
                attributes = [attribute for attribute in attributes if attribute in attrs]
            temporal_entity = TemporalEntity(entity.id, entity.types)
            for attribute in attributes:
                if form.form == AGGREGATED_VALUES:
                    await self._aggregate(tenant, temporal_entity, attribute, temporal, form)
                else:
                    temporal_entity.instances[attribute] = await self._instances(tenant, entity.id, attribute, temporal)
            out.append(temporal_entity)
        if form.form == AGGREGATED_VALUES:
            return TemporalResult(out)  # aggregates are computed over the whole window, never cut
        return TemporalResult(out, content_range=self._cut(out, temporal))

    async def _instances(self, tenant: str, entity_id: str, attribute: str, temporal: TemporalQuery) -> list[HistoryInstance]:
        """Up to page_size + 1 instances (ascending), the extra one telling that the page is cut."""
        window = temporal.window
        if temporal.last_n is None:
            return await self.store.read_history(tenant, entity_id, attribute, window, limit=self.page_size + 1)
        limit = temporal.last_n if temporal.last_n <= self.page_size else self.page_size + 1
        rows = await self.store.read_history(tenant, entity_id, attribute, window, limit=limit, descending=True)
        return rows[::-1]

    def _cut(self, entities: list[TemporalEntity], temporal: TemporalQuery) -> ContentRange | None:
        backwards = temporal.last_n is not None
        if backwards and temporal.last_n is not None and temporal.last_n <= self.page_size:
            return None
        overflow = [
            rows[0].time_ms if backwards else rows[-1].time_ms
            for entity in entities
            for rows in entity.instances.values()
            if len(rows) > self.page_size
        ]
        if not overflow:
            return None
        if backwards:
            boundary = max(overflow)  # every instance after it is delivered, none at or before it
            keep: Callable[[HistoryInstance], bool] = lambda row: row.time_ms > boundary
        else:
            boundary = min(overflow)  # every instance before it is delivered, none at or after it
            keep = lambda row: row.time_ms < boundary
        cut = {
            (entity.id, attribute): [row for row in rows if keep(row)]
            for entity in entities
            for attribute, rows in entity.instances.items()
        }
        if not any(cut.values()):  # more than a page at one single instant: deliver a page of it
            cut = {
                (entity.id, attribute): (rows[1:] if backwards else rows[:-1]) if len(rows) > self.page_size else rows
                for entity in entities
                for attribute, rows in entity.instances.items()
            }
        times = [row.time_ms for rows in cut.values() for row in rows]
        for entity in entities:
            for attribute in entity.instances:
                entity.instances[attribute] = cut[(entity.id, attribute)]
        if backwards:
            start = temporal.end_time_at_ms if temporal.timerel == "between" else temporal.time_at_ms
            if temporal.timerel not in ("before", "between") or start is None:
                start = max(times)
            return ContentRange(start, min(times), temporal.last_n, next_end_ms=min(times))
        start = temporal.time_at_ms if temporal.timerel in ("after", "between") else None
        return ContentRange(start if start is not None else min(times), max(times), None, next_start_ms=max(times) + 1)

    async def _aggregate(
        self, tenant: str, entity: TemporalEntity, attribute: str, temporal: TemporalQuery, form: TemporalRepresentation
    ) -> None:
        assert form.aggregation is not None
        window = temporal.window
        bounds = await self.store.history_bounds(tenant, entity.id, attribute, window)
        if bounds is None:
            return
        sample = await self.store.read_history(tenant, entity.id, attribute, window, limit=1)
        attribute_type = str(sample[0].doc.get("type", "Property")) if sample else "Property"
        period = form.aggregation.period
        origin = window.start_ms if window.start_ms is not None else bounds[0]
        if period.months:
            origin = month_start_ms(month_index(origin))
        plan = AggregationPlan(form.aggregation.methods, period, origin)
        periods: list[Period] = []
        for row in await self.store.aggregate_history(tenant, entity.id, attribute, window, plan):
            if period.is_zero:
                start, end = origin, window.end_ms if window.end_ms is not None else bounds[1]
            elif period.months:
                start = month_start_ms(month_index(origin) + row.bucket * period.months)
                end = month_start_ms(month_index(origin) + (row.bucket + 1) * period.months)
            else:
                start = origin + row.bucket * period.ms
                end = start + period.ms
            periods.append(Period(row.dataset_id, start, min(end, LAST_MS), period_values(row, plan.methods)))
        entity.periods[attribute] = (attribute_type, periods)

    # -- writes (clauses 5.6.11 to 5.6.16) ----------------------------------------------------

    async def create_or_append(self, tenant: str, temporal_entity: dict[str, Any], now: str) -> bool:
        """POST /temporal/entities: a new temporal entity (True) or instances added to one (False)."""
        records = _records(temporal_entity, now)
        scope = temporal_entity.get("scope")
        entity = HistoryEntity(
            temporal_entity["id"],
            tuple(temporal_entity["type"]),
            (tuple(scope) if isinstance(scope, list) else (scope,)) if scope is not None else None,
        )
        return await self.store.add_history(tenant, entity, records)

    async def append_attributes(self, tenant: str, entity_id: str, fragment: dict[str, Any], now: str) -> None:
        """POST /temporal/entities/{id}/attrs (clause 5.6.12)."""
        known = await self.store.retrieve_history_entity(tenant, entity_id)
        if known is None:
            raise ResourceNotFound(f"entity {entity_id} has no temporal representation")
        records = _records({**fragment, "id": entity_id}, now)
        await self.store.add_history(tenant, HistoryEntity(entity_id, known.types, known.scope), records)

    async def delete_entity(self, tenant: str, entity_id: str) -> None:
        await self.store.delete_history_entity(tenant, entity_id)

    async def delete_attribute(
        self, tenant: str, entity_id: str, attribute: str, *, dataset_id: str | None, delete_all: bool
    ) -> None:
        """DELETE /temporal/entities/{id}/attrs/{attrId} (clause 5.6.13): the default instance's history,
        one dataset's (datasetId) or every dataset's (deleteAll=true)."""
        await self.store.delete_history_attribute(tenant, entity_id, attribute, None if delete_all else dataset_id or "")

    async def modify_instance(
        self, tenant: str, entity_id: str, attribute: str, instance_id: str, fragment: dict[str, Any], now: str
    ) -> None:
        """PATCH /temporal/entities/{id}/attrs/{attrId}/{instanceId} (clause 5.6.14): the given members replace
        the instance's; it keeps its createdAt and datasetId."""
        row_id = parse_instance_id(instance_id)
        now_ms = datetime_ms(now)

        def change(doc: dict[str, Any], created_ms: int) -> InstanceRecord:
            if "type" in fragment and fragment["type"] != doc.get("type"):
                raise BadRequestData(f"attribute {attribute} is a {doc.get('type')}; an instance cannot become a {fragment['type']}")
            merged = {**doc, **{key: value for key, value in fragment.items() if key not in STAMPS and key != "datasetId"}}
            merged.pop("deletedAt", None)
            record = instance_record(entity_id, attribute, merged, now_ms)
            return replace(record, created_at_ms=created_ms, modified_at_ms=now_ms)

        await self.store.modify_history_instance(tenant, entity_id, attribute, row_id, change)

    async def delete_instance(self, tenant: str, entity_id: str, attribute: str, instance_id: str) -> None:
        """DELETE /temporal/entities/{id}/attrs/{attrId}/{instanceId} (clause 5.6.15)."""
        await self.store.delete_history_instance(tenant, entity_id, attribute, parse_instance_id(instance_id))


def parse_instance_id(instance_id: str) -> int:
    number = instance_id[len(INSTANCE_ID_PREFIX) :] if instance_id.startswith(INSTANCE_ID_PREFIX) else ""
    if not is_count(number):
        raise ResourceNotFound(f"no attribute instance {instance_id} (instanceIds look like {INSTANCE_ID_PREFIX}42)")
    return int(number)


def q_attributes(node: QNode) -> set[str]:
    if isinstance(node, (And, Or)):
        return set().union(*(q_attributes(term) for term in node.terms))
    if isinstance(node, (Comparison, Exists, NotExists)):
        return {node.path.attribute}
    return set()


def _records(temporal_entity: dict[str, Any], now: str) -> list[InstanceRecord]:
    now_ms = datetime_ms(now)
    records: list[InstanceRecord] = []
    for key, instances in temporal_entity.items():
        if key in ENTITY_MEMBERS or not isinstance(instances, list):
            continue
        for instance in instances:
            stamped = {**instance, "createdAt": now, "modifiedAt": now}
            records.append(instance_record(temporal_entity["id"], key, stamped, now_ms))
    return records


def _prefilter(selectors: tuple[EntitySelector, ...]) -> tuple[list[str] | None, list[str] | None]:
    """What the store can narrow by: the ids and the plain type names of a single selector."""
    if len(selectors) != 1:
        return None, None
    selector = selectors[0]
    ids = list(selector.ids) if selector.ids is not None else None
    types: list[str] | None = None
    if isinstance(selector.types, TypeName) and selector.types.name != "*":
        types = [selector.types.name]
    elif isinstance(selector.types, TypeOr) and all(isinstance(term, TypeName) for term in selector.types.terms):
        names = [term.name for term in selector.types.terms if isinstance(term, TypeName)]
        types = None if "*" in names else names
    return ids, types


def _selector_matches(selector: EntitySelector, entity: HistoryEntity) -> bool:
    return (
        (selector.ids is None or entity.id in selector.ids)
        and (selector.id_pattern is None or pattern_matches(selector.id_pattern, entity.id))
        and (selector.types is None or matches_types(selector.types, {"type": list(entity.types)}))
    )


__all__ = ["ContentRange", "TemporalResult", "TemporalService", "parse_instance_id", "q_attributes"]
