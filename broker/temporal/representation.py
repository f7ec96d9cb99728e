# SPDX-License-Identifier: EUPL-1.2
"""The temporal representations of an entity (ETSI GS CIM 009 clauses 4.5.7, 4.5.9 and 4.5.19), compacted.

- normalized (4.5.7): each attribute is an array of its instances, each with its instanceId;
  createdAt, modifiedAt and an expiresAt the instance had with sysAttrs; an instance that records a deletion carries deletedAt
  and "urn:ngsi-ld:null" as its value.
- temporalValues, the simplified temporal representation (4.5.9): {"type", "values": [[value,
  time], ...]} per dataset, with "objects", "languageMaps", "vocabs", "valueLists", "objectLists"
  or "jsons" in place of "values" for the other attribute types.
- aggregatedValues (4.5.19): {"type", "<method>": [[value, start, end], ...]} per dataset.

Names are compacted with the request's TermMap (broker.ld); nothing here knows HTTP.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from broker.ld.members import ENTITY_MEMBERS
from broker.ld import TermMap, compact_entity, compact_instance, compact_types
from broker.temporal.instances import VALUE_MEMBER
from broker.temporal.model import OBSERVED_AT, AggregatedPeriod, HistoryInstance
from broker.temporal.times import format_ms

_COMPACTED_CORE = ENTITY_MEMBERS | {"@context"}
# Clause 4.5.9: the member holding the [value, time] pairs, by attribute type.
SIMPLIFIED_MEMBER = {
    "Property": "values",
    "GeoProperty": "values",
    "Relationship": "objects",
    "LanguageProperty": "languageMaps",
    "VocabProperty": "vocabs",
    "ListProperty": "valueLists",
    "ListRelationship": "objectLists",
    "JsonProperty": "jsons",
}


@dataclass(frozen=True, slots=True)
class Period:
    """One aggregated period of one dataset: its bounds and the value of each method asked for."""

    dataset_id: str
    start_ms: int
    end_ms: int
    values: dict[str, Any]


@dataclass
class TemporalEntity:
    """An entity's history as read for one request (expanded names)."""

    id: str
    types: tuple[str, ...]
    instances: dict[str, list[HistoryInstance]] = field(default_factory=dict)  # ascending time
    periods: dict[str, tuple[str, list[Period]]] = field(default_factory=dict)  # attribute -> (type, periods)


def render_normalized(entity: TemporalEntity, tm: TermMap, *, sys_attrs: bool) -> dict[str, Any]:
    expanded: dict[str, Any] = {"id": entity.id, "type": list(entity.types)}
    for attribute, rows in entity.instances.items():
        if rows:
            expanded[attribute] = [expanded_instance(row, sys_attrs=sys_attrs) for row in rows]
    compacted = compact_entity(expanded, tm)
    return {key: value if key in _COMPACTED_CORE or isinstance(value, list) else [value] for key, value in compacted.items()}


def expanded_instance(row: HistoryInstance, *, sys_attrs: bool) -> dict[str, Any]:
    instance = dict(row.doc)
    if not sys_attrs:
        instance.pop("expiresAt", None)  # a system member (clause 4.22), shown with sysAttrs as in the entity API
    instance["instanceId"] = row.instance_id
    if row.deleted_at_ms is not None:
        instance["deletedAt"] = format_ms(row.deleted_at_ms)
    if sys_attrs:
        instance["createdAt"] = format_ms(row.created_at_ms)
        instance["modifiedAt"] = format_ms(row.modified_at_ms)
    return instance


def render_temporal_values(entity: TemporalEntity, tm: TermMap, *, timeproperty: str) -> dict[str, Any]:
    out: dict[str, Any] = {"id": entity.id, "type": compact_types(list(entity.types), tm)}
    for attribute, rows in entity.instances.items():
        if not rows:
            continue
        datasets: dict[str, dict[str, Any]] = {}
        for row in rows:
            compacted = compact_instance(row.doc, tm)
            attribute_type = compacted.get("type", "Property")
            holder = datasets.get(row.dataset_id)
            if holder is None:
                holder = {"type": attribute_type, SIMPLIFIED_MEMBER.get(attribute_type, "values"): []}
                if row.dataset_id:
                    holder["datasetId"] = row.dataset_id
                datasets[row.dataset_id] = holder
            member = VALUE_MEMBER.get(attribute_type, "value")
            pairs = holder[SIMPLIFIED_MEMBER.get(holder["type"], "values")]
            pairs.append([compacted.get(member), _pair_time(row, timeproperty)])
        out[tm.compact_iri(attribute)] = _one_or_list(list(datasets.values()))
    return out


def _pair_time(row: HistoryInstance, timeproperty: str) -> str:
    if row.deleted_at_ms is not None and timeproperty == OBSERVED_AT:
        return format_ms(row.deleted_at_ms)
    if timeproperty == OBSERVED_AT and isinstance(row.doc.get("observedAt"), str):
        return str(row.doc["observedAt"])  # as the client wrote it
    return format_ms(row.time_ms)


def render_aggregated(entity: TemporalEntity, tm: TermMap, methods: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {"id": entity.id, "type": compact_types(list(entity.types), tm)}
    for attribute, (attribute_type, periods) in entity.periods.items():
        if not periods:
            continue
        datasets: dict[str, dict[str, Any]] = {}
        for period in periods:
            holder = datasets.get(period.dataset_id)
            if holder is None:
                holder = {"type": attribute_type, **{method: [] for method in methods}}
                if period.dataset_id:
                    holder["datasetId"] = period.dataset_id
                datasets[period.dataset_id] = holder
            start, end = format_ms(period.start_ms), format_ms(period.end_ms)
            for method in methods:
                holder[method].append([period.values.get(method), start, end])
        out[tm.compact_iri(attribute)] = _one_or_list(list(datasets.values()))
    return out


def period_values(period: AggregatedPeriod, methods: tuple[str, ...]) -> dict[str, Any]:
    """The methods' values of one period; stddev is the population standard deviation (see README)."""
    values: dict[str, Any] = {}
    for method in methods:
        if method == "totalCount":
            values[method] = period.total_count
        elif method == "distinctCount":
            values[method] = period.distinct_count
        elif method == "stddev":
            values[method] = math.sqrt(max(0.0, period.variance)) if period.variance is not None else None
        else:
            values[method] = getattr(period, method)
    return values


def _one_or_list(holders: list[dict[str, Any]]) -> Any:
    return holders[0] if len(holders) == 1 else holders


__all__ = [
    "SIMPLIFIED_MEMBER",
    "Period",
    "TemporalEntity",
    "expanded_instance",
    "period_values",
    "render_aggregated",
    "render_normalized",
    "render_temporal_values",
]
