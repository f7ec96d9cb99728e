# SPDX-License-Identifier: EUPL-1.2
"""How typed literals compare, shared by the Python predicate and the SQL functions so that both agree.

Clause 4.9: "When comparing dates or times, the order relation considered shall be a temporal one."
Target values are JSON strings; a string takes part in a dateTime (date, time) comparison only when
it is one (clause 4.6.3). Each is mapped to a fixed-width UTC form, so that comparing the forms as
strings compares the instants, in Python and in SQLite (BINARY collation) alike. Regular expressions
are Python `re` patterns (clause 4.9 names IEEE 1003.2 EREs; `re` accepts almost all of them, and
the flags group `(?i)` people use), matched with `search`, as a substring, as Orion-LD does.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from functools import lru_cache

DATETIME_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})?", re.ASCII
)
DATE_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})", re.ASCII)
TIME_RE = re.compile(r"(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})?", re.ASCII)


def normalize_datetime(text: object) -> str | None:
    """Map "2026-11-26T09:00:00+01:00" to "2026-11-26T08:00:00.000000000Z"; None for what is not a dateTime.

    A dateTime without an offset is taken as UTC, the zone clause 4.6.3 asks for.
    """
    return _normalize_datetime(text) if isinstance(text, str) else None


@lru_cache(maxsize=4096)
def _normalize_datetime(text: str) -> str | None:
    match = DATETIME_RE.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        instant = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second))
        instant -= _offset(zone)
    except (ValueError, OverflowError):
        return None
    return f"{instant.year:04d}-{instant:%m-%dT%H:%M:%S}.{(fraction or '').ljust(9, '0')}Z"


def normalize_date(text: object) -> str | None:
    return _normalize_date(text) if isinstance(text, str) else None


@lru_cache(maxsize=1024)
def _normalize_date(text: str) -> str | None:
    match = DATE_RE.fullmatch(text)
    if match is None:
        return None
    try:
        datetime(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None
    return text


def normalize_time(text: object) -> str | None:
    """Map "09:30:00+01:00" to "08:30:00.000000000": a time with an offset moves to UTC on a 24-hour clock."""
    return _normalize_time(text) if isinstance(text, str) else None


@lru_cache(maxsize=1024)
def _normalize_time(text: str) -> str | None:
    match = TIME_RE.fullmatch(text)
    if match is None:
        return None
    hour, minute, second, fraction, zone = match.groups()
    if int(hour) > 23 or int(minute) > 59 or int(second) > 59:
        return None
    try:
        offset = _offset(zone)
    except ValueError:
        return None
    seconds = (int(hour) * 3600 + int(minute) * 60 + int(second) - int(offset.total_seconds())) % 86_400
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}.{(fraction or '').ljust(9, '0')}"


def _offset(zone: str | None) -> timedelta:
    if zone is None or zone == "Z":
        return timedelta(0)
    hours, minutes = int(zone[1:3]), int(zone[4:6])
    if hours > 23 or minutes > 59:
        raise ValueError(zone)
    offset = timedelta(hours=hours, minutes=minutes)
    return -offset if zone[0] == "-" else offset


@lru_cache(maxsize=512)
def compile_pattern(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except (re.error, RecursionError, OverflowError):
        return None


def pattern_matches(pattern: object, text: object) -> bool:
    """Both sides of the q `~=` operator, in Python and as SQLite's REGEXP: a string whose substring matches."""
    if not isinstance(pattern, str) or not isinstance(text, str):
        return False
    compiled = compile_pattern(pattern)
    return compiled is not None and compiled.search(text) is not None
