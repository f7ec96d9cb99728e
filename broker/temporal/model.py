# SPDX-License-Identifier: EUPL-1.2
"""The values that cross the store boundary for the history (ETSI GS CIM 009 clauses 4.5.7 to 4.5.9, 4.5.19).

An attribute instance of the history is one row: the instance as it was (expanded, the `doc`), its
entity, attribute IRI and datasetId ("" for the default instance), its instants in epoch
milliseconds and, for aggregation, its value as a number when it is one. `time_ms` orders the
rows of one attribute: observedAt when the instance has one, else the instant of the write
(modifiedAt), or deletedAt for the instance that records a deletion.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from broker.temporal.times import Duration

INSTANCE_ID_PREFIX = "urn:ngsi-ld:attribute:instance:"
OBSERVED_AT = "observedAt"
TIME_PROPERTIES = ("observedAt", "createdAt", "modifiedAt", "deletedAt")
AGGREGATION_METHODS = ("totalCount", "distinctCount", "sum", "avg", "min", "max", "stddev", "sumsq")


@dataclass(frozen=True, slots=True)
class InstanceRecord:
    """One attribute instance to add to the history."""

    entity_id: str
    attribute: str
    dataset_id: str
    doc: dict[str, Any]
    value: str  # JSON text of the instance's value member (value, object, languageMap, ...)
    number: float | None  # the value as a number (booleans 0/1) for sum, avg, min, max, stddev, sumsq
    time_ms: int
    observed_at_ms: int | None
    created_at_ms: int
    modified_at_ms: int
    deleted_at_ms: int | None = None


@dataclass(frozen=True, slots=True)
class HistoryInstance:
    """One attribute instance read back; `row_id` is the store's key, which the instanceId carries."""

    row_id: int
    attribute: str
    dataset_id: str
    doc: dict[str, Any]
    time_ms: int  # the value of the requested time property (the order of the rows)
    created_at_ms: int
    modified_at_ms: int
    deleted_at_ms: int | None

    @property
    def instance_id(self) -> str:
        return f"{INSTANCE_ID_PREFIX}{self.row_id}"


@dataclass(frozen=True, slots=True)
class HistoryEntity:
    """An entity the history knows, alive or deleted (deleted_at_ms), with its latest types and scope."""

    id: str
    types: tuple[str, ...]
    scope: tuple[str, ...] | None = None
    deleted_at_ms: int | None = None


@dataclass(frozen=True, slots=True)
class HistoryWindow:
    """Which rows of an attribute: by time property, in [start_ms, end_ms) (None: unbounded).

    `bounded` says a timerel was given: then only rows that carry the time property count (an
    instance without observedAt has no place on an observedAt axis). deletedAt always selects the
    rows that record a deletion (clause 4.11).
    """

    timeproperty: str = OBSERVED_AT
    start_ms: int | None = None
    end_ms: int | None = None
    bounded: bool = False
    dataset_ids: tuple[str, ...] | None = None  # None: every dataset; "" is the default instance


@dataclass(frozen=True, slots=True)
class HistoryCursor:
    """Continue after this row (keyset paging for streamed reads): its time and row id."""

    time_ms: int
    row_id: int


@dataclass(frozen=True, slots=True)
class AggregationPlan:
    """aggrMethods over periods of `period` from `origin_ms` (calendar periods: from its month start)."""

    methods: tuple[str, ...]
    period: Duration
    origin_ms: int  # the start of the first period


@dataclass(frozen=True, slots=True)
class AggregatedPeriod:
    """One period of one dataset of an attribute, as the store computed it."""

    dataset_id: str
    bucket: int  # period number from the plan's origin (0 for PT0S)
    total_count: int
    distinct_count: int | None  # this and the following: None unless the plan asked for them
    sum: float | None
    avg: float | None
    min: float | None
    max: float | None
    variance: float | None  # population variance; stddev is its square root
    sumsq: float | None
    first_ms: int
    last_ms: int


__all__ = [
    "AGGREGATION_METHODS",
    "INSTANCE_ID_PREFIX",
    "OBSERVED_AT",
    "TIME_PROPERTIES",
    "AggregatedPeriod",
    "AggregationPlan",
    "HistoryCursor",
    "HistoryEntity",
    "HistoryInstance",
    "HistoryWindow",
    "InstanceRecord",
]
