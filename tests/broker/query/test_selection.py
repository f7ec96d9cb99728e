# SPDX-License-Identifier: EUPL-1.2
"""Entity type selection (clause 4.17) and scopeQ (clause 4.19): vectors, malformed input, round trips."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings

from broker.errors import BadRequestData, TooComplexQuery
from broker.query import (
    MAX_TERMS,
    QuerySyntaxError,
    ScopeAnd,
    ScopePattern,
    ScopeQuery,
    TypeAnd,
    TypeExpr,
    TypeName,
    TypeOr,
    parse_scope_query,
    parse_type_selection,
    plain_type_names,
    render_scope_query,
    render_type_selection,
)
from tests.broker.query.entity_table import load_vectors
from tests.broker.query.strategies import scope_queries, type_selections

TYPE_VECTORS = load_vectors("type_selection.json")
SCOPE_VECTORS = load_vectors("scope_query.json")


@pytest.mark.parametrize("vector", TYPE_VECTORS["valid"], ids=[v["type"] for v in TYPE_VECTORS["valid"]])
def test_type_selection_vectors_parse_and_render(vector: dict[str, Any]) -> None:
    node = parse_type_selection(vector["type"])
    assert render_type_selection(node) == vector["render"]
    assert parse_type_selection(vector["render"]) == node


@pytest.mark.parametrize("vector", TYPE_VECTORS["malformed"], ids=[v["type"] for v in TYPE_VECTORS["malformed"]])
def test_malformed_type_selection_names_position_and_token(vector: dict[str, Any]) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse_type_selection(vector["type"])
    assert (caught.value.position, caught.value.token) == (vector["position"], vector["token"])


def test_type_selection_precedence_and_grouping() -> None:
    assert parse_type_selection("A,B;C") == TypeOr((TypeName("A"), TypeAnd((TypeName("B"), TypeName("C")))))
    assert parse_type_selection("(A,B);C") == TypeAnd((TypeOr((TypeName("A"), TypeName("B"))), TypeName("C")))


def test_empty_type_selection_is_bad_request_data() -> None:
    with pytest.raises(BadRequestData):
        parse_type_selection(" ")


def test_type_selection_over_the_limit_is_too_complex_query() -> None:
    with pytest.raises(TooComplexQuery):
        parse_type_selection(",".join(f"T{n}" for n in range(MAX_TERMS + 1)))


@pytest.mark.parametrize("vector", SCOPE_VECTORS["valid"], ids=[v["scopeQ"] for v in SCOPE_VECTORS["valid"]])
def test_scope_query_vectors_parse_and_render(vector: dict[str, Any]) -> None:
    node = parse_scope_query(vector["scopeQ"])
    assert render_scope_query(node) == vector["render"]
    assert parse_scope_query(vector["render"]) == node


@pytest.mark.parametrize("vector", SCOPE_VECTORS["malformed"], ids=[v["scopeQ"] for v in SCOPE_VECTORS["malformed"]])
def test_malformed_scope_query_names_position_and_token(vector: dict[str, Any]) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse_scope_query(vector["scopeQ"])
    assert (caught.value.position, caught.value.token) == (vector["position"], vector["token"])


def test_scope_query_tree() -> None:
    assert parse_scope_query("(/Hamm/Mitte;/Verwaltung)|/Hamm/+/#,/#") == ScopeQuery(
        (
            ScopeAnd((ScopePattern(("Hamm", "Mitte")), ScopePattern(("Verwaltung",)))),
            ScopePattern(("Hamm", "+"), descendants=True),
            ScopePattern((), descendants=True),
        )
    )


def test_empty_scope_query_is_bad_request_data() -> None:
    with pytest.raises(BadRequestData):
        parse_scope_query("")


@given(type_selections)
@settings(max_examples=150)
def test_type_selection_round_trips(node: TypeExpr) -> None:
    assert parse_type_selection(render_type_selection(node)) == node


@given(scope_queries)
@settings(max_examples=150)
def test_scope_query_round_trips(node: ScopeQuery) -> None:
    assert parse_scope_query(render_scope_query(node)) == node


@pytest.mark.parametrize(
    "text,names",
    [("A", ["A"]), ("A,B", ["A", "B"]), ("A|B", ["A", "B"]), ("(A;B)", None), ("A,(B;C)", None), ("*", None), ("A,*", None)],
)
def test_plain_type_names_are_what_a_type_index_can_answer(text: str, names: list[str] | None) -> None:
    assert plain_type_names(parse_type_selection(text)) == names
