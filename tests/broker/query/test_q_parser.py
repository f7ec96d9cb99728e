# SPDX-License-Identifier: EUPL-1.2
"""q (clause 4.9): the spec's and Hamm's vectors, malformed input, limits, then the round-trip property."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import example, given, settings

from broker.errors import BadRequestData, TooComplexQuery
from broker.query import (
    MAX_NESTING,
    MAX_TERMS,
    AttrPath,
    Comparison,
    DateTime,
    Exists,
    NotExists,
    Or,
    QNode,
    QuerySyntaxError,
    Range,
    Text,
    Time,
    Uri,
    ValueList,
    parse_q,
    render_q,
)
from tests.broker.query.entity_table import load_vectors
from tests.broker.query.strategies import written_q

VECTORS = load_vectors("q.json")


@pytest.mark.parametrize("vector", VECTORS["valid"], ids=[v["q"] for v in VECTORS["valid"]])
def test_spec_and_hamm_queries_parse_and_render_canonically(vector: dict[str, Any]) -> None:
    node = parse_q(vector["q"])
    assert render_q(node) == vector["render"]
    assert parse_q(vector["render"]) == node


@pytest.mark.parametrize("vector", VECTORS["malformed"], ids=[v["q"] for v in VECTORS["malformed"]])
def test_malformed_query_is_bad_request_data_naming_position_and_token(vector: dict[str, Any]) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse_q(vector["q"])
    error = caught.value
    assert isinstance(error, BadRequestData)
    assert (error.position, error.token) == (vector["position"], vector["token"])
    assert f"position {vector['position']}" in error.detail
    assert (repr(vector["token"]) if vector["token"] else "end of the input") in error.detail


def test_the_parts_of_a_comparison_are_typed() -> None:
    assert parse_q("temperature.observedAt>=2026-11-26T00:00:00Z") == Comparison(
        AttrPath("temperature", ("observedAt",)), ">=", DateTime("2026-11-26T00:00:00Z")
    )
    assert parse_q('address[addressLocality]=="Hamm"') == Comparison(
        AttrPath("address", (), ("addressLocality",)), "==", Text("Hamm")
    )
    assert parse_q("sensor.rawdata[airquality.particulate]==40") == Comparison(
        AttrPath("sensor", ("rawdata",), ("airquality", "particulate")), "==", 40
    )
    assert parse_q("a==1..5.5").value == Range(1, 5.5)  # type: ignore[union-attr]
    assert parse_q('a=="x",urn:ngsi-ld:X:1,true,-2e3').value == ValueList(  # type: ignore[union-attr]
        (Text("x"), Uri("urn:ngsi-ld:X:1"), True, -2000.0)
    )
    assert parse_q("openingTime<08:30:00Z").value == Time("08:30:00Z")  # type: ignore[union-attr]
    assert parse_q("!a|b") == Or((NotExists(AttrPath("a")), Exists(AttrPath("b"))))


def test_bool_and_number_literals_stay_distinct() -> None:
    assert parse_q("a==true").value is True  # type: ignore[union-attr]
    assert type(parse_q("a==1").value) is int  # type: ignore[union-attr]
    assert type(parse_q("a==1.0").value) is float  # type: ignore[union-attr]
    assert type(parse_q("a==99999999999999999999").value) is float  # type: ignore[union-attr]


def test_string_escapes_are_json_escapes() -> None:
    assert parse_q(r'name=="Caf\u00e9 \"Zur Post\"\\"').value == Text('Café "Zur Post"\\')  # type: ignore[union-attr]


def test_and_binds_tighter_than_or() -> None:
    node = parse_q("a|b;c")
    assert isinstance(node, Or) and render_q(node) == "a|(b;c)"


def test_spaces_between_tokens_are_allowed() -> None:
    assert parse_q(" a == 1 ; ( b | !c ) ") == parse_q("a==1;(b|!c)")


def test_empty_q_is_bad_request_data() -> None:
    with pytest.raises(BadRequestData):
        parse_q("")


def test_more_terms_than_the_limit_is_too_complex_query() -> None:
    parse_q(";".join(["a==1"] * MAX_TERMS))
    with pytest.raises(TooComplexQuery):
        parse_q(";".join(["a==1"] * (MAX_TERMS + 1)))


def test_deeper_nesting_than_the_limit_is_too_complex_query() -> None:
    parse_q("(" * MAX_NESTING + "a" + ")" * MAX_NESTING)
    with pytest.raises(TooComplexQuery):
        parse_q("(" * (MAX_NESTING + 1) + "a" + ")" * (MAX_NESTING + 1))


def test_too_many_values_is_too_complex_query() -> None:
    with pytest.raises(TooComplexQuery):
        parse_q("a==" + ",".join(str(n) for n in range(600)))


def test_a_long_regular_expression_is_too_complex_query() -> None:
    with pytest.raises(TooComplexQuery):
        parse_q('a~="' + "x" * 2000 + '"')


@given(written_q)
@settings(max_examples=200)
@example(Comparison(AttrPath("a"), "==", Text("x;y|z)")))
@example(Comparison(AttrPath("a"), "==", -0.0))
@example(Comparison(AttrPath("a"), "==", 1e16))
@example(Comparison(AttrPath("a"), "~=", Text('"quoted"')))
def test_parse_of_render_gives_the_tree_back(node: QNode) -> None:
    assert parse_q(render_q(node)) == node


@given(written_q)
@settings(max_examples=100)
def test_render_is_canonical(node: QNode) -> None:
    text = render_q(node)
    assert render_q(parse_q(text)) == text
