# SPDX-License-Identifier: EUPL-1.2
"""The temporal query (ETSI GS CIM 009 clause 4.11, Table 5.2.21-1) and the aggregation parameters (4.5.19).

Takes the parameters as plain strings (URL parameters, or the temporalQ of a Query body) and gives
validated values, or raises BadRequestData naming the parameter: timerel without timeAt, an
endTimeAt not after timeAt, an unknown timeproperty or aggrMethod, a malformed duration.

Time windows are half-open: `after` keeps instants at or after timeAt, `before` those before it,
`between` those in [timeAt, endTimeAt). So a window "between July 1 and August 1" holds the
reading of July 1 00:00 and not the one of August 1 00:00, and consecutive windows never overlap.
"""

from __future__ import annotations

from dataclasses import dataclass

from broker.counts import is_count
from broker.errors import BadRequestData
from broker.temporal.model import (
    AGGREGATION_METHODS,
    OBSERVED_AT,
    TIME_PROPERTIES,
    HistoryWindow,
)
from broker.temporal.times import Duration, parse_datetime, parse_duration

TIMERELS = ("before", "after", "between")
NORMALIZED = "normalized"
TEMPORAL_VALUES = "temporalValues"
AGGREGATED_VALUES = "aggregatedValues"
_FORMATS = {
    "normalized": NORMALIZED,
    "temporalValues": TEMPORAL_VALUES,
    "simplified": TEMPORAL_VALUES,
    "aggregatedValues": AGGREGATED_VALUES,
}
_OPTIONS = frozenset(_FORMATS) | {"sysAttrs"}


@dataclass(frozen=True, slots=True)
class TemporalQuery:
    """timerel, timeAt, endTimeAt, timeproperty and lastN, checked; `window` is what the store reads."""

    window: HistoryWindow
    timerel: str | None = None
    time_at_ms: int | None = None
    end_time_at_ms: int | None = None
    last_n: int | None = None

    @property
    def timeproperty(self) -> str:
        return self.window.timeproperty


@dataclass(frozen=True, slots=True)
class Aggregation:
    methods: tuple[str, ...]
    period: Duration


@dataclass(frozen=True, slots=True)
class TemporalRepresentation:
    form: str = NORMALIZED  # normalized | temporalValues | aggregatedValues
    sys_attrs: bool = False
    aggregation: Aggregation | None = None


def parse_temporal_query(
    timerel: str | None,
    time_at: str | None,
    end_time_at: str | None,
    timeproperty: str | None = None,
    last_n: str | int | None = None,
    dataset_ids: tuple[str, ...] | None = None,
) -> TemporalQuery:
    prop = timeproperty if timeproperty is not None else OBSERVED_AT
    if prop not in TIME_PROPERTIES:
        raise BadRequestData(f"timeproperty must be one of {', '.join(TIME_PROPERTIES)}, got {prop!r}")
    n = _last_n(last_n)
    if timerel is None:
        if time_at is not None or end_time_at is not None:
            raise BadRequestData("timeAt and endTimeAt need a timerel (before, after or between)")
        return TemporalQuery(HistoryWindow(prop, dataset_ids=dataset_ids), last_n=n)
    if timerel not in TIMERELS:
        raise BadRequestData(f"timerel must be before, after or between, got {timerel!r}")
    if time_at is None:
        raise BadRequestData(f"timerel={timerel} needs timeAt (clause 4.11)")
    start = parse_datetime(time_at, "timeAt")
    end: int | None = None
    if timerel == "between":
        if end_time_at is None:
            raise BadRequestData("timerel=between needs endTimeAt (clause 4.11)")
        end = parse_datetime(end_time_at, "endTimeAt")
        if end <= start:
            raise BadRequestData(f"endTimeAt ({end_time_at}) must be after timeAt ({time_at})")
    elif end_time_at is not None:
        raise BadRequestData(f"endTimeAt applies to timerel=between only, not to timerel={timerel}")
    if timerel == "before":
        window = HistoryWindow(prop, end_ms=start, bounded=True, dataset_ids=dataset_ids)
    else:
        window = HistoryWindow(prop, start_ms=start, end_ms=end, bounded=True, dataset_ids=dataset_ids)
    return TemporalQuery(window, timerel, start, end, n)


def _last_n(value: str | int | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and is_count(value):
        number = int(value)
    else:
        raise BadRequestData(f"lastN must be a positive integer, got {value!r}")
    if number < 1:
        raise BadRequestData(f"lastN must be a positive integer, got {value!r}")
    return number


def parse_representation(
    options: str | None, format_value: str | None, aggr_methods: str | list[str] | None, aggr_period: str | None
) -> TemporalRepresentation:
    """format wins over options (clause 6.3.12); aggrMethods without a representation means aggregatedValues."""
    names = [item.strip() for item in options.split(",")] if options else []
    unknown = [name for name in names if name not in _OPTIONS]
    if unknown:
        raise BadRequestData(
            f"unknown options value {', '.join(unknown)}; the temporal API takes {', '.join(sorted(_OPTIONS))}"
        )
    forms = {_FORMATS[name] for name in names if name in _FORMATS}
    if format_value is not None:
        if format_value not in _FORMATS:
            raise BadRequestData(f"format must be normalized, temporalValues or aggregatedValues, got {format_value!r}")
        form = _FORMATS[format_value]
    elif len(forms) > 1:
        raise BadRequestData(f"options asks for more than one representation: {options}")
    elif forms:
        form = forms.pop()
    else:
        form = AGGREGATED_VALUES if aggr_methods is not None else NORMALIZED
    aggregation = None
    if form == AGGREGATED_VALUES:
        if aggr_methods is None:
            raise BadRequestData("aggregatedValues needs aggrMethods (clause 4.5.19)")
        aggregation = Aggregation(
            parse_aggr_methods(aggr_methods),
            parse_duration(aggr_period) if aggr_period is not None else Duration(),
        )
    elif aggr_period is not None:
        parse_duration(aggr_period)  # malformed input is an error whatever the representation
    return TemporalRepresentation(form, "sysAttrs" in names, aggregation)


def parse_aggr_methods(value: str | list[str]) -> tuple[str, ...]:
    items = [item.strip() for item in value.split(",")] if isinstance(value, str) else value
    if not items or not all(isinstance(item, str) and item for item in items):
        raise BadRequestData("aggrMethods must name at least one aggregation method")
    unknown = [item for item in items if item not in AGGREGATION_METHODS]
    if unknown:
        raise BadRequestData(
            f"unknown aggrMethods {', '.join(map(str, unknown))}; allowed: {', '.join(AGGREGATION_METHODS)}"
        )
    return tuple(dict.fromkeys(items))


__all__ = [
    "AGGREGATED_VALUES",
    "NORMALIZED",
    "TEMPORAL_VALUES",
    "TIMERELS",
    "Aggregation",
    "TemporalQuery",
    "TemporalRepresentation",
    "parse_aggr_methods",
    "parse_representation",
    "parse_temporal_query",
]
