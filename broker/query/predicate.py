# SPDX-License-Identifier: EUPL-1.2
"""Evaluate an expanded query against an expanded entity in Python: the subscription matcher uses it,
and the SQL compilers are tested against it (they must select exactly the entities it accepts).

The semantics, clause 4.9 of ETSI GS CIM 009 v1.9.1:

- The target value of an attribute is the "value" of a Property or GeoProperty, the "object" of a
  Relationship, the "vocab" of a VocabProperty (compared with the @vocab expansion of the literal),
  the "valueList" of a ListProperty, the objects of a ListRelationship's "objectList", the "json" of
  a JsonProperty, and any string of a LanguageProperty's "languageMap" (`name[de]` picks a language,
  `name[*]` any). `a.b.observedAt` targets that member of the sub-attribute b of a. `a[k.l]` walks
  into a compound value (by the expanded keys; a JsonProperty's and a language map's as written); if
  the walk finds no member, the target element does not exist.
- An attribute with several instances (datasetIds) matches when any instance matches. Where a target
  value is an array, `==` and the ordering and pattern operators match when any element matches.
- `!=`: "A matching entity shall contain the target element" and the value is neither equal to the
  literal nor, for an array, does it include it; values of another data type are unequal. So an
  entity without the attribute does NOT match `a!=1`; use `!a|a!=1` for that.
- `>`, `>=`, `<`, `<=`: values of another data type do not match (never an error). Numbers compare
  as numbers, strings by code point (RFC 8259, 8.3), dateTime/date/time literals temporally with the
  target strings that are of that type. A Relationship or ListRelationship matches only == and !=.
- `~=` matches a string (or an array with a string) with a substring in the pattern's language.
  `!~=` matches a string, or a non-empty array of strings, none of which matches; other data types
  do not match ("If the target value data type is different than String ... not matching").
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from broker.ld import ExpandedEntity
from broker.query.ast import (
    ALL_TYPES,
    CORE_MEMBERS,
    EQUAL,
    GREATER,
    GREATER_EQ,
    LESS,
    LESS_EQ,
    NOT_PATTERN,
    PATTERN,
    UNEQUAL,
    And,
    AttrPath,
    Date,
    DateTime,
    Exists,
    GeoQuery,
    NotExists,
    Or,
    QNode,
    QValue,
    Range,
    Scalar,
    ScopeAnd,
    ScopePattern,
    ScopeQuery,
    Text,
    Time,
    TypeAnd,
    TypeExpr,
    TypeName,
    Uri,
    ValueList,
)
from broker.query.geoq import geometry_matches
from broker.query.values import normalize_date, normalize_datetime, normalize_time, pattern_matches

RELATIONSHIP_KINDS = frozenset(("Relationship", "ListRelationship"))
# The member that holds the target value, by attribute type; every other type (Property, GeoProperty) has "value".
VALUE_MEMBERS = {
    "Relationship": "object",
    "ListRelationship": "objectList",
    "VocabProperty": "vocab",
    "ListProperty": "valueList",
    "LanguageProperty": "languageMap",
    "JsonProperty": "json",
}
# Attribute types whose value a trailing [path] walks into, and whether it walks by the expanded keys.
COMPOUND_KINDS = {"value": True, "json": False, "languageMap": False}
ANY_LANGUAGE = "*"

_MISSING = object()  # an element that matches nothing: a ListRelationship item without "object"


@dataclass(frozen=True, slots=True)
class Target:
    """The resolved target element of one attribute instance: its kind and the values to compare."""

    kind: str
    elements: list[Any]
    vocab: bool


def matches_q(node: QNode, expanded_entity: ExpandedEntity) -> bool:
    if isinstance(node, And):
        return all(matches_q(term, expanded_entity) for term in node.terms)
    if isinstance(node, Or):
        return any(matches_q(term, expanded_entity) for term in node.terms)
    if isinstance(node, Exists):
        return any(True for _ in targets(expanded_entity, node.path))
    if isinstance(node, NotExists):
        return not any(True for _ in targets(expanded_entity, node.path))
    return any(target_matches(target, node.op, node.value) for target in targets(expanded_entity, node.path))


def matches_types(type_expr: TypeExpr, expanded_entity: ExpandedEntity) -> bool:
    if isinstance(type_expr, TypeName):
        if type_expr.name == ALL_TYPES:
            return True
        types = expanded_entity.get("type")
        return (
            type_expr.name == types if isinstance(types, str) else isinstance(types, list) and type_expr.name in types
        )
    if isinstance(type_expr, TypeAnd):
        return all(matches_types(term, expanded_entity) for term in type_expr.terms)
    return any(matches_types(term, expanded_entity) for term in type_expr.terms)


def matches_scope(scope_query: ScopeQuery, expanded_entity: ExpandedEntity) -> bool:
    scopes = expanded_entity.get("scope")
    if isinstance(scopes, str):
        scopes = [scopes]
    if not isinstance(scopes, list):
        return False
    texts = [scope for scope in scopes if isinstance(scope, str)]
    return any(
        all(_scope_matches(pattern, texts) for pattern in alternative.patterns)
        if isinstance(alternative, ScopeAnd)
        else _scope_matches(alternative, texts)
        for alternative in scope_query.alternatives
    )


def matches_geo(geo_query: GeoQuery, expanded_entity: ExpandedEntity) -> bool:
    """Clause 4.10; entities without the GeoProperty named by geoproperty never match. Any instance may match."""
    instances = expanded_entity.get(geo_query.geoproperty)
    if not isinstance(instances, list):
        return False
    return any(
        isinstance(instance, Mapping)
        and instance.get("type") == "GeoProperty"
        and geometry_matches(geo_query, instance.get("value"))
        for instance in instances
    )


def scope_pattern_regex(pattern: ScopePattern) -> str | None:
    """The regular expression a scope must match, or None for an exact scope (compare it as a string)."""
    if not pattern.descendants and "+" not in pattern.levels:
        return None
    levels = "/".join("[^/]+" if level == "+" else re.escape(level) for level in pattern.levels)
    if not pattern.levels:
        return r"^/?[^/]+(?:/[^/]+)*\Z"
    return rf"^/?{levels}(?:/[^/]+)*\Z" if pattern.descendants else rf"^/?{levels}\Z"


def exact_scopes(pattern: ScopePattern) -> tuple[str, str]:
    """An exact scope with and without its leading "/", the two spellings clause 4.18 allows."""
    path = "/".join(pattern.levels)
    return ("/" + path, path)


# --- targets -------------------------------------------------------------------------------------


def targets(expanded_entity: ExpandedEntity, path: AttrPath) -> Iterator[Target]:
    """The target element of the path in each instance of the attribute that has one."""
    instances = expanded_entity.get(path.attribute)
    if not isinstance(instances, list):
        return
    for instance in instances:
        if isinstance(instance, dict):
            target = _target(instance, path)
            if target is not None:
                yield target


def _target(instance: dict[str, Any], path: AttrPath) -> Target | None:
    element: Any = instance
    for name in path.sub_path:
        if name in CORE_MEMBERS:  # the parser puts a core member last, with no trailing [path]
            if name not in element:
                return None
            return Target("member", _elements(element[name]), vocab=name == "objectType")
        element = element.get(name)
        if not isinstance(element, dict):
            return None
    kind = element.get("type")
    kind = kind if isinstance(kind, str) else ""
    member = VALUE_MEMBERS.get(kind, "value")
    if path.compound:
        if member not in COMPOUND_KINDS:
            return None
        keys = path.compound if COMPOUND_KINDS[member] else path.raw_compound
        if member == "languageMap" and keys == (ANY_LANGUAGE,):
            language_map = element.get(member)
            return Target(kind, _languages(language_map), False) if isinstance(language_map, dict) else None
        seed = element.get(member, _MISSING)
        for key in keys:
            if not isinstance(seed, dict) or key not in seed:
                return None
            seed = seed[key]
        return Target(kind, _elements(seed), vocab=False)
    if member == "languageMap":
        language_map = element.get(member)
        return Target(kind, _languages(language_map) if isinstance(language_map, dict) else [], vocab=False)
    seed = element.get(member, _MISSING)
    elements = [] if seed is _MISSING else _elements(seed)
    if member == "objectList" and isinstance(seed, list):  # items are URIs or {"object": URI}
        elements = [item.get("object", _MISSING) if isinstance(item, dict) else item for item in seed]
    return Target(kind, elements, vocab=member == "vocab")


def _elements(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _languages(language_map: dict[str, Any]) -> list[Any]:
    return [text for texts in language_map.values() for text in _elements(texts)]


# --- comparisons ---------------------------------------------------------------------------------


def target_matches(target: Target, op: str, value: QValue) -> bool:
    elements, vocab = target.elements, target.vocab
    if op == EQUAL:
        return any(equals(element, value, vocab) for element in elements)
    if op == UNEQUAL:
        return not any(equals(element, value, vocab) for element in elements)
    if target.kind in RELATIONSHIP_KINDS:
        return False  # "any operator different than equal or unequal shall result in not matching"
    if op == PATTERN:
        assert isinstance(value, Text)
        return any(pattern_matches(value.value, element) for element in elements)
    if op == NOT_PATTERN:
        assert isinstance(value, Text)
        return (
            bool(elements)
            and all(isinstance(element, str) for element in elements)
            and not any(pattern_matches(value.value, element) for element in elements)
        )
    assert not isinstance(value, (Range, ValueList))
    for element in elements:
        sign = compare(element, value, vocab)
        if sign is not None and _ORDERING[op](sign):
            return True
    return False


_ORDERING = {
    GREATER: lambda sign: sign > 0,
    GREATER_EQ: lambda sign: sign >= 0,
    LESS: lambda sign: sign < 0,
    LESS_EQ: lambda sign: sign <= 0,
}


def equals(element: Any, value: QValue, vocab: bool) -> bool:
    """The "equal" condition for one element: equal to the literal, in the range, or equal to an item of the list."""
    if isinstance(value, Range):
        low, high = compare(element, value.low, vocab), compare(element, value.high, vocab)
        return low is not None and high is not None and low >= 0 and high <= 0
    if isinstance(value, ValueList):
        return any(equals(element, item, vocab) for item in value.items)
    if isinstance(value, bool):
        return isinstance(element, bool) and element is value
    if isinstance(value, (int, float)):
        return is_number(element) and bool(element == value)
    if isinstance(value, (Text, Uri)):
        return isinstance(element, str) and element == literal_text(value, vocab)
    normalized = normalize_literal(value)
    return normalized is not None and normalize_element(value, element) == normalized


def compare(element: Any, value: Scalar, vocab: bool) -> int | None:
    """-1, 0 or 1 as the element is below, at or above the literal; None when their data types differ."""
    if isinstance(value, (bool, Uri)):
        return None
    if isinstance(value, (int, float)):
        if not is_number(element):
            return None
        return (element > value) - (element < value)  # type: ignore[no-any-return]
    if isinstance(value, Text):
        if not isinstance(element, str):
            return None
        literal = literal_text(value, vocab)
        return (element > literal) - (element < literal)
    normalized, target = normalize_literal(value), normalize_element(value, element)
    if normalized is None or target is None:
        return None
    return (target > normalized) - (target < normalized)


def is_number(element: Any) -> bool:
    return isinstance(element, (int, float)) and not isinstance(element, bool)


def literal_text(value: Text | Uri, vocab: bool) -> str:
    return value.iri if vocab and value.iri is not None else value.value


def normalize_literal(value: DateTime | Date | Time) -> str | None:
    return normalize_element(value, value.value)


def normalize_element(value: DateTime | Date | Time, element: Any) -> str | None:
    if isinstance(value, DateTime):
        return normalize_datetime(element)
    if isinstance(value, Date):
        return normalize_date(element)
    return normalize_time(element)


def _scope_matches(pattern: ScopePattern, scopes: list[str]) -> bool:
    regex = scope_pattern_regex(pattern)
    if regex is None:
        spellings = exact_scopes(pattern)
        return any(scope in spellings for scope in scopes)
    return any(pattern_matches(regex, scope) for scope in scopes)
