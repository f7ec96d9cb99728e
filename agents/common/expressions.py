# SPDX-License-Identifier: EUPL-1.2
"""FIWARE-style JEXL expressions on attributes (iotagent-node-lib `expression`), with pyjexl.

FIWARE's agents evaluate JEXL in JavaScript, so `+` concatenates when either side is a string and a
missing identifier is undefined; pyjexl follows Python. We make `+` behave as in JavaScript and add
the transforms FIWARE's provisioning files use most (`|toString`, `|round`, `|substr(0,2)`,
`|parsefloat`, `|jsonparse`, ...), so existing files keep working. An expression that fails, or
yields null, drops the attribute (the caller counts it as `expression_error`).

pyjexl parses with a PEG grammar, which is slow; parsed expressions are cached per evaluator.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pyjexl  # type: ignore[import-untyped]
from pyjexl.evaluator import Context, Evaluator  # type: ignore[import-untyped]

MAX_CACHED = 1024


class ExpressionError(ValueError):
    """The expression cannot be parsed or evaluated; the message says why."""


class Expressions:
    def __init__(self) -> None:
        self._jexl = pyjexl.JEXL()
        self._jexl.add_binary_operator("+", 30, _js_add)
        for name, function in TRANSFORMS.items():
            self._jexl.add_transform(name, function)
        self._parsed: dict[str, Any] = {}

    def check(self, expression: str) -> None:
        """Raise ExpressionError when `expression` does not parse (used at provisioning time)."""
        self._parse(expression)

    def evaluate(self, expression: str, context: Mapping[str, Any]) -> Any:
        parsed = self._parse(expression)
        try:
            return Evaluator(self._jexl.config).evaluate(parsed, Context(dict(context)))
        except Exception as exc:  # pyjexl raises whatever Python raises for the operands
            raise ExpressionError(f"{expression!r}: {type(exc).__name__}: {exc}") from exc

    def _parse(self, expression: str) -> Any:
        parsed = self._parsed.get(expression)
        if parsed is None:
            try:
                parsed = self._jexl.parse(expression)
            except Exception as exc:
                raise ExpressionError(f"cannot parse {expression!r}") from exc
            if len(self._parsed) >= MAX_CACHED:
                self._parsed.clear()
            self._parsed[expression] = parsed
        return parsed


def _js_add(left: Any, right: Any) -> Any:
    if isinstance(left, str) or isinstance(right, str):
        return _js_string(left) + _js_string(right)
    return left + right


def _js_string(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _number(value: Any) -> float:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value).strip())
    except ValueError:
        return math.nan


def _parse_int(value: Any, base: int = 10) -> Any:
    match = re.match(r"\s*[-+]?\d+" if base == 10 else r"\s*[-+]?[0-9a-fA-F]+", str(value))
    return int(match.group(0), base) if match else None


def _parse_float(value: Any) -> Any:
    match = re.match(r"\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?", str(value))
    return float(match.group(0)) if match else None


def _round(value: Any, digits: int = 0) -> Any:
    number = _number(value)
    if math.isnan(number):
        return None
    result = math.floor(number * 10**digits + 0.5) / 10**digits  # JavaScript rounds .5 up
    return int(result) if digits == 0 else result


def _substr(value: Any, start: int, end: int | None = None) -> str:
    text = _js_string(value)
    return text[start:end] if end is not None else text[start:]


def _index_of(value: Any, needle: Any) -> int:
    if isinstance(value, list):
        return value.index(needle) if needle in value else -1
    return _js_string(value).find(_js_string(needle))


def _to_iso_date(value: Any) -> str:
    moment = datetime.fromtimestamp(_number(value) / 1000, UTC) if not isinstance(value, str) else datetime.fromisoformat(value)
    return moment.isoformat().replace("+00:00", "Z")


def _value_picker(value: Mapping[str, Any], wanted: Any) -> list[str]:
    return [key for key, item in value.items() if item == wanted]


TRANSFORMS: dict[str, Any] = {
    "toString": _js_string,
    "jsonstringify": lambda v: json.dumps(v, separators=(",", ":")),
    "jsonparse": lambda v: json.loads(v),
    "toUpperCase": lambda v: _js_string(v).upper(),
    "toLowerCase": lambda v: _js_string(v).lower(),
    "trim": lambda v: _js_string(v).strip(),
    "length": lambda v: len(v) if v is not None else 0,
    "lengtharray": lambda v: len(v),
    "substr": _substr,
    "indexOf": _index_of,
    "split": lambda v, sep: _js_string(v).split(sep),
    "joinarrtostr": lambda v, sep="": sep.join(_js_string(x) for x in v),
    "concatarr": lambda v, other: list(v) + list(other),
    "replacestr": lambda v, old, new: _js_string(v).replace(old, new, 1),
    "replaceallstr": lambda v, old, new: _js_string(v).replace(old, new),
    "replaceregexstr": lambda v, pattern, new: re.sub(pattern, new, _js_string(v)),
    "parseint": _parse_int,
    "parsefloat": _parse_float,
    "round": _round,
    "toFixed": lambda v, digits=0: f"{_number(v):.{int(digits)}f}",
    "floor": lambda v: math.floor(_number(v)),
    "ceil": lambda v: math.ceil(_number(v)),
    "abs": lambda v: abs(_number(v)),
    "isnan": lambda v: math.isnan(_number(v)),
    "typeof": lambda v: {bool: "boolean", int: "number", float: "number", str: "string"}.get(type(v), "object"),
    "isarray": lambda v: isinstance(v, list),
    "addreduce": lambda v: sum(_number(x) for x in v),
    "hextostring": lambda v: bytes.fromhex(_js_string(v)).decode("utf-8", "replace"),
    "valuePicker": _value_picker,
    "now": lambda _v=None: int(time.time() * 1000),
    "toisodate": _to_iso_date,
    "toisostring": lambda v: _to_iso_date(v),
    "getTime": lambda v: int(datetime.fromisoformat(str(v)).timestamp() * 1000),
    "slice": lambda v, start, end=None: v[start:end],
    "mapper": lambda v, keys, values: values[keys.index(v)] if v in keys else None,
}
