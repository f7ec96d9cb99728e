# SPDX-License-Identifier: EUPL-1.2
"""The SQLite fragments on a real in-memory `entities` table (the store's MIGRATIONS): the vectors give the
expected entities, and the fragments bind like any qmark-style SQL."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest

from broker.query import (
    compile_q,
    compile_scope,
    compile_types,
    expand_query,
    parse_q,
    parse_scope_query,
    parse_type_selection,
    register_functions,
)
from tests.broker.query.entity_table import TENANT, entity_table, load_vectors, select_ids, vector_entities

TERM_MAP, ENTITIES = vector_entities()
ALL_IDS = {entity["id"] for entity in ENTITIES}
Q = load_vectors("q.json")["valid"]
TYPES = load_vectors("type_selection.json")["valid"]
SCOPES = load_vectors("scope_query.json")["valid"]


@pytest.fixture(scope="module")
def connection() -> Any:
    connection = entity_table(ENTITIES)
    yield connection
    connection.close()


def expected(vector: dict[str, Any]) -> set[str]:
    return ALL_IDS if vector["matches"] == "all" else set(vector["matches"])


@pytest.mark.parametrize("vector", Q, ids=[f"{v['clause']}: {v['q']}" for v in Q])
def test_q_vectors_select_the_expected_rows(connection: sqlite3.Connection, vector: dict[str, Any]) -> None:
    where, params = compile_q(expand_query(parse_q(vector["q"]), TERM_MAP))
    assert select_ids(connection, where, params) == expected(vector)


@pytest.mark.parametrize("vector", TYPES, ids=[v["type"] for v in TYPES])
def test_type_selection_vectors_select_the_expected_rows(
    connection: sqlite3.Connection, vector: dict[str, Any]
) -> None:
    where, params = compile_types(expand_query(parse_type_selection(vector["type"]), TERM_MAP))
    assert select_ids(connection, where, params) == expected(vector)


@pytest.mark.parametrize("vector", SCOPES, ids=[v["scopeQ"] for v in SCOPES])
def test_scope_query_vectors_select_the_expected_rows(connection: sqlite3.Connection, vector: dict[str, Any]) -> None:
    where, params = compile_scope(parse_scope_query(vector["scopeQ"]))
    assert select_ids(connection, where, params) == expected(vector)


def test_fragments_combine_with_the_stores_own_parameters(connection: sqlite3.Connection) -> None:
    q_sql, q_params = compile_q(expand_query(parse_q('availableSpotNumber>=5;name~="(?i)park"'), TERM_MAP))
    type_sql, type_params = compile_types(expand_query(parse_type_selection("OffStreetParking"), TERM_MAP))
    scope_sql, scope_params = compile_scope(parse_scope_query("/Hamm/Mitte/#"))
    rows = connection.execute(
        f"SELECT id FROM entities WHERE tenant = ? AND {type_sql} AND {q_sql} AND {scope_sql} ORDER BY id LIMIT ?",
        [TENANT, *type_params, *q_params, *scope_params, 10],
    ).fetchall()
    assert rows == [("urn:ngsi-ld:OffStreetParking:Hamm-Hbf",)]


def test_iris_and_values_are_parameters_not_sql(connection: sqlite3.Connection) -> None:
    where, params = compile_q(expand_query(parse_q('name=="x\'); DROP TABLE entities; --"'), TERM_MAP))
    assert "DROP" not in where and "x'); DROP TABLE entities; --" in params
    assert select_ids(connection, where, params) == set()
    assert "https://uri.etsi.org/ngsi-ld/default-context/name" not in where


def test_without_register_functions_regexp_is_missing() -> None:
    bare = sqlite3.connect(":memory:")
    where, params = compile_q(expand_query(parse_q('name~="a"'), TERM_MAP))
    with pytest.raises(sqlite3.OperationalError):
        bare.execute(f"SELECT 1 FROM (SELECT '{{}}' AS doc) AS entities WHERE {where}", params).fetchall()
    register_functions(bare)
    assert bare.execute(f"SELECT 1 FROM (SELECT '{{}}' AS doc) AS entities WHERE {where}", params).fetchall() == []
    bare.close()


def test_another_table_alias(connection: sqlite3.Connection) -> None:
    where, params = compile_q(expand_query(parse_q("temperature"), TERM_MAP), table="e")
    rows = connection.execute(f"SELECT e.id FROM entities AS e WHERE {where}", params).fetchall()
    assert {row[0] for row in rows} == {
        "urn:ngsi-ld:WeatherObserved:Hamm-Bahnhof",
        "urn:ngsi-ld:WeatherObserved:Hamm-Heessen",
    }
