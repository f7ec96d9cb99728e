# SPDX-License-Identifier: EUPL-1.2
"""Instants and durations of the temporal API: DateTime (clause 4.6.3) and ISO 8601 durations.

The history keeps every instant as integer milliseconds since the Unix epoch (UTC): both stores
compare and bucket integers, and millisecond precision is the broker's own (createdAt/modifiedAt).
A finer observedAt keeps its text in the stored instance; only its ordering is by millisecond.

Durations (aggrPeriodDuration, clause 4.5.19) are either calendar (years and months) or fixed
(weeks, days, hours, minutes, seconds; a day is 24 h, since every instant is UTC). A duration that
mixes both has no single bucket width, and is refused.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from broker.errors import BadRequestData

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# ASCII digits, at most 18 to a part: int() and float() read them, and _bounded refuses what is too long.
_DURATION = re.compile(
    r"^P(?:(?P<years>[0-9]{1,18})Y)?(?:(?P<months>[0-9]{1,18})M)?(?:(?P<days>[0-9]{1,18})D)?"
    r"(?:T(?:(?P<hours>[0-9]{1,18})H)?(?:(?P<minutes>[0-9]{1,18})M)?(?:(?P<seconds>[0-9]{1,18}(?:\.[0-9]{1,9})?)S)?)?$"
)
_WEEKS = re.compile(r"^P(?P<weeks>[0-9]{1,18})W$")
DAY_MS = 86_400_000


def parse_datetime(text: object, name: str) -> int:
    """A DateTime parameter (YYYY-MM-DDThh:mm:ss[.fff]Z, UTC only) as epoch milliseconds."""
    if not isinstance(text, str) or not _DATETIME.match(text):
        raise BadRequestData(f"{name} must be a DateTime such as 2026-07-01T00:00:00Z (UTC, clause 4.6.3), got {text!r}")
    try:
        return to_ms(datetime.fromisoformat(text))
    except ValueError:
        raise BadRequestData(f"{name} is not a valid DateTime: {text!r}") from None


def parse_date_or_datetime(text: str, name: str, *, end: bool) -> int:
    """A day (YYYY-MM-DD, the whole UTC day) or a DateTime; `end`: the exclusive end of the range."""
    if _DATE.match(text):
        try:
            day = datetime.fromisoformat(text).replace(tzinfo=UTC)
        except ValueError:
            raise BadRequestData(f"{name} is not a valid date: {text!r}") from None
        return to_ms(day) + (DAY_MS if end else 0)
    return parse_datetime(text, name)


@functools.lru_cache(maxsize=4096)  # a write stamps every instance with the same few instants
def datetime_ms(text: str) -> int:
    """A stored DateTime (already validated on write) as epoch milliseconds."""
    return to_ms(datetime.fromisoformat(text))


def to_ms(moment: datetime) -> int:
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


@functools.lru_cache(maxsize=65_536)  # period bounds repeat for every entity of an aggregated query
def format_ms(ms: int) -> str:
    """The broker's DateTime form: UTC, milliseconds, 'Z'; the year in four digits (strftime's %Y gives
    years before 1000 fewer, which is no DateTime and which PostgreSQL reads as another year)."""
    moment = _EPOCH + timedelta(milliseconds=ms)
    return f"{moment.year:04d}-" + moment.strftime("%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def month_index(ms: int) -> int:
    """Months since January of year 0 of the UTC month holding the instant (bucket arithmetic)."""
    moment = _EPOCH + timedelta(milliseconds=ms)
    return moment.year * 12 + moment.month - 1


def month_start_ms(index: int) -> int:
    """The first instant of the month `index` (as month_index counts), for any year: a period may end
    beyond year 9999, where datetime stops (the days-from-civil arithmetic of the proleptic Gregorian
    calendar)."""
    year, month = divmod(index, 12)
    month += 1
    year -= month <= 2
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return (era * 146_097 + day_of_era - 719_468) * DAY_MS


# The last instant a DateTime can name (four-digit years): the end of the last aggregation period is
# shown as this when the period runs past it.
LAST_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z
# The longest aggrPeriodDuration: longer periods could not be computed with, and PT0S asks for one
# period over the whole window anyway.
LONGEST_PERIOD_MONTHS = 12 * 1000


@dataclass(frozen=True, slots=True)
class Duration:
    """An aggrPeriodDuration: whole months (calendar) or milliseconds (fixed); both zero: PT0S."""

    months: int = 0
    ms: int = 0

    @property
    def is_zero(self) -> bool:
        return self.months == 0 and self.ms == 0


def parse_duration(text: object, name: str = "aggrPeriodDuration") -> Duration:
    """P[n]Y[n]M[n]DT[n]H[n]M[n]S or P[n]W (clause 4.5.19); PT0S spans the whole time range."""
    if not isinstance(text, str):
        raise BadRequestData(f"{name} must be an ISO 8601 duration such as PT1H")
    weeks = _WEEKS.match(text)
    if weeks:
        return _bounded(Duration(ms=int(weeks["weeks"]) * 7 * DAY_MS), text, name)
    match = _DURATION.match(text)
    if match is None or text in ("P", "PT") or text.endswith("T"):
        raise BadRequestData(
            f"{name} {text!r} is not an ISO 8601 duration (P[n]Y[n]M[n]DT[n]H[n]M[n]S or P[n]W, e.g. PT1H, P1D, P1M)"
        )
    parts = {key: value for key, value in match.groupdict().items() if value is not None}
    months = int(parts.get("years", 0)) * 12 + int(parts.get("months", 0))
    seconds = float(parts.get("seconds", 0))
    ms = (
        int(parts.get("days", 0)) * DAY_MS
        + int(parts.get("hours", 0)) * 3_600_000
        + int(parts.get("minutes", 0)) * 60_000
        + round(seconds * 1000)
    )
    if months and ms:
        raise BadRequestData(
            f"{name} {text!r} mixes calendar parts (years, months) with fixed parts (weeks, days, hours, minutes, "
            "seconds); this broker aggregates by one kind: use e.g. P1M or P30D"
        )
    return _bounded(Duration(months=months, ms=ms), text, name)


def _bounded(duration: Duration, text: str, name: str) -> Duration:
    if duration.months > LONGEST_PERIOD_MONTHS or duration.ms > LONGEST_PERIOD_MONTHS * 31 * DAY_MS:
        raise BadRequestData(f"{name} {text!r} is longer than 1,000 years; PT0S aggregates the whole time range")
    return duration


__all__ = [
    "DAY_MS",
    "Duration",
    "LAST_MS",
    "datetime_ms",
    "format_ms",
    "month_index",
    "month_start_ms",
    "parse_date_or_datetime",
    "parse_datetime",
    "parse_duration",
    "to_ms",
]
