# SPDX-License-Identifier: EUPL-1.2
"""How the PostgreSQL store answers query_entities (clause 5.7.2).

What PostgreSQL decides exactly, it decides in the WHERE clause: the tenant, entity ids, type
selections (GIN index on `types`), attrs (the JSONB `?|` operator), q and scopeQ (compiled by
broker.query.sql_postgres) and geoQ (PostGIS on `entity_geometries`, prefiltered through its GiST
index; sql_postgres.compile_geo); paging and the count are then SQL too. Only what PostgreSQL cannot
decide like Python is re-checked by broker.query.predicate, the reference semantics, on the
candidates streamed in id order through a cursor: idPattern and q `~=` patterns that are not plain
substrings (Python regular expressions), and q comparisons with dateTime/date/time literals.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from broker.query import matches_q, matches_scope, matches_types, plain_type_names
from broker.query.ast import ALL_TYPES, TypeAnd, TypeExpr, TypeName
from broker.query.sql_postgres import Params, compile_geo, compile_geo_candidates, compile_q, compile_scope, compile_types
from broker.query.values import pattern_matches
from broker.store.base import EntityQuery, EntitySelector, ExpandedEntity, OrderKey

Check = Callable[[ExpandedEntity], bool]
_PREFETCH = 200


_CORE_ORDER_COLUMNS = {"id": "e.id", "createdAt": "e.created_at", "modifiedAt": "e.modified_at"}


_ENTITIES = "entities AS e"
# One type, in id order: the primary key of the type index (tenant, type, id) hands the rows over
# already sorted, so a page stops after its last row instead of sorting every entity of the type.
_ENTITIES_OF_TYPE = "entity_types AS t JOIN entities AS e ON e.tenant = t.tenant AND e.id = t.id"


@dataclass(frozen=True, slots=True)
class QueryPlan:
    where: str  # over `source`, with $1 .. $n
    order: str  # ORDER BY terms, ending with the id
    params: tuple[Any, ...]
    check: Check | None  # None: the WHERE clause decides alone
    where_params: int = 0  # the WHERE clause uses params[:where_params]; ORDER BY the rest
    source: str = _ENTITIES  # the FROM clause

    @property
    def count_params(self) -> tuple[Any, ...]:
        return self.params[: self.where_params]


def plan_query(tenant: str, query: EntityQuery) -> QueryPlan:
    collector = Params([tenant])
    params = collector.values
    param = collector.add

    where = ["e.tenant = $1::text"]
    checks: list[Check] = []
    source = _ENTITIES
    order_column = "e.id"
    one_type = _single_type(query)
    if one_type is not None:
        source = _ENTITIES_OF_TYPE
        where = ["t.tenant = $1::text", f"t.type = {param(one_type, 'text')}"]
        order_column = "t.id"
        if (id_pattern := query.selectors[0].id_pattern) is not None:
            checks.append(lambda entity: pattern_matches(id_pattern, entity["id"]))
    elif query.selectors:
        alternatives = [_selector_sql(selector, collector) for selector in query.selectors]
        where.append("(" + " OR ".join(f"({sql})" for sql, _ in alternatives) + ")")
        if not all(exact for _, exact in alternatives):
            selectors = query.selectors
            checks.append(lambda entity: any(_selector_matches(selector, entity) for selector in selectors))
    if query.attrs is not None:
        where.append(f"e.doc ?| {param(sorted(query.attrs), 'text[]')}")
    if query.q is not None:
        q = query.q
        q_sql = compile_q(q, collector)
        where.append(q_sql.sql)
        if not q_sql.exact:
            checks.append(lambda entity: matches_q(q, entity))
    if query.scope is not None:
        scope = query.scope
        scope_sql = compile_scope(scope, collector)
        where.append(scope_sql.sql)
        if not scope_sql.exact:
            checks.append(lambda entity: matches_scope(scope, entity))
    if query.geo is not None:  # exact: decided in PostGIS
        # The types are filtered on the geometry rows themselves (an EXISTS on entity_types became a hash
        # semi-join that read every member of the type: 6-8 ms at 100,000 entities, more with more).
        candidates = compile_geo_candidates(query.geo, collector, "$1::text", _plain_types(query))
        if candidates is None:
            where.append(compile_geo(query.geo, collector).sql)
        else:
            # The candidates first, then their entities by primary key (LATERAL keeps that join order:
            # with a LIMIT the planner would otherwise walk the tenant's entities in id order and probe
            # the geometries for each).
            source = (
                f"({candidates}) AS geo_candidates CROSS JOIN LATERAL "
                "(SELECT * FROM entities AS e WHERE e.tenant = $1::text AND e.id = geo_candidates.entity_id) AS e"
            )
    where_params = len(params)
    order = _order_by(query.order_by, param, order_column)
    return QueryPlan(" AND ".join(where), order, tuple(params), _all(checks), where_params, source)


def _plain_types(query: EntityQuery) -> list[str] | None:
    """The type names of a query with one selector whose types are plain names joined by ',' or '|'."""
    if len(query.selectors) != 1 or query.selectors[0].types is None:
        return None
    return plain_type_names(query.selectors[0].types)


def _single_type(query: EntityQuery) -> str | None:
    """The type IRI when the query selects one plain type and pages in id order, with no geoQ (whose GiST
    candidates are the fewer rows) and no id list (the primary key finds those): then the type index
    drives the query."""
    if len(query.selectors) != 1 or query.geo is not None or query.order_by:
        return None
    selector = query.selectors[0]
    types = selector.types
    if selector.ids is not None or not isinstance(types, TypeName):
        return None
    return None if types.name == ALL_TYPES else types.name


async def run_query(
    conn: Any, plan: QueryPlan, *, limit: int, offset: int, count: bool
) -> tuple[list[ExpandedEntity], int | None]:
    """The page [offset, offset+limit) in id order, and the number of matches when `count`."""
    select = f"SELECT e.doc FROM {plan.source} WHERE {plan.where} ORDER BY {plan.order}"
    # One snapshot, so that the page and the count agree.
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        if plan.check is None:
            n = len(plan.params)
            rows = await conn.fetch(
                f"{select} LIMIT ${n + 1}::bigint OFFSET ${n + 2}::bigint", *plan.params, limit, offset
            )
            total = (
                await conn.fetchval(f"SELECT count(*) FROM {plan.source} WHERE {plan.where}", *plan.count_params)
                if count
                else None
            )
            return [row[0] for row in rows], total
        page: list[ExpandedEntity] = []
        matched = 0
        if not count and limit == 0:
            return page, None
        async for row in conn.cursor(select, *plan.params, prefetch=_PREFETCH):
            entity: ExpandedEntity = row[0]
            if not plan.check(entity):
                continue
            if offset <= matched < offset + limit:
                page.append(entity)
            matched += 1
            if not count and matched >= offset + limit:
                break
        return page, matched if count else None


def _order_by(keys: tuple[OrderKey, ...], param: Callable[[Any, str], str], id_column: str = "e.id") -> str:
    """orderBy as the SQLite store orders: entities lacking a key last, numbers (and booleans, as
    0/1) before strings in ascending order, strings by code point, and the id to break ties."""
    terms: list[str] = []
    for key in keys:
        direction = "DESC" if key.descending else "ASC"
        if key.attribute is None:
            terms.append(f"{_CORE_ORDER_COLUMNS[key.member]} {direction}")
            continue
        first = f"(e.doc -> {param(key.attribute, 'text')} -> 0)"
        members = ("value", "object", "vocab") if key.member == "value" else (key.member,)
        value = "COALESCE(" + ", ".join(f"NULLIF({first} -> {param(m, 'text')}, 'null'::jsonb)" for m in members) + ")"
        kind = f"jsonb_typeof({value})"
        terms += [
            f"{value} IS NULL",
            f"(CASE WHEN {kind} IN ('number', 'boolean') THEN 0 ELSE 1 END) {direction}",
            (
                f"(CASE {kind} WHEN 'number' THEN ({value})::numeric "
                f"WHEN 'boolean' THEN (CASE WHEN {value} = 'true'::jsonb THEN 1 ELSE 0 END) END) {direction}"
            ),
            f"(CASE {kind} WHEN 'string' THEN {value} #>> '{{}}' ELSE {value}::text END) COLLATE \"C\" {direction}",
        ]
    terms.append(id_column)
    return ", ".join(terms)


def _selector_sql(selector: EntitySelector, params: Params) -> tuple[str, bool]:
    """The selector's SQL condition, and whether it is exact (False: a superset, checked in Python)."""
    conditions: list[str] = []
    exact = selector.id_pattern is None
    if selector.ids is not None:
        conditions.append(f"e.id = ANY({params.add(list(selector.ids), 'text[]')})")
    if selector.types is not None:
        types_sql = _types_sql(selector.types, params.add)
        conditions.append(types_sql if types_sql is not None else compile_types(selector.types, params).sql)
    return " AND ".join(conditions) or "TRUE", exact


def _types_sql(types: TypeExpr, param: Callable[[Any, str], str]) -> str | None:
    """`types` overlaps (any of) or contains (all of) plain type names (one GIN probe); None for nested
    expressions, which broker.query.sql_postgres compiles."""
    if isinstance(types, TypeName):
        return "TRUE" if types.name == ALL_TYPES else f"e.types && {param([types.name], 'text[]')}"
    names = [term.name for term in types.terms if isinstance(term, TypeName)]
    if len(names) != len(types.terms) or ALL_TYPES in names:
        return None
    operator = "@>" if isinstance(types, TypeAnd) else "&&"
    return f"e.types {operator} {param(names, 'text[]')}"


def _selector_matches(selector: EntitySelector, entity: ExpandedEntity) -> bool:
    return (
        (selector.ids is None or entity["id"] in selector.ids)
        and (selector.id_pattern is None or pattern_matches(selector.id_pattern, entity["id"]))
        and (selector.types is None or matches_types(selector.types, entity))
    )


def _all(checks: list[Check]) -> Check | None:
    if not checks:
        return None
    if len(checks) == 1:
        return checks[0]
    return lambda entity: all(check(entity) for check in checks)


__all__ = ["QueryPlan", "plan_query", "run_query"]
