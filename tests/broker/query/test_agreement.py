# SPDX-License-Identifier: EUPL-1.2
"""The agreement DESIGN.md promises: for generated expanded entities and queries, SQLite returns exactly the
entities the Python predicate accepts, for q, entity type selection and scopeQ."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, example, given, settings

from broker.query import (
    AttrPath,
    Comparison,
    DateTime,
    QNode,
    ScopeQuery,
    TypeExpr,
    compile_q,
    compile_scope,
    compile_types,
    matches_q,
    matches_scope,
    matches_types,
)
from tests.broker.query.entity_table import entity_table, select_ids
from tests.broker.query.strategies import (
    entities_and_queries,
    expanded_scope_queries,
    expanded_type_selections,
    scoped_entity_lists,
    typed_entities_and_comparisons,
)

AGREEMENT = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@given(entities_and_queries())
@AGREEMENT
def test_sqlite_selects_exactly_what_matches_q_accepts(case: tuple[tuple[dict[str, Any], ...], QNode]) -> None:
    entities, node = case
    connection = entity_table(entities)
    try:
        where, params = compile_q(node)
        assert select_ids(connection, where, params) == {e["id"] for e in entities if matches_q(node, e)}
    finally:
        connection.close()


@given(typed_entities_and_comparisons())
@AGREEMENT
# Regression: the single-Property fast path made "text != dateTime" NULL (false) instead of true.
@example(
    (
        (
            {"id": "urn:ngsi-ld:Thing:0", "type": ["https://x.test/T"], "https://x.test/a": [{"type": "LanguageProperty", "languageMap": {}}]},
            {"id": "urn:ngsi-ld:Thing:1", "type": ["https://x.test/T"], "https://x.test/a": [{"type": "Property", "value": "a"}]},
        ),
        Comparison(AttrPath("https://x.test/a", (), (), None), "!=", DateTime("2026-11-26T08:00:00Z")),
    )
)
def test_sqlite_agrees_with_matches_q_on_every_attribute_type(case: tuple[tuple[dict[str, Any], ...], QNode]) -> None:
    entities, node = case
    connection = entity_table(entities)
    try:
        where, params = compile_q(node)
        assert select_ids(connection, where, params) == {e["id"] for e in entities if matches_q(node, e)}
    finally:
        connection.close()


@given(scoped_entity_lists, expanded_type_selections)
@settings(max_examples=100, deadline=None)
def test_sqlite_selects_exactly_what_matches_types_accepts(
    entities: tuple[dict[str, Any], ...], node: TypeExpr
) -> None:
    connection = entity_table(entities)
    try:
        where, params = compile_types(node)
        assert select_ids(connection, where, params) == {e["id"] for e in entities if matches_types(node, e)}
    finally:
        connection.close()


@given(scoped_entity_lists, expanded_scope_queries)
@settings(max_examples=100, deadline=None)
def test_sqlite_selects_exactly_what_matches_scope_accepts(
    entities: tuple[dict[str, Any], ...], node: ScopeQuery
) -> None:
    connection = entity_table(entities)
    try:
        where, params = compile_scope(node)
        assert select_ids(connection, where, params) == {e["id"] for e in entities if matches_scope(node, e)}
    finally:
        connection.close()
