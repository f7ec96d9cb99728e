# SPDX-License-Identifier: EUPL-1.2
"""Compile an expanded q, type selection or scopeQ to a PostgreSQL WHERE fragment with the same answers as
broker.query.predicate (tests/broker/query/test_agreement_postgres.py holds them to it).

The fragments read the `entities` table of broker.store.postgres_schema, aliased (default `e`): `doc`
(jsonb, the expanded entity), `types` (text[], GIN-indexed) and `scope` (text[], GIN-indexed). Values
are `$n` parameters from a `Params` collector shared with the rest of the statement; IRIs, keys and
paths are always parameters, never spliced into the SQL.

The reference is the entity as the store hands it back: the JSON text of jsonb decoded by orjson. So a
number whose jsonb text has a "." (or lies outside the 64-bit integers) is a Python float and compares
as float8 with a float literal; every other comparison with a number is exact (numeric; a float literal
is bound as its exact decimal value).

Two things PostgreSQL cannot decide like Python, and the fragment then selects a superset:
`~=`/`!~=` with a pattern that is not a plain substring (PostgreSQL's regular expressions are not
Python's `re`) and comparisons with dateTime, date or time literals (broker.query.values normalizes
them in Python). Such a fragment's `exact` is False: the caller re-checks the rows with
predicate.matches_q. The superset is kept under negation by compiling those leaves as TRUE where they
count positively and FALSE where they count negatively (inside `!=` and `!~=`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any

import shapely  # type: ignore[import-untyped, unused-ignore]  # typed only with types-shapely installed

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
    Exists,
    GeoQuery,
    Georel,
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
    TypeAnd,
    TypeExpr,
    TypeName,
    Uri,
    ValueList,
)
from broker.query.geoq import near_frame, query_bbox, query_shape
from broker.query.predicate import (
    ANY_LANGUAGE,
    VALUE_MEMBERS,
    exact_scopes,
    literal_text,
    scope_pattern_regex,
)

_SQL_ORDERING = {GREATER: ">", GREATER_EQ: ">=", LESS: "<", LESS_EQ: "<="}
_REGEX_SPECIALS = frozenset(".^$*+?{}[]\\|()")
# orjson decodes a jsonb number without "." to int when it fits these bounds, to float otherwise.
_FLOAT_NUMBER = "(strpos(({v})::text, '.') > 0 OR NOT (({v})::numeric BETWEEN -9223372036854775808 AND 18446744073709551615))"


class Params:
    """Collects `$n` parameters for one statement; `add` returns the placeholder with its cast."""

    def __init__(self, values: list[Any] | None = None) -> None:
        self.values: list[Any] = values if values is not None else []

    def add(self, value: Any, cast: str) -> str:
        self.values.append(value)
        return f"${len(self.values)}::{cast}"


@dataclass(frozen=True, slots=True)
class Fragment:
    sql: str
    exact: bool  # False: a superset; re-check the rows with broker.query.predicate


def compile_q(node: QNode, params: Params, table: str = "e") -> Fragment:
    compiler = _Compiler(params, table)
    return Fragment(compiler.q(node), compiler.exact)


def compile_types(type_expr: TypeExpr, params: Params, table: str = "e") -> Fragment:
    compiler = _Compiler(params, table)
    return Fragment(compiler.types(type_expr), True)


def compile_scope(scope_query: ScopeQuery, params: Params, table: str = "e") -> Fragment:
    compiler = _Compiler(params, table)
    return Fragment(compiler.scope(scope_query), compiler.exact)


def compile_geo(geo_query: GeoQuery, params: Params, table: str = "e") -> Fragment:
    """geoQ (clause 4.10) over the PostGIS mirror `entity_geometries` (one 2D SRID 4326 row per GeoProperty
    instance), decided wholly in SQL with the answers of predicate.matches_geo: any instance of the
    geoproperty may match, an empty or invalid target geometry never does.

    The GiST index on `geom` serves every georel but disjoint and minDistance through `&&` with
    geoq.query_bbox (for near, the reference's box widened by a safe number of degrees); the exact test
    follows. near on two points is ST_DWithin / ST_Distance on the WGS84 spheroid (GeographicLib, as
    pyproj); near on lines or areas repeats geoq.distance_m step by step, since geography would join
    positions by great circles where GeoJSON joins them by straight lines in longitude/latitude.
    """
    conditions = [f"g.tenant = {table}.tenant", f"g.entity_id = {table}.id", *_geo_conditions(geo_query, params)]
    return Fragment(f"EXISTS (SELECT 1 FROM entity_geometries AS g WHERE {' AND '.join(conditions)})", True)


def compile_geo_candidates(
    geo_query: GeoQuery, params: Params, tenant: str, of_types: list[str] | None = None
) -> str | None:
    """The ids of the entities that match geoQ, as a SELECT over `entity_geometries` through its GiST
    index (`tenant`: the SQL of the tenant, e.g. "$1::text"); None for minDistance and disjoint, which
    no bounding box narrows. A query can then look its few candidates up by primary key instead of
    probing the geometries once per entity of the tenant. `of_types`: only rows of entities of one of
    these types (the types are on each geometry row), dropped before the exact relation is computed."""
    if query_bbox(geo_query) is None:
        return None
    conditions = [f"g.tenant = {tenant}"]
    if of_types is not None:
        conditions.append(f"g.types && {params.add(of_types, 'text[]')}")
    conditions.extend(_geo_conditions(geo_query, params))
    return f"SELECT DISTINCT g.entity_id FROM entity_geometries AS g WHERE {' AND '.join(conditions)}"


def _geo_conditions(geo_query: GeoQuery, params: Params) -> list[str]:
    reference = query_shape(geo_query)
    georel = geo_query.georel
    ref = f"ST_GeomFromWKB({params.add(shapely.to_wkb(reference, output_dimension=2), 'bytea')}, 4326)"
    conditions = [f"g.attribute = {params.add(geo_query.geoproperty, 'text')}"]
    box = query_bbox(geo_query)
    if box is not None:  # None: minDistance and disjoint, which no box can prefilter
        conditions.append(f"g.geom && {_envelope(box, params)}")
    if georel.max_distance_m is not None or georel.min_distance_m is not None:
        relation = _near(geo_query, reference, ref, params)
    else:
        relation = f"ST_{_RELATIONS[georel.relation]}(g.geom, {ref})"
    # CASE, not AND: PostgreSQL may order AND's terms, and GEOS must never see an invalid geometry.
    conditions.append(f"(CASE WHEN ST_IsEmpty(g.geom) OR NOT ST_IsValid(g.geom) THEN false ELSE {relation} END)")
    return conditions


_RELATIONS = {
    "within": "Within",
    "contains": "Contains",
    "intersects": "Intersects",
    "disjoint": "Disjoint",
    "equals": "Equals",
    "overlaps": "Overlaps",
}


def _envelope(box: tuple[float, float, float, float], params: Params) -> str:
    corners = ", ".join(params.add(float(corner), "float8") for corner in box)
    return f"ST_MakeEnvelope({corners}, 4326)"


def _near(geo_query: GeoQuery, reference: Any, ref: str, params: Params) -> str:
    """The distance test of `near`, <= maxDistance or >= minDistance, as geoq.geometry_matches decides it."""
    georel = geo_query.georel
    maximum = georel.max_distance_m is not None
    metres = params.add(georel.max_distance_m if maximum else georel.min_distance_m, "float8")
    frame = near_frame(reference)
    lon0, lat0, scale = (params.add(value, "float8") for value in (frame.lon0, frame.lat0, frame.scale))
    local_reference = f"ST_GeomFromWKB({params.add(shapely.to_wkb(frame.local_reference, output_dimension=2), 'bytea')}, 4326)"
    # geoq.distance_m: 0 where they intersect; else the nearest points in the NearFrame, mapped back to
    # longitude/latitude with the same float operations, and the geodesic between them.
    local_target = f"ST_Scale(ST_Translate(g.geom, -{lon0}, -{lat0}), {scale}, 1)"
    line = f"ST_ShortestLine({local_reference}, {local_target})"

    def lon_lat(point: str) -> str:
        return f"ST_SetSRID(ST_MakePoint(ST_X({point}) / {scale} + {lon0}, ST_Y({point}) + {lat0}), 4326)::geography"

    distance = (
        f"(CASE WHEN ST_Intersects(g.geom, {ref}) THEN 0.0::float8 ELSE (SELECT ST_Distance("
        f"{lon_lat('ST_StartPoint(n.line)')}, {lon_lat('ST_EndPoint(n.line)')}, true) FROM (SELECT {line} AS line) AS n) END)"
    )
    if maximum:
        general = f"{distance} <= {metres}"
        points = f"ST_DWithin(g.geom::geography, {ref}::geography, {metres}, true)"
    else:  # >=, not NOT ST_DWithin: a geometry exactly at minDistance matches, as in Python
        general = f"{distance} >= {metres}"
        points = f"ST_Distance(g.geom::geography, {ref}::geography, true) >= {metres}"
    test = f"(CASE WHEN GeometryType(g.geom) = 'POINT' THEN {points} ELSE {general} END)"
    if geo_query.geometry != "Point":
        test = general
    if not maximum and (box := query_bbox(_with_max_distance(geo_query))) is not None:
        # Outside the box that holds whatever lies within minDistance: farther, whatever the distance costs.
        test = f"(NOT (g.geom && {_envelope(box, params)}) OR {test})"
    return test


def _with_max_distance(geo_query: GeoQuery) -> GeoQuery:
    georel = Georel(geo_query.georel.relation, max_distance_m=geo_query.georel.min_distance_m)
    return GeoQuery(georel, geo_query.geometry, geo_query.coordinates, geo_query.geoproperty)


def is_literal_pattern(pattern: str) -> bool:
    """True when `re.search(pattern, s)` is a plain substring test (no metacharacter)."""
    return not any(char in _REGEX_SPECIALS for char in pattern)


def _and(*conditions: str) -> str:
    return " AND ".join(condition for condition in conditions if condition) or "true"


def _is_object(expr: str) -> str:
    return f"COALESCE(jsonb_typeof({expr}) = 'object', false)"


def _as_array(expr: str) -> str:
    """The elements of a target value: an array's items, a missing value none, any other value itself."""
    return (
        f"(CASE WHEN ({expr}) IS NULL THEN '[]'::jsonb WHEN jsonb_typeof({expr}) = 'array' THEN ({expr}) "
        f"ELSE jsonb_build_array({expr}) END)"
    )


@dataclass(frozen=True, slots=True)
class _Elements:
    """FROM clauses yielding one row per element, and the expression of the element's value (jsonb)."""

    source: str
    value: str

    def any(self, condition: Callable[[str], str]) -> str:
        return f"EXISTS (SELECT 1 FROM {self.source} WHERE {condition(self.value)})"


class _Compiler:
    def __init__(self, params: Params, table: str) -> None:
        self.params = params
        self.table = table
        self.aliases = 0
        self.exact = True
        self.negative = False  # inside a NOT: an undecidable leaf must be FALSE to keep a superset

    def p(self, value: Any, cast: str = "text") -> str:
        return self.params.add(value, cast)

    def alias(self, prefix: str) -> str:
        self.aliases += 1
        return f"{prefix}{self.aliases}"

    def undecided(self) -> str:
        self.exact = False
        return "false" if self.negative else "true"

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
        return self.instances(node.path, lambda instance: self.comparison(instance, comparison))

    def instances(self, path: AttrPath, condition: Callable[[str], str]) -> str:
        i = self.alias("i")
        attribute = f"({self.table}.doc -> {self.p(path.attribute)})"
        source = (
            f"jsonb_array_elements(CASE WHEN jsonb_typeof({attribute}) = 'array' THEN {attribute} "
            f"ELSE '[]'::jsonb END) AS {i}(v)"
        )
        return f"EXISTS (SELECT 1 FROM {source} WHERE jsonb_typeof({i}.v) = 'object' AND ({condition(f'{i}.v')}))"

    def walk(self, instance: str, keys: tuple[str, ...]) -> tuple[str, list[str]]:
        """The value at `keys` below `instance`, and the conditions that every step before the last is an object."""
        conditions = []
        for n in range(1, len(keys)):
            conditions.append(_is_object(f"({instance} #> {self.p(list(keys[:n]), 'text[]')})"))
        node = f"({instance} #> {self.p(list(keys), 'text[]')})" if keys else instance
        return node, conditions

    def branches(
        self, instance: str, path: AttrPath, relationships: bool = True
    ) -> list[tuple[str, Callable[[], _Elements], bool | str]]:
        """(condition that the target exists, its elements, vocab) for each kind the target element may have.

        The elements come as a function, called only when compared: a parameter the SQL does not use
        would have no type PostgreSQL could infer."""
        sub_path = path.sub_path
        if sub_path and sub_path[-1] in CORE_MEMBERS:
            parent, steps = self.walk(instance, sub_path[:-1])
            if sub_path[:-1]:
                steps.append(_is_object(parent))
            member = f"({parent} -> {self.p(sub_path[-1])})"
            exists = " AND ".join([*steps, f"{member} IS NOT NULL"])
            return [(exists, lambda: self.plain(member), sub_path[-1] == "objectType")]
        node, steps = self.walk(instance, sub_path)
        if sub_path:
            steps.append(_is_object(node))
        kind = f"(CASE WHEN jsonb_typeof({node} -> 'type') = 'string' THEN {node} ->> 'type' ELSE '' END)"
        base = " AND ".join(steps)
        if not path.compound:
            # One branch for every kind whose target is its member's value (or items), the member chosen by
            # kind; the language map and the ListRelationship's objectList need their own element walks.
            result: list[tuple[str, Callable[[], _Elements], bool | str]] = []
            special = ["LanguageProperty", "ListRelationship"]
            if not relationships:
                special.append("Relationship")
            cases = " ".join(
                f"WHEN '{name}' THEN '{member}'" for name, member in VALUE_MEMBERS.items() if name not in special
            )
            seed = f"({node} -> (CASE {kind} {cases} ELSE 'value' END))"
            plain_kinds = f"NOT ({kind} = ANY({self.p(special, 'text[]')}))"
            result.append((_and(base, plain_kinds), lambda: self.plain(seed), f"({kind} = 'VocabProperty')"))
            result.append(
                (_and(base, f"{kind} = 'LanguageProperty'"), lambda: self.languages(f"({node} -> 'languageMap')"), False)
            )
            if relationships:
                objects = f"({node} -> 'objectList')"
                result.append((_and(base, f"{kind} = 'ListRelationship'"), lambda: self.object_list(objects), False))
            return result
        result = []
        for attribute_type, member in (*VALUE_MEMBERS.items(), ("", "value")):
            if member not in ("value", "json", "languageMap"):
                continue  # no target: only these members have members to walk into
            if attribute_type:
                kind_is = f"{kind} = {self.p(attribute_type)}"
            else:
                kind_is = f"NOT ({kind} = ANY({self.p(sorted(VALUE_MEMBERS), 'text[]')}))"
            seed = f"({node} -> '{member}')"  # a member name of VALUE_MEMBERS, not user input
            keys = path.compound if member == "value" else path.raw_compound
            if member == "languageMap" and keys == (ANY_LANGUAGE,):
                exists = _and(base, kind_is, _is_object(seed))
                result.append((exists, partial(self.languages, seed), False))
                continue
            walked, walk_steps = self.walk(node, (member, *keys))
            exists = _and(base, kind_is, *walk_steps, f"{walked} IS NOT NULL")
            result.append((exists, partial(self.plain, walked), False))
        return result

    def plain(self, value: str) -> _Elements:
        v = self.alias("v")
        return _Elements(f"jsonb_array_elements({_as_array(value)}) AS {v}(x)", f"{v}.x")

    def object_list(self, seed: str) -> _Elements:
        """ListRelationship items are URIs or {"object": URI} (clause 4.5.20); an item's target is its object."""
        v = self.alias("v")
        value = (
            f"(CASE WHEN jsonb_typeof({seed}) = 'array' AND jsonb_typeof({v}.x) = 'object' "
            f"THEN {v}.x -> 'object' ELSE {v}.x END)"
        )
        return _Elements(f"jsonb_array_elements({_as_array(seed)}) AS {v}(x)", value)

    def languages(self, seed: str) -> _Elements:
        """The strings of a language map: the values that are not arrays, and the items of those that are."""
        m, v = self.alias("m"), self.alias("v")
        source = (
            f"jsonb_each(CASE WHEN jsonb_typeof({seed}) = 'object' THEN {seed} ELSE '{{}}'::jsonb END) AS {m}(k, y), "
            f"jsonb_array_elements({_as_array(f'{m}.y')}) AS {v}(x)"
        )
        return _Elements(source, f"{v}.x")

    def exists(self, instance: str, path: AttrPath) -> str:
        if not path.compound and not (path.sub_path and path.sub_path[-1] in CORE_MEMBERS):
            # The target element is the instance (or sub-attribute) itself, whatever its kind.
            node, steps = self.walk(instance, path.sub_path)
            return _and(*steps, _is_object(node)) if path.sub_path else "true"
        branches = self.branches(instance, path)
        return " OR ".join(f"({exists})" for exists, _, _ in branches) or "false"

    def comparison(self, instance: str, node: Comparison) -> str:
        parts = []
        for exists, elements, vocab in self.branches(instance, node.path, relationships=node.op in (EQUAL, UNEQUAL)):
            parts.append(f"({exists} AND {self.target(elements(), vocab, node.op, node.value)})")
        return " OR ".join(parts) or "false"

    def target(self, elements: _Elements, vocab: bool | str, op: str, value: QValue) -> str:
        if op == EQUAL:
            return elements.any(lambda x: self.equals(x, value, vocab))
        if op == UNEQUAL:
            self.negative = True
            try:
                return f"NOT {elements.any(lambda x: self.equals(x, value, vocab))}"
            finally:
                self.negative = False
        if op in (PATTERN, NOT_PATTERN):
            assert isinstance(value, Text)
            if op == PATTERN:
                return elements.any(lambda x: f"(jsonb_typeof({x}) = 'string' AND {self.regex(x, value.value)})")
            self.negative = True
            try:
                bad = elements.any(
                    lambda x: f"(jsonb_typeof({x}) IS DISTINCT FROM 'string' OR {self.regex(x, value.value)})"
                )
            finally:
                self.negative = False
            return f"{elements.any(lambda x: 'true')} AND NOT {bad}"
        assert not isinstance(value, (Range, ValueList))
        return elements.any(lambda x: self.compare(x, value, _SQL_ORDERING[op], vocab))

    def regex(self, x: str, pattern: str) -> str:
        if is_literal_pattern(pattern):
            return f"strpos({x} #>> '{{}}', {self.p(pattern)}) > 0"
        return self.undecided()

    # --- literals ----------------------------------------------------------------------------------

    def equals(self, x: str, value: QValue, vocab: bool | str) -> str:
        if isinstance(value, Range):
            return f"({self.compare(x, value.low, '>=', vocab)} AND {self.compare(x, value.high, '<=', vocab)})"
        items = value.items if isinstance(value, ValueList) else (value,)
        return "(" + " OR ".join(self.equal(x, item, vocab) for item in items) + ")"

    def equal(self, x: str, item: Scalar, vocab: bool | str) -> str:
        if isinstance(item, bool):
            return f"({x} = '{'true' if item else 'false'}'::jsonb)"
        return self.compare(x, item, "=", vocab)

    def compare(self, x: str, value: Scalar, op: str, vocab: bool | str) -> str:
        if isinstance(value, bool):
            return "false"
        if isinstance(value, int):
            return f"COALESCE(CASE WHEN jsonb_typeof({x}) = 'number' THEN ({x})::numeric {op} {self.p(Decimal(value), 'numeric')} END, false)"
        if isinstance(value, float):
            as_float = f"({x})::float8 {op} {self.p(value, 'float8')}"
            as_number = f"({x})::numeric {op} {self.p(Decimal(value), 'numeric')}"
            return (
                f"COALESCE(CASE WHEN jsonb_typeof({x}) = 'number' THEN "
                f"(CASE WHEN {_FLOAT_NUMBER.format(v=x)} THEN {as_float} ELSE {as_number} END) END, false)"
            )
        if isinstance(value, (Text, Uri)):
            if isinstance(value, Uri) and op != "=":
                return "false"
            if isinstance(vocab, bool):
                literal = self.p(literal_text(value, vocab))
            elif literal_text(value, True) == literal_text(value, False):
                literal = self.p(value.value)
            else:  # vocab is the SQL condition "the attribute is a VocabProperty"
                literal = f"(CASE WHEN {vocab} THEN {self.p(literal_text(value, True))} ELSE {self.p(value.value)} END)"
            return (
                f"COALESCE(CASE WHEN jsonb_typeof({x}) = 'string' THEN ({x} #>> '{{}}') COLLATE \"C\" {op} {literal} END, false)"
            )
        return self.undecided()  # dateTime, date, time: normalized in Python

    # --- types and scopes --------------------------------------------------------------------------

    def types(self, node: TypeExpr) -> str:
        if isinstance(node, TypeName):
            if node.name == ALL_TYPES:
                return "true"
            return f"{self.table}.types @> {self.p([node.name], 'text[]')}"
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
        regex = scope_pattern_regex(pattern)
        if regex is None:
            return f"COALESCE({self.table}.scope && {self.p(list(exact_scopes(pattern)), 'text[]')}, false)"
        s = self.alias("s")
        return f"EXISTS (SELECT 1 FROM unnest({self.table}.scope) AS {s}(x) WHERE {s}.x ~ {self.p(postgres_regex(regex))})"


def postgres_regex(python_regex: str) -> str:
    """A scope pattern's Python regex (predicate.scope_pattern_regex) in PostgreSQL's ARE syntax.

    The patterns use only ^, /?, [^/]+, (?:...)* and levels escaped by re.escape (a backslash before a
    punctuation character is a literal in both); Python's end-of-string \\Z is $ in an ARE, which is
    not newline-sensitive by default.
    """
    assert python_regex.endswith(r"\Z")
    return python_regex[:-2] + "$"


__all__ = ["Fragment", "Params", "compile_geo", "compile_geo_candidates", "compile_q", "compile_scope", "compile_types", "is_literal_pattern", "postgres_regex"]
