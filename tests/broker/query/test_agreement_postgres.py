# SPDX-License-Identifier: EUPL-1.2
"""The agreement of test_agreement.py on PostgreSQL: for generated expanded entities and queries,
PostgresStore.query_entities (q, type selection and scopeQ compiled by broker.query.sql_postgres) returns
exactly the entities the Python predicate accepts.

The rows are inserted with SQL (and the store's type index beside them), as entity_table.py does for SQLite (the generated entities are odd on
purpose, e.g. an observedAt that is not a dateTime, which the store's temporal history would refuse),
then queried through PostgresStore. The reference is each entity as the store gives it back (jsonb
decoded by orjson), since that is the data the store holds: a float such as 2.0**60 comes back as the
int its jsonb text spells. Each example writes into a tenant of its own in the session database, so
nothing needs cleaning between examples.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import asyncpg  # type: ignore[import-untyped]
import orjson
import pytest
from hypothesis import HealthCheck, given, settings

from broker.query import (
    QNode,
    ScopeQuery,
    TypeExpr,
    matches_q,
    matches_scope,
    matches_types,
)
from broker.query.sql_postgres import Params, compile_q
from broker.store.base import EntityQuery, EntitySelector
from broker.store.postgres import PostgresStore
from broker.store.postgres_schema import INSERT_ENTITY_TYPES
from tests.broker.query.strategies import (
    entities_and_queries,
    expanded_scope_queries,
    expanded_type_selections,
    scoped_entity_lists,
    typed_entities_and_comparisons,
)

AGREEMENT = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NOW = "2026-11-26T00:00:00.000Z"
R = TypeVar("R")
INSERT = (
    "INSERT INTO entities (tenant, id, types, scope, created_at, modified_at, doc) "
    "VALUES ($1, $2, $3, $4, '2026-11-26T00:00:00Z', '2026-11-26T00:00:00Z', $5::text::jsonb)"
)


class Harness:
    """One PostgresStore on the session database, driven from synchronous hypothesis tests."""

    def __init__(self, dsn: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.store = PostgresStore(dsn, pool_size=2)
        self.run(self.store.__aenter__())  # migrates the database
        self.conn = self.run(asyncpg.connect(dsn))

    def run(self, coroutine: Coroutine[Any, Any, R]) -> R:
        return self.loop.run_until_complete(coroutine)

    def close(self) -> None:
        self.run(self.conn.close())
        self.run(self.store.aclose())
        self.loop.close()

    def load(self, entities: tuple[dict[str, Any], ...]) -> tuple[str, list[dict[str, Any]]]:
        """Write the entities into a new tenant; the tenant and the entities as the store holds them."""
        tenant = f"agreement-{uuid.uuid4().hex[:12]}"

        async def work() -> list[dict[str, Any]]:
            rows = []
            for entity in entities:
                scope = entity.get("scope")
                scope_column = None if scope is None else [scope] if isinstance(scope, str) else list(scope)
                doc = orjson.dumps({**entity, "createdAt": NOW, "modifiedAt": NOW}).decode()
                rows.append((tenant, entity["id"], entity["type"], scope_column, doc))
            await self.conn.executemany(INSERT, rows)
            typed = sorted({(entity_type, entity["id"]) for entity in entities for entity_type in entity["type"]})
            await self.conn.execute(INSERT_ENTITY_TYPES, tenant, [t for t, _ in typed], [i for _, i in typed])
            stored, _ = await self.store.query_entities(tenant, EntityQuery(), limit=1000, offset=0, count=False)
            return stored

        return tenant, self.run(work())

    def ids(self, tenant: str, query: EntityQuery) -> set[str]:
        found, total = self.run(self.store.query_entities(tenant, query, limit=1000, offset=0, count=True))
        ids = [entity["id"] for entity in found]
        assert total == len(ids)
        # Paging in SQL and paging after a Python re-check must both give pages of the full answer.
        page, _ = self.run(self.store.query_entities(tenant, query, limit=2, offset=1, count=False))
        assert [entity["id"] for entity in page] == ids[1:3]
        return set(ids)


@pytest.fixture(scope="module")
def harness(postgres_dsn: str) -> Iterator[Harness]:
    made = Harness(postgres_dsn)
    try:
        yield made
    finally:
        made.close()


def check_q(harness: Harness, entities: tuple[dict[str, Any], ...], node: QNode) -> None:
    tenant, stored = harness.load(entities)
    expected = {entity["id"] for entity in stored if matches_q(node, entity)}
    assert harness.ids(tenant, EntityQuery(q=node)) == expected


@given(entities_and_queries())
@AGREEMENT
def test_postgres_selects_exactly_what_matches_q_accepts(
    harness: Harness, case: tuple[tuple[dict[str, Any], ...], QNode]
) -> None:
    check_q(harness, *case)


@given(typed_entities_and_comparisons())
@AGREEMENT
def test_postgres_agrees_with_matches_q_on_every_attribute_type(
    harness: Harness, case: tuple[tuple[dict[str, Any], ...], QNode]
) -> None:
    check_q(harness, *case)


@given(scoped_entity_lists, expanded_type_selections)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_postgres_selects_exactly_what_matches_types_accepts(
    harness: Harness, entities: tuple[dict[str, Any], ...], node: TypeExpr
) -> None:
    tenant, stored = harness.load(entities)
    expected = {entity["id"] for entity in stored if matches_types(node, entity)}
    assert harness.ids(tenant, EntityQuery(selectors=(EntitySelector(types=node),))) == expected


@given(scoped_entity_lists, expanded_scope_queries)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_postgres_selects_exactly_what_matches_scope_accepts(
    harness: Harness, entities: tuple[dict[str, Any], ...], node: ScopeQuery
) -> None:
    tenant, stored = harness.load(entities)
    expected = {entity["id"] for entity in stored if matches_scope(node, entity)}
    assert harness.ids(tenant, EntityQuery(scope=node)) == expected


def test_only_patterns_and_temporal_literals_need_a_python_recheck() -> None:
    from broker.query import AttrPath, Comparison, DateTime, Text

    def exact(node: QNode) -> bool:
        return compile_q(node, Params()).exact

    path = AttrPath("https://example.org/a")
    assert exact(Comparison(path, "==", 1.5))
    assert exact(Comparison(path, "~=", Text("plain substring")))
    assert not exact(Comparison(path, "~=", Text("^Merc")))
    assert not exact(Comparison(path, ">", DateTime("2026-11-26T00:00:00Z")))




NUMBERS = (2.0**60, 0.1, 1500.0, 1e30, -0.0, 9007199254740993, 2**63 - 1, 1152921504606846980, 2.5)


@pytest.mark.parametrize("op", ["==", "!=", ">", ">=", "<", "<="])
@pytest.mark.parametrize("literal", [*NUMBERS, 1152921504606847000, 0, 1e16])
def test_numbers_at_the_edges_of_float_and_int_agree(harness: Harness, op: str, literal: float) -> None:
    from broker.query import AttrPath, Comparison

    attribute = "https://x.test/n"
    entities = tuple(
        {"id": f"urn:ngsi-ld:Thing:{i}", "type": ["https://x.test/T"], attribute: [{"type": "Property", "value": n}]}
        for i, n in enumerate(NUMBERS)
    )
    check_q(harness, entities, Comparison(AttrPath(attribute), op, literal))
