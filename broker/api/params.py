# SPDX-License-Identifier: EUPL-1.2
"""URL query parameters: only the ones an operation defines are accepted (unknown: 400).

Values come back as plain Python values with compacted names; the route expands names with the
request's @context.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from urllib.parse import urlencode

from starlette.datastructures import QueryParams

from broker.counts import is_count
from broker.errors import BadRequestData, InvalidRequest, TooManyResults


def check_known(params: QueryParams, allowed: Collection[str]) -> None:
    for name in params.keys():
        if name not in allowed:
            raise InvalidRequest(f"unknown URL parameter {name!r}; this operation takes {', '.join(sorted(allowed)) or 'none'}")
    for name in params.keys():
        if len(params.getlist(name)) > 1:
            raise InvalidRequest(f"URL parameter {name!r} is given more than once")


def split_list(value: str | None, what: str) -> list[str] | None:
    if value is None:
        return None
    items = [item.strip() for item in value.split(",")]
    if not all(items):
        raise BadRequestData(f"{what} has an empty item: {value!r}")
    return items


def parse_options(value: str | None, allowed: Collection[str]) -> set[str]:
    options = set(split_list(value, "options") or ())
    unknown = options.difference(allowed)
    if unknown:
        raise InvalidRequest(f"unknown options value {', '.join(sorted(unknown))}; allowed: {', '.join(sorted(allowed))}")
    return options


def parse_bool(value: str | None, name: str) -> bool:
    if value is None:
        return False
    if value in ("true", "false"):
        return value == "true"
    raise InvalidRequest(f"{name} must be true or false, got {value!r}")


@dataclass(frozen=True)
class Representation:
    """What the client asked for with options= and format= (format wins, clause 6.3.7)."""

    form: str = "normalized"  # normalized | concise | keyValues
    sys_attrs: bool = False


_FORMATS = {"normalized": "normalized", "concise": "concise", "keyValues": "keyValues", "simplified": "keyValues"}


def parse_representation(options_value: str | None, format_value: str | None) -> Representation:
    options = parse_options(options_value, {"keyValues", "concise", "normalized", "sysAttrs", "simplified"})
    forms = {_FORMATS[o] for o in options if o in _FORMATS}
    if format_value is not None:
        if format_value not in _FORMATS:
            raise InvalidRequest(f"unknown format {format_value!r}; allowed: {', '.join(_FORMATS)}")
        form = _FORMATS[format_value]
    elif len(forms) > 1:
        raise BadRequestData(f"options asks for more than one representation: {', '.join(sorted(options))}")
    else:
        form = forms.pop() if forms else "normalized"
    return Representation(form=form, sys_attrs="sysAttrs" in options)




@dataclass(frozen=True)
class Page:
    limit: int
    offset: int
    count: bool


def parse_page(params: QueryParams, *, default_limit: int, max_limit: int) -> Page:
    """limit/offset/count (clause 5.5.9): limit beyond the broker's maximum is 403 TooManyResults."""
    asked = params.get("limit")
    if asked is not None and asked.isascii() and asked.isdigit() and not is_count(asked):
        raise TooManyResults(f"limit ({len(asked)} digits) is over this broker's maximum page size of {max_limit}")
    limit = _non_negative(asked, "limit", default_limit)
    offset = _non_negative(params.get("offset"), "offset", 0)
    count = parse_bool(params.get("count"), "count")
    if limit > max_limit:
        raise TooManyResults(f"limit={limit} is over this broker's maximum page size of {max_limit}")
    if limit == 0 and not count:
        raise BadRequestData("limit=0 is only allowed with count=true")
    return Page(limit, offset, count)


def _non_negative(value: str | None, name: str, default: int) -> int:
    if value is None:
        return default
    if not is_count(value):
        raise BadRequestData(f"{name} must be a non-negative integer, got {value!r}")
    return int(value)


def page_links(path: str, params: QueryParams, page: Page, total: int) -> dict[str, str]:
    """Relative Link headers rel="prev"/"next" (clause 6.3.14) and NGSILD-Results-Count."""
    headers: dict[str, str] = {}
    links: list[str] = []
    base = {k: v for k, v in params.items() if k != "offset"}
    if page.offset > 0 and page.limit > 0:
        links.append(f'<{path}?{urlencode({**base, "offset": max(0, page.offset - page.limit)})}>; rel="prev"')
    if page.limit > 0 and page.offset + page.limit < total:
        links.append(f'<{path}?{urlencode({**base, "offset": page.offset + page.limit})}>; rel="next"')
    if links:
        headers["Link"] = ", ".join(links)
    if page.count:
        headers["NGSILD-Results-Count"] = str(total)
    return headers


__all__ = [
    "check_known",
    "split_list",
    "parse_options",
    "parse_bool",
    "Representation",
    "parse_representation",
    "Page",
    "parse_page",
    "page_links",
]
