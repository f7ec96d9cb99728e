# SPDX-License-Identifier: EUPL-1.2
"""JSON Schema 2020-12 resolution and formats, offline.

Every schema the shipped models `$ref` is registered up front under each URL refs.json gives it,
so resolution never reaches the `retrieve` hook, which refuses to fetch anything. The format
checker adds offline checks for the formats the schemas use that jsonschema only checks with
optional packages: `date-time`, `time` and `uri`.
"""

from __future__ import annotations

import functools
import re
from datetime import date, time
from typing import Any

from jsonschema import FormatChecker  # type: ignore[import-untyped]
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource
from referencing.jsonschema import DRAFT202012

from smart_data_models.catalog import load_json, refs

# ISO 8601 calendar date and time, seconds and fraction optional, offset optional: the Smart Data
# Models examples omit the offset ("2016-03-15T11:00:00"), which RFC 3339 would require.
_DATE_TIME = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})[Tt ](?P<time>\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)(?P<offset>[Zz]|[+-]\d{2}:?\d{2})?$"
)
_TIME = re.compile(r"^(?P<time>\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)(?P<offset>[Zz]|[+-]\d{2}:?\d{2})?$")
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|\\^`]*$")


def _retrieve(uri: str) -> Resource[Any]:
    raise NoSuchResource(ref=uri)  # type: ignore[call-arg]  # everything shipped is registered already; nothing is fetched


@functools.cache
def registry() -> Registry[Any]:
    """All shipped schemas, under every URL that names them (refs.json); crawled once."""
    pairs: list[tuple[str, Resource[Any]]] = []
    resources_by_path: dict[str, Resource[Any]] = {}
    for url, path in refs().items():
        if not path.endswith(".json"):
            continue  # @context documents are not schemas
        resource = resources_by_path.get(path)
        if resource is None:
            resource = resources_by_path[path] = DRAFT202012.create_resource(load_json(path))
        pairs.append((url, resource))
    return Registry(retrieve=_retrieve).with_resources(pairs).crawl()  # type: ignore[call-arg]


@functools.cache
def format_checker() -> FormatChecker:
    checker = FormatChecker()
    checker.checks("date-time")(_is_date_time)
    checker.checks("time")(_is_time)
    checker.checks("uri")(_is_uri)
    return checker


def _valid_time(text: str) -> bool:
    try:
        time.fromisoformat(text.replace(",", "."))
    except ValueError:
        return False
    return True


def _valid_offset(offset: str | None) -> bool:
    if offset is None or offset in ("Z", "z"):
        return True
    digits = offset[1:].replace(":", "")
    return int(digits[:2]) <= 23 and int(digits[2:]) <= 59


def _is_date_time(instance: object) -> bool:
    if not isinstance(instance, str):
        return True
    match = _DATE_TIME.match(instance)
    if match is None:
        return False
    try:
        date.fromisoformat(match["date"])
    except ValueError:
        return False
    return _valid_time(match["time"]) and _valid_offset(match["offset"])


def _is_time(instance: object) -> bool:
    if not isinstance(instance, str):
        return True
    match = _TIME.match(instance)
    return match is not None and _valid_time(match["time"]) and _valid_offset(match["offset"])


def _is_uri(instance: object) -> bool:
    return not isinstance(instance, str) or _URI.match(instance) is not None


__all__ = ["format_checker", "registry"]
