# SPDX-License-Identifier: EUPL-1.2
"""Expand the names of a parsed query with the request's @context (clause 5.5.7), as the entities were.

Attribute and sub-attribute names, compound value keys and entity types become IRIs; the core
members an attribute path may end with (observedAt, ...) stay short, as they are stored. The compound
keys as written are kept too, since JsonProperty keys and LanguageProperty tags are not expanded.
Every string literal gets its @vocab expansion beside it, for comparisons with VocabProperty values
and objectType (clause 4.9: "If the target element is a VocabProperty, the target value shall be
expanded according to the @context").
"""

from __future__ import annotations

from dataclasses import replace
from typing import overload

from broker.errors import BadRequestData
from broker.ld import TermMap
from broker.query.ast import (
    ALL_TYPES,
    CORE_MEMBERS,
    PATTERN_OPERATORS,
    And,
    AttrPath,
    Comparison,
    Exists,
    GeoQuery,
    NotExists,
    Or,
    QNode,
    QValue,
    Range,
    Scalar,
    ScopeQuery,
    Text,
    TypeAnd,
    TypeExpr,
    TypeName,
    TypeOr,
    Uri,
    ValueList,
)

# Characters no IRI holds (RFC 3987) that would also break a JSON path in SQL.
_FORBIDDEN = frozenset('"\\') | frozenset(chr(code) for code in range(0x20))


@overload
def expand_query(node: And | Or | Comparison | Exists | NotExists, term_map: TermMap) -> QNode: ...
@overload
def expand_query(node: TypeName | TypeAnd | TypeOr, term_map: TermMap) -> TypeExpr: ...
@overload
def expand_query(node: GeoQuery, term_map: TermMap) -> GeoQuery: ...
@overload
def expand_query(node: ScopeQuery, term_map: TermMap) -> ScopeQuery: ...


def expand_query(
    node: QNode | TypeExpr | GeoQuery | ScopeQuery, term_map: TermMap
) -> QNode | TypeExpr | GeoQuery | ScopeQuery:
    if isinstance(node, (And, Or)):
        return type(node)(tuple(expand_query(term, term_map) for term in node.terms))
    if isinstance(node, (Exists, NotExists)):
        return type(node)(_expand_path(node.path, term_map))
    if isinstance(node, Comparison):
        value = node.value if node.op in PATTERN_OPERATORS else _expand_value(node.value, term_map)
        return Comparison(_expand_path(node.path, term_map), node.op, value)
    if isinstance(node, TypeName):
        return (
            node
            if node.name == ALL_TYPES
            else TypeName(_iri(term_map.expand_type(node.name), node.name, "an entity type"))
        )
    if isinstance(node, (TypeAnd, TypeOr)):
        return type(node)(tuple(expand_query(term, term_map) for term in node.terms))
    if isinstance(node, GeoQuery):
        return replace(
            node, geoproperty=_iri(term_map.expand_term(node.geoproperty), node.geoproperty, "a geoproperty")
        )
    return node


def _expand_path(path: AttrPath, term_map: TermMap) -> AttrPath:
    attribute = _iri(term_map.expand_term(path.attribute), path.attribute, "an attribute")
    sub_path = tuple(
        name if name in CORE_MEMBERS else _iri(term_map.expand_term(name), name, "a sub-attribute")
        for name in path.sub_path
    )
    compound = tuple(_compound_key(key, term_map) for key in path.compound)
    return AttrPath(attribute, sub_path, compound, path.compound if path.compound else None)


def _compound_key(key: str, term_map: TermMap) -> str:
    """As broker.ld stores compound values: a key that is a keyword alias ("type", "id") keeps its spelling."""
    iri = term_map.expand_term(key)
    return key if iri.startswith("@") else _iri(iri, key, "a member of a compound value")


def _expand_value(value: QValue, term_map: TermMap) -> QValue:
    if isinstance(value, ValueList):
        return ValueList(tuple(_expand_scalar(item, term_map) for item in value.items))
    if isinstance(value, Range):
        return Range(_expand_scalar(value.low, term_map), _expand_scalar(value.high, term_map))
    return _expand_scalar(value, term_map)


def _expand_scalar(value: Scalar, term_map: TermMap) -> Scalar:
    if isinstance(value, (Text, Uri)):
        iri = term_map.expand_type(value.value)
        return type(value)(value.value, value.value if iri.startswith("@") else iri)
    return value


def _iri(iri: str, term: str, what: str) -> str:
    if not iri or iri.startswith("@"):
        raise BadRequestData(f"{term!r} is a JSON-LD keyword (or an alias of one) and cannot name {what}")
    if any(char in _FORBIDDEN for char in iri):
        raise BadRequestData(f"{term!r} expands to {iri!r}, which is not an IRI")
    return iri
