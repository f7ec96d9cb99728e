# SPDX-License-Identifier: EUPL-1.2
"""Compile a JSON Schema (2020-12) into one plain Python predicate: the fast "is it valid?" test.

jsonschema walks the schema for every instance (a few hundred microseconds to milliseconds for
a Smart Data Model); the compiled predicate does the same checks as nested closures, with every
`$ref` resolved once, in tens of microseconds. It answers only yes or no. The rule that keeps it
safe: it may be stricter than jsonschema, never more lenient. When it says no, jsonschema decides
and explains (validation.py). A keyword that changes validity and is not implemented here raises
Unsupported at compile time, and that model is then validated by jsonschema alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from jsonschema import Draft202012Validator, FormatChecker  # type: ignore[import-untyped]
from referencing.jsonschema import DRAFT202012

if TYPE_CHECKING:
    from referencing._core import Resolver  # the type of Registry.resolver(); not exported by referencing

Check = Callable[[Any], bool]

# Keywords jsonschema gives meaning to; any other keyword is an annotation (title, description,
# $schemaVersion, ...) that never changes validity, for jsonschema as for us.
_ASSERTING = frozenset(Draft202012Validator.VALIDATORS)


class Unsupported(Exception):
    """The schema uses a keyword this compiler does not implement."""


def compile_check(schema: Any, resolver: Resolver[Any], format_checker: FormatChecker) -> Check:
    """The predicate of `schema`; `resolver` resolves its $refs (see schemas.registry)."""
    return _Compiler(format_checker).compile(schema, resolver)


def _always(instance: Any) -> bool:
    return True


def _never(instance: Any) -> bool:
    return False


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


_TYPES: dict[str, Check] = {
    "string": lambda v: isinstance(v, str),
    "number": _is_number,
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer()),
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "null": lambda v: v is None,
}


def _all(checks: list[Check]) -> Check:
    if not checks:
        return _always
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        first, second = checks
        return lambda v: first(v) and second(v)
    frozen = tuple(checks)
    return lambda v: all(check(v) for check in frozen)


def json_equal(a: Any, b: Any) -> bool:
    """Equality of JSON values as JSON Schema defines it: 1 == 1.0, but true != 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if _is_number(a) and _is_number(b):
        return bool(a == b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[key], b[key]) for key in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and bool(a == b)


class _Compiler:
    def __init__(self, format_checker: FormatChecker) -> None:
        self.format_checker = format_checker
        self.references: dict[int, list[Check]] = {}

    def compile(self, schema: Any, resolver: Resolver[Any]) -> Check:
        if schema is True:
            return _always
        if schema is False:
            return _never
        if not isinstance(schema, dict):
            raise Unsupported(f"a schema must be an object or a boolean, not {schema!r}")
        if isinstance(schema.get("$id"), str):
            resolver = resolver.in_subresource(DRAFT202012.create_resource(schema))
        checks: list[Check] = []
        for keyword, value in schema.items():
            if keyword not in _ASSERTING:
                continue
            build = getattr(self, "_" + keyword.lstrip("$"), None)
            if build is None:
                raise Unsupported(f"keyword {keyword!r} is not compiled")
            check = build(value, schema, resolver)
            if check is not None:
                checks.append(check)
        return _all(checks)

    # -- references and combinators -------------------------------------------------------------

    def _ref(self, ref: str, schema: dict[str, Any], resolver: Resolver[Any]) -> Check:
        resolved = resolver.lookup(ref)
        key = id(resolved.contents)
        cell = self.references.get(key)
        if cell is None:
            cell = self.references[key] = [_never]  # a placeholder while a recursive schema compiles
            cell[0] = self.compile(resolved.contents, resolved.resolver)
        compiled = cell
        return lambda v: compiled[0](v)

    def _allOf(self, subschemas: list[Any], schema: dict[str, Any], resolver: Resolver[Any]) -> Check:
        return _all([self.compile(sub, resolver) for sub in subschemas])

    def _anyOf(self, subschemas: list[Any], schema: dict[str, Any], resolver: Resolver[Any]) -> Check:
        checks = tuple(self.compile(sub, resolver) for sub in subschemas)
        return lambda v: any(check(v) for check in checks)

    def _oneOf(self, subschemas: list[Any], schema: dict[str, Any], resolver: Resolver[Any]) -> Check:
        checks = tuple(self.compile(sub, resolver) for sub in subschemas)
        return lambda v: sum(1 for check in checks if check(v)) == 1

    def _not(self, subschema: Any, schema: dict[str, Any], resolver: Resolver[Any]) -> Check:
        check = self.compile(subschema, resolver)
        return lambda v: not check(v)

    def _if(self, subschema: Any, schema: dict[str, Any], resolver: Resolver[Any]) -> Check:
        condition = self.compile(subschema, resolver)
        then = self.compile(schema.get("then", True), resolver)
        otherwise = self.compile(schema.get("else", True), resolver)
        return lambda v: then(v) if condition(v) else otherwise(v)

    # -- any instance ---------------------------------------------------------------------------

    def _type(self, types: str | list[str], schema: dict[str, Any], resolver: Resolver[Any]) -> Check:
        names = [types] if isinstance(types, str) else list(types)
        if any(name not in _TYPES for name in names):
            raise Unsupported(f"unknown type in {types!r}")
        if len(names) == 1:
            return _TYPES[names[0]]
        checks = tuple(_TYPES[name] for name in names)
        return lambda v: any(check(v) for check in checks)

    def _enum(self, members: list[Any], schema: dict[str, Any], resolver: Resolver[Any]) -> Check:
        if all(isinstance(member, str) for member in members):
            allowed = frozenset(members)
            return lambda v: isinstance(v, str) and v in allowed
        frozen = tuple(members)
        return lambda v: any(json_equal(v, member) for member in frozen)

    def _const(self, constant: Any, schema: dict[str, Any], resolver: Resolver[Any]) -> Check:
        return lambda v: json_equal(v, constant)

    def _format(self, name: str, schema: dict[str, Any], resolver: Resolver[Any]) -> Check:
        conforms = self.format_checker.conforms
        return lambda v: conforms(v, name)

    # -- numbers --------------------------------------------------------------------------------

    def _bound(self, limit: Any, keyword: str) -> None:
        if not _is_number(limit):
            raise Unsupported(f"{keyword} must be a number, not {limit!r}")

    def _minimum(self, limit: Any, schema: dict[str, Any], resolver: Resolver[Any]) -> Check:
        self._bound(limit, "minimum")
        return lambda v: not _is_number(v) or v >= limit

    def _maximum(self, limit: Any, schema: dict[str, Any], resolver: Resolver[Any]) -> Check:
        self._bound(limit, "maximum")
        return lambda v: not _is_number(v) or v <= limit

    def _exclusiveMinimum(self, limit: Any, schema: dict[str, Any], resolver: Resolver[Any]) -> Check:
        self._bound(limit, "exclusiveMinimum")
        return lambda v: not _is_number(v) or v > limit

    def _exclusiveMaximum(self, limit: Any, schema: dict[str, Any], resolver: Resolver[Any]) -> Check:
        self._bound(limit, "exclusiveMaximum")
        return lambda v: not _is_number(v) or v < limit

    # -- strings --------------------------------------------------------------------------------

    def _minLength(self, limit: int, schema: dict[str, Any], resolver: Resolver[Any]) -> Check:
        return lambda v: not isinstance(v, str) or len(v) >= limit

    def _maxLength(self, limit: int, schema: dict[str, Any], resolver: Resolver[Any]) -> Check:
        return lambda v: not isinstance(v, str) or len(v) <= limit

    def _pattern(self, pattern: str, schema: dict[str, Any], resolver: Resolver[Any]) -> Check:
        search = re.compile(pattern).search
        return lambda v: not isinstance(v, str) or search(v) is not None

    # -- arrays ---------------------------------------------------------------------------------

    def _items(self, items: Any, schema: dict[str, Any], resolver: Resolver[Any]) -> Check:
        if "prefixItems" in schema or isinstance(items, list):
            raise Unsupported("tuple validation (prefixItems, items as an array)")
        check = self.compile(items, resolver)
        return lambda v: not isinstance(v, list) or all(check(item) for item in v)

    def _minItems(self, limit: int, schema: dict[str, Any], resolver: Resolver[Any]) -> Check:
        return lambda v: not isinstance(v, list) or len(v) >= limit

    def _maxItems(self, limit: int, schema: dict[str, Any], resolver: Resolver[Any]) -> Check:
        return lambda v: not isinstance(v, list) or len(v) <= limit

    def _uniqueItems(self, unique: bool, schema: dict[str, Any], resolver: Resolver[Any]) -> Check | None:
        return _unique_items if unique else None

    # -- objects --------------------------------------------------------------------------------

    def _required(self, names: list[str], schema: dict[str, Any], resolver: Resolver[Any]) -> Check:
        frozen = tuple(names)
        return lambda v: not isinstance(v, dict) or all(name in v for name in frozen)

    def _properties(self, properties: dict[str, Any], schema: dict[str, Any], resolver: Resolver[Any]) -> Check:
        checks = {name: self.compile(sub, resolver) for name, sub in properties.items()}

        def check(v: Any) -> bool:
            if not isinstance(v, dict):
                return True
            for name, value in v.items():
                property_check = checks.get(name)
                if property_check is not None and not property_check(value):
                    return False
            return True

        return check

    def _patternProperties(self, patterns: dict[str, Any], schema: dict[str, Any], resolver: Resolver[Any]) -> Check:
        checks = tuple((re.compile(pattern).search, self.compile(sub, resolver)) for pattern, sub in patterns.items())
        return lambda v: not isinstance(v, dict) or all(
            check(value) for key, value in v.items() for search, check in checks if search(key)
        )

    def _additionalProperties(self, additional: Any, schema: dict[str, Any], resolver: Resolver[Any]) -> Check:
        known = frozenset(schema.get("properties", {}))
        searches = tuple(re.compile(pattern).search for pattern in schema.get("patternProperties", {}))
        check = self.compile(additional, resolver)
        return lambda v: not isinstance(v, dict) or all(
            check(value)
            for key, value in v.items()
            if key not in known and not any(search(key) for search in searches)
        )

    def _propertyNames(self, subschema: Any, schema: dict[str, Any], resolver: Resolver[Any]) -> Check:
        check = self.compile(subschema, resolver)
        return lambda v: not isinstance(v, dict) or all(check(key) for key in v)

    def _minProperties(self, limit: int, schema: dict[str, Any], resolver: Resolver[Any]) -> Check:
        return lambda v: not isinstance(v, dict) or len(v) >= limit

    def _maxProperties(self, limit: int, schema: dict[str, Any], resolver: Resolver[Any]) -> Check:
        return lambda v: not isinstance(v, dict) or len(v) <= limit

    def _dependentRequired(self, dependencies: dict[str, list[str]], schema: dict[str, Any], resolver: Resolver[Any]) -> Check:
        frozen = tuple((name, tuple(required)) for name, required in dependencies.items())
        return lambda v: not isinstance(v, dict) or all(
            all(other in v for other in required) for name, required in frozen if name in v
        )


def _unique_items(value: Any) -> bool:
    """Stricter than JSON Schema on purpose: arrays of objects or arrays, and true next to 1, say no."""
    if not isinstance(value, list):
        return True
    seen: set[Any] = set()
    for item in value:
        if isinstance(item, (dict, list)) or item in seen:
            return False
        seen.add(item)
    return True


__all__ = ["Check", "Unsupported", "compile_check", "json_equal"]
