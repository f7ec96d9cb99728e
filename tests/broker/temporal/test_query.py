# SPDX-License-Identifier: EUPL-1.2
"""The temporal query parameters and durations: what is accepted, and the 400s for bad input."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from broker.errors import BadRequestData
from broker.temporal.query import (
    AGGREGATED_VALUES,
    TEMPORAL_VALUES,
    parse_representation,
    parse_temporal_query,
)
from broker.temporal.times import (
    DAY_MS,
    Duration,
    datetime_ms,
    format_ms,
    month_start_ms,
    parse_datetime,
    parse_duration,
    to_ms,
)


def test_windows_are_half_open() -> None:
    between = parse_temporal_query("between", "2026-07-01T00:00:00Z", "2026-08-01T00:00:00Z")
    assert format_ms(between.window.start_ms or 0) == "2026-07-01T00:00:00.000Z"
    assert format_ms(between.window.end_ms or 0) == "2026-08-01T00:00:00.000Z"
    before = parse_temporal_query("before", "2026-07-01T00:00:00Z", None)
    assert before.window.start_ms is None and before.window.end_ms == parse_datetime("2026-07-01T00:00:00Z", "t")
    assert parse_temporal_query(None, None, None).window.bounded is False


@pytest.mark.parametrize(
    "args",
    [
        ("after", None, None),  # timerel without timeAt
        ("between", "2026-07-01T00:00:00Z", None),  # between without endTimeAt
        ("between", "2026-07-02T00:00:00Z", "2026-07-01T00:00:00Z"),  # endTimeAt before timeAt
        ("between", "2026-07-01T00:00:00Z", "2026-07-01T00:00:00Z"),  # empty window
        ("during", "2026-07-01T00:00:00Z", None),  # unknown timerel
        ("after", "2026-07-01", None),  # not a DateTime
        ("after", "2026-07-01T00:00:00+02:00", None),  # not UTC
        (None, "2026-07-01T00:00:00Z", None),  # timeAt without timerel
        ("after", "2026-07-01T00:00:00Z", "2026-07-02T00:00:00Z"),  # endTimeAt without between
    ],
)
def test_bad_temporal_queries_are_bad_request_data(args: tuple[str | None, str | None, str | None]) -> None:
    with pytest.raises(BadRequestData):
        parse_temporal_query(*args)


@pytest.mark.parametrize("timeproperty,last_n", [("expiresAt", None), (None, "0"), (None, "-1"), (None, "ten")])
def test_bad_timeproperty_or_last_n(timeproperty: str | None, last_n: str | None) -> None:
    with pytest.raises(BadRequestData):
        parse_temporal_query(None, None, None, timeproperty, last_n)


@pytest.mark.parametrize(
    "text,expected",
    [
        ("PT1H", Duration(ms=3_600_000)),
        ("PT10M", Duration(ms=600_000)),
        ("PT0.5S", Duration(ms=500)),
        ("P1D", Duration(ms=DAY_MS)),
        ("P2W", Duration(ms=14 * DAY_MS)),
        ("P1DT12H", Duration(ms=DAY_MS + 12 * 3_600_000)),
        ("P1M", Duration(months=1)),
        ("P1Y6M", Duration(months=18)),
        ("PT0S", Duration()),
        ("P0D", Duration()),
    ],
)
def test_durations(text: str, expected: Duration) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text",
    ["P", "PT", "1H", "PT1", "P1H", "PT-1H", "P1M1D", "hourly", "P1WT1H", "P1001Y", "P99999999999Y", "PT9999999999999999999S", "P99999999W", "PT" + "9" * 400 + "S", "P" + "9" * 5000 + "W",
     "P" + "9" * 5000 + "Y", "PT1.0000000001S", "P\u0663D"],
)
def test_malformed_or_mixed_durations_are_bad_request_data(text: str) -> None:
    with pytest.raises(BadRequestData):
        parse_duration(text)


def test_representations() -> None:
    assert parse_representation("temporalValues", None, None, None).form == TEMPORAL_VALUES
    assert parse_representation("simplified,sysAttrs", None, None, None).sys_attrs
    aggregated = parse_representation(None, "aggregatedValues", "avg,max", "PT1H")
    assert aggregated.form == AGGREGATED_VALUES and aggregated.aggregation is not None
    assert aggregated.aggregation.methods == ("avg", "max")
    assert parse_representation(None, None, "sum", None).form == AGGREGATED_VALUES  # aggrMethods implies it
    with pytest.raises(BadRequestData):
        parse_representation("aggregatedValues", None, None, None)  # no aggrMethods
    with pytest.raises(BadRequestData):
        parse_representation(None, None, "median", "PT1H")  # unknown aggrMethod
    with pytest.raises(BadRequestData):
        parse_representation(None, None, "avg", "one hour")  # malformed duration
    with pytest.raises(BadRequestData):
        parse_representation("keyValues", None, None, None)  # not a temporal representation


@given(st.integers(0, 12 * 10_000 - 1))
def test_month_start_is_the_first_instant_of_the_month(index: int) -> None:
    year, month = divmod(index, 12)
    if year >= 1:
        assert month_start_ms(index) == to_ms(datetime(year, month + 1, 1, tzinfo=UTC))
    assert month_start_ms(index + 1) - month_start_ms(index) in {d * DAY_MS for d in (28, 29, 30, 31)}


@given(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59, 999999)))
def test_format_ms_is_a_datetime_that_reads_back_for_every_year(moment: datetime) -> None:
    # strftime's %Y gave years before 1000 fewer than four digits: no DateTime, and PostgreSQL read
    # '1-01-01' as 2001 when it attached a history partition, so the broker did not start again.
    ms = to_ms(moment.replace(tzinfo=UTC))
    text = format_ms(ms)
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z", text), text
    assert text == moment.isoformat(timespec="milliseconds") + "Z"
    assert datetime_ms(text) == ms
