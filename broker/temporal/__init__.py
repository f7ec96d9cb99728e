# SPDX-License-Identifier: EUPL-1.2
"""The attribute history and the temporal API's core (ETSI GS CIM 009 clauses 4.5.7 to 4.5.9, 4.5.19, 5.6.11 to 5.6.16, 5.7.3, 5.7.4).

- model: what crosses the store boundary (instance records, windows, aggregation plans)
- times: DateTime and ISO 8601 duration arithmetic on epoch milliseconds
- instances: which instances an entity write adds to the history (the stores call it)
- query: the temporal query parameters, validated (400 BadRequestData on bad input)
- representation: normalized, temporalValues (simplified) and aggregatedValues
- service: the operations of the temporal API over a Store (import broker.temporal.service)
- open_data: streamed CSV / GeoJSON / JSON Lines downloads of the history (broker.temporal.open_data)
- retention: the periodic purge of instances older than a tenant's retention

This package imports only its leaf modules, so the stores (which import broker.temporal.instances)
and the service (which imports broker.store.base) never import each other in a cycle.
"""

from broker.temporal.instances import entity_change, history_records, instance_record
from broker.temporal.model import (
    AGGREGATION_METHODS,
    TIME_PROPERTIES,
    AggregatedPeriod,
    AggregationPlan,
    HistoryCursor,
    HistoryEntity,
    HistoryInstance,
    HistoryWindow,
    InstanceRecord,
)
from broker.temporal.times import Duration, format_ms, parse_datetime, parse_duration

__all__ = [
    "AGGREGATION_METHODS",
    "TIME_PROPERTIES",
    "AggregatedPeriod",
    "AggregationPlan",
    "Duration",
    "HistoryCursor",
    "HistoryEntity",
    "HistoryInstance",
    "HistoryWindow",
    "InstanceRecord",
    "entity_change",
    "format_ms",
    "history_records",
    "instance_record",
    "parse_datetime",
    "parse_duration",
]
