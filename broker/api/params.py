# SPDX-License-Identifier: EUPL-1.2
"""URL query parameters: only the ones an operation defines are accepted (unknown: 400).

Values come back as plain Python values with compacted names; the route expands names with the
request's @context.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from starlette.datastructures import QueryParams

from broker.errors import BadRequestData, InvalidRequest


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


__all__ = ["check_known", "split_list", "parse_options", "parse_bool", "Representation", "parse_representation"]
