# SPDX-License-Identifier: EUPL-1.2
"""Compile an expanded q, type selection or scopeQ to a SQLite WHERE fragment with the same answers as
broker.query.predicate (tests/broker/query/test_agreement.py holds them to it).

The fragments read the `entities` table of broker.store.sqlite (`doc`: the expanded entity as JSON,
`types`: a JSON array of type IRIs) with the JSON1 functions of SQLite 3.38+ (json_each, json_type,
json_extract; no jsonb). Parameters are qmark-style (`?`), in the order of the returned list; IRIs and
JSON paths are always parameters, never spliced into the SQL.

The store must call `register_functions(connection)` on every connection it opens: the fragments use
`REGEXP` (Python `re`, via predicate's pattern_matches) and `ngsild_datetime`, `ngsild_date` and
`ngsild_time` (broker.query.values), so that SQL and Python compare patterns and instants alike.
geoQ is not compiled: prefilter with geoq.query_bbox and finish with predicate.matches_geo.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from typing import Any

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
    Comparison,
    Date,
    DateTime,
    Exists,
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
from broker.query.predicate import (
    ANY_LANGUAGE,
    VALUE_MEMBERS,
    exact_scopes,
    literal_text,
    normalize_literal,
    scope_pattern_regex,
)
from broker.query.values import normalize_date, normalize_datetime, normalize_time, pattern_matches

_SQL_ORDERING = {GREATER: ">", GREATER_EQ: ">=", LESS: "<", LESS_EQ: "<="}
_NORMALIZERS = {DateTime: "ngsild_datetime", Date: "ngsild_date", Time: "ngsild_time"}
_NUMBER_TYPES = "('integer', 'real')"
_MARKER_RE = re.compile("\x00(\\d+)\x00")
# Rows of json_each that are the value itself (key NULL) or an array element (integer key), not object members.
_ELEMENT_ROW = "({v}.key IS NULL OR typeof({v}.key) = 'integer')"


def register_functions(connection: sqlite3.Connection) -> None:
    """Install REGEXP and the dateTime/date/time normalizers the compiled fragments call."""
    connection.create_function("regexp", 2, _regexp, deterministic=True)
    connection.create_function("ngsild_datetime", 1, normalize_datetime, deterministic=True)
    connection.create_function("ngsild_date", 1, normalize_date, deterministic=True)
    connection.create_function("ngsild_time", 1, normalize_time, deterministic=True)


def compile_q(node: QNode, table: str = "entities") -> tuple[str, list[Any]]:
    compiler = _Compiler(table)
    return compiler.finish(compiler.q(node))


def compile_types(type_expr: TypeExpr, table: str = "entities") -> tuple[str, list[Any]]:
    compiler = _Compiler(table)
    return compiler.finish(compiler.types(type_expr))


def compile_scope(scope_query: ScopeQuery, table: str = "entities") -> tuple[str, list[Any]]:
    compiler = _Compiler(table)
    return compiler.finish(compiler.scope(scope_query))


def _regexp(pattern: Any, text: Any) -> bool:
    return pattern_matches(pattern, text)


def json_path(*keys: str) -> str:
    """A SQLite JSON path to nested object members; expand.py has refused keys holding '"' or '\\'."""
    return "$" + "".join(f'."{key}"' for key in keys)


class _Elements:
    """Where the values of one target come from: FROM clauses that yield rows, and each row's JSON type and value."""

    def __init__(self, sources: list[str], etype: str, evalue: str, where: str = "1") -> None:
        self.sources = sources
        self.etype = etype
        self.evalue = evalue
        self.where = where

    def any(self, condition: str) -> str:
        return " OR ".join(
            f"EXISTS (SELECT 1 FROM {source} WHERE {self.where} AND ({condition}))" for source in self.sources
        )


class _Single(_Elements):
    """The one element of a single-valued target: conditions apply to it directly."""

    def __init__(self, etype: str, evalue: str) -> None:
        super().__init__([], etype, evalue)

    def any(self, condition: str) -> str:
        # NULL (an unparseable dateTime, say) is false, as an EXISTS that finds no row is.
        return f"COALESCE(({condition}), 0)"


class _Compiler:
    """Builds SQL text with a marker per parameter; `finish` turns the markers into "?" in text order, so a
    fragment may be used twice (a condition repeated for each source of elements) and still bind right."""

    def __init__(self, table: str) -> None:
        self.table = table
        self.values: list[Any] = []
        self.aliases = 0

    def param(self, value: Any) -> str:
        self.values.append(value)
        return f"\x00{len(self.values) - 1}\x00"

    def finish(self, sql: str) -> tuple[str, list[Any]]:
        params: list[Any] = []

        def bind(match: re.Match[str]) -> str:
            params.append(self.values[int(match[1])])
            return "?"

        return _MARKER_RE.sub(bind, sql), params

    def alias(self, prefix: str) -> str:
        self.aliases += 1
        return f"{prefix}{self.aliases}"

    # --- q ---------------------------------------------------------------------------------------

    def q(self, node: QNode) -> str:
        if isinstance(node, (And, Or)):
            joiner = " AND " if isinstance(node, And) else " OR "
            return "(" + joiner.join(self.q(term) for term in node.terms) + ")"
        if isinstance(node, NotExists):
            return "NOT " + self.instances(node.path, lambda instance: self.exists(instance, node.path))
        if isinstance(node, Exists):
            return self.instances(node.path, lambda instance: self.exists(instance, node.path))
        comparison = node
        general = self.instances(node.path, lambda instance: self.comparison(instance, comparison))
        single = self.single_property_value(comparison)
        if single is None:
            return general
        # CASE evaluates one branch only: most rows take the cheap one.
        return f"(CASE WHEN {single[0]} THEN {single[1]} ELSE {general} END)"

    def single_property_value(self, node: Comparison) -> tuple[str, str] | None:
        """(guard, condition) for the common shape of an attribute: one instance, a Property whose value is a
        JSON scalar. Its only element is that value, so the comparison needs no json_each; any other shape
        (datasetIds, other attribute types, arrays, objects) takes the general fragment."""
        path = node.path
        if path.compound or path.sub_path:
            return None
        attribute = json_path(path.attribute)
        doc = f"{self.table}.doc"
        value_path = attribute + "[0].value"
        etype = f"json_type({doc}, {self.param(value_path)})"
        guard = (
            f"json_array_length({doc}, {self.param(attribute)}) = 1"
            f" AND json_extract({doc}, {self.param(attribute + '[0].type')}) = 'Property'"
            f" AND {etype} IN ('integer', 'real', 'text', 'true', 'false')"
        )
        evalue = f"json_extract({doc}, {self.param(value_path)})"
        return guard, self.target("1", _Single(etype, evalue), False, node.op, node.value)

    def instances(self, path: AttrPath, condition: Callable[[str], str]) -> str:
        """EXISTS an instance of the attribute (an object in the attribute's array) meeting the condition."""
        i = self.alias("i")
        source = f"json_each({self.table}.doc, {self.param(json_path(path.attribute))}) AS {i}"
        inner = condition(f"{i}.value")
        return (
            f"EXISTS (SELECT 1 FROM {source} WHERE {i}.type = 'object' AND typeof({i}.key) = 'integer' AND ({inner}))"
        )

    def exists(self, instance: str, path: AttrPath) -> str:
        if not path.compound and not (path.sub_path and path.sub_path[-1] in CORE_MEMBERS):
            # The target element is the instance (or sub-attribute) itself, whatever its type.
            return (
                f"json_type({instance}, {self.param(json_path(*path.sub_path))}) = 'object'" if path.sub_path else "1"
            )
        return " OR ".join(f"({kind} AND {exists})" for kind, exists, _, _ in self.branches(instance, path)) or "0"

    def comparison(self, instance: str, node: Comparison) -> str:
        parts = []
        for kind, exists, elements, vocab in self.branches(
            instance, node.path, relationships=node.op in (EQUAL, UNEQUAL)
        ):
            parts.append(f"({kind} AND {self.target(exists, elements, vocab, node.op, node.value)})")
        return " OR ".join(parts) or "0"

    def target(self, exists: str, elements: _Elements, vocab: bool, op: str, value: QValue) -> str:
        etype, evalue = elements.etype, elements.evalue
        if op == EQUAL:
            return f"({elements.any(self.equals(etype, evalue, value, vocab))})"
        if op == UNEQUAL:
            return f"{exists} AND NOT ({elements.any(self.equals(etype, evalue, value, vocab))})"
        if op in (PATTERN, NOT_PATTERN):
            assert isinstance(value, Text)
            pattern = self.param(value.value)
            if op == PATTERN:
                matching = f"{etype} = 'text' AND {evalue} REGEXP {pattern}"
                return f"({elements.any(matching)})"
            bad = f"{etype} IS NOT 'text' OR {evalue} REGEXP {pattern}"
            return f"({elements.any('1')}) AND NOT ({elements.any(bad)})"
        assert not isinstance(value, (Range, ValueList))
        return f"({elements.any(self.compare(etype, evalue, value, _SQL_ORDERING[op], vocab))})"

    def branches(
        self, instance: str, path: AttrPath, relationships: bool = True
    ) -> list[tuple[str, str, _Elements, bool]]:
        """(kind condition, target exists, elements, vocab) for each attribute type the target element may have."""
        sub_path = path.sub_path
        if sub_path and sub_path[-1] in CORE_MEMBERS:
            member = json_path(*sub_path[:-1]) + "." + sub_path[-1]
            exists = f"json_type({instance}, {self.param(member)}) IS NOT NULL"
            return [("1", exists, self.plain(instance, member), sub_path[-1] == "objectType")]
        prefix = json_path(*sub_path)
        kind = f"json_extract({instance}, {self.param(prefix + '.type')})"
        element_exists = f"json_type({instance}, {self.param(prefix)}) = 'object'" if sub_path else "1"
        branches = []
        for attribute_type, member in (*VALUE_MEMBERS.items(), ("", "value")):
            if not relationships and attribute_type in ("Relationship", "ListRelationship"):
                continue
            if attribute_type:
                kind_is = f"{kind} = {self.param(attribute_type)}"
            else:
                others = ", ".join(self.param(name) for name in VALUE_MEMBERS)
                kind_is = f"({kind} IS NULL OR {kind} NOT IN ({others}))"
            base = f"{prefix}.{member}"
            if not path.compound:
                if member == "languageMap":
                    elements = self.languages(instance, base)
                elif member == "objectList":
                    elements = self.object_list(instance, base)
                else:
                    elements = self.plain(instance, base)
                branches.append((kind_is, element_exists, elements, member == "vocab"))
            elif member == "value" or member == "json" or member == "languageMap":
                keys = path.compound if member == "value" else path.raw_compound
                if member == "languageMap" and keys == (ANY_LANGUAGE,):
                    exists = f"json_type({instance}, {self.param(base)}) = 'object'"
                    branches.append((kind_is, exists, self.languages(instance, base), False))
                    continue
                walked = base + json_path(*keys)[1:]
                exists = f"json_type({instance}, {self.param(walked)}) IS NOT NULL"
                branches.append((kind_is, exists, self.plain(instance, walked), False))
        return branches

    def plain(self, instance: str, path: str) -> _Elements:
        v = self.alias("v")
        return _Elements(
            [f"json_each({instance}, {self.param(path)}) AS {v}"], f"{v}.type", f"{v}.value", _ELEMENT_ROW.format(v=v)
        )

    def object_list(self, instance: str, path: str) -> _Elements:
        """ListRelationship items are URIs or {"object": URI} (clause 4.5.20); an item's target is its object."""
        v = self.alias("v")
        item_is_object = f"{v}.type = 'object'"  # an array item: the element filter drops members of an object
        etype = f"(CASE WHEN {item_is_object} THEN json_type({v}.value, '$.object') ELSE {v}.type END)"
        evalue = f"(CASE WHEN {item_is_object} THEN json_extract({v}.value, '$.object') ELSE {v}.value END)"
        source = f"json_each({instance}, {self.param(path)}) AS {v}"
        return _Elements([source], etype, evalue, _ELEMENT_ROW.format(v=v))

    def languages(self, instance: str, path: str) -> _Elements:
        """The strings of a language map: the values that are not arrays, and the items of those that are."""
        v, m = self.alias("v"), self.alias("m")
        guard = f"json_type({instance}, {self.param(path)}) = 'object'"
        direct = f"json_each({instance}, {self.param(path)}) AS {v}"
        items = f"json_each(CASE WHEN {m}.type = 'array' THEN {m}.value ELSE '[]' END) AS {v}"
        nested = f"json_each({instance}, {self.param(path)}) AS {m}, {items}"
        # Both sources name their rows v: the direct one yields the map's values (arrays skipped), the nested
        # one the items of the arrays (integer keys).
        return _Elements(
            [direct, nested],
            f"{v}.type",
            f"{v}.value",
            f"{guard} AND ({v}.type != 'array' OR typeof({v}.key) = 'integer')",
        )

    # --- literals ----------------------------------------------------------------------------------

    def equals(self, etype: str, evalue: str, value: QValue, vocab: bool) -> str:
        if isinstance(value, Range):
            low = self.compare(etype, evalue, value.low, ">=", vocab)
            high = self.compare(etype, evalue, value.high, "<=", vocab)
            return f"({low}) AND ({high})"
        items = value.items if isinstance(value, ValueList) else (value,)
        return " OR ".join(f"({self.equal(etype, evalue, item, vocab)})" for item in items)

    def equal(self, etype: str, evalue: str, item: Scalar, vocab: bool) -> str:
        if isinstance(item, bool):
            return f"{etype} = '{'true' if item else 'false'}'"
        return self.compare(etype, evalue, item, "=", vocab)

    def compare(self, etype: str, evalue: str, value: Scalar, op: str, vocab: bool) -> str:
        if isinstance(value, bool):
            return "0"
        if isinstance(value, (int, float)):
            return f"{etype} IN {_NUMBER_TYPES} AND {evalue} {op} {self.param(value)}"
        if isinstance(value, (Text, Uri)):
            if isinstance(value, Uri) and op != "=":
                return "0"
            return f"{etype} = 'text' AND {evalue} {op} {self.param(literal_text(value, vocab))}"
        normalized = normalize_literal(value)
        if normalized is None:
            return "0"
        return f"{etype} = 'text' AND {_NORMALIZERS[type(value)]}({evalue}) {op} {self.param(normalized)}"

    # --- types and scopes --------------------------------------------------------------------------

    def types(self, node: TypeExpr) -> str:
        if isinstance(node, TypeName):
            if node.name == ALL_TYPES:
                return "1"
            t = self.alias("t")
            return (
                f"EXISTS (SELECT 1 FROM json_each({self.table}.types) AS {t} WHERE {t}.value = {self.param(node.name)})"
            )
        joiner = " AND " if isinstance(node, TypeAnd) else " OR "
        return "(" + joiner.join(self.types(term) for term in node.terms) + ")"

    def scope(self, query: ScopeQuery) -> str:
        parts = []
        for alternative in query.alternatives:
            if isinstance(alternative, ScopeAnd):
                parts.append("(" + " AND ".join(self.scope_pattern(pattern) for pattern in alternative.patterns) + ")")
            else:
                parts.append(self.scope_pattern(alternative))
        return "(" + " OR ".join(parts) + ")"

    def scope_pattern(self, pattern: ScopePattern) -> str:
        s = self.alias("s")
        regex = scope_pattern_regex(pattern)
        if regex is None:
            with_slash, without = exact_scopes(pattern)
            condition = f"{s}.value IN ({self.param(with_slash)}, {self.param(without)})"
        else:
            condition = f"{s}.value REGEXP {self.param(regex)}"
        source = f"json_each({self.table}.doc, '$.scope') AS {s}"
        return f"EXISTS (SELECT 1 FROM {source} WHERE {_ELEMENT_ROW.format(v=s)} AND {s}.type = 'text' AND {condition})"
