# SPDX-License-Identifier: EUPL-1.2
"""FIWARE-style JEXL: what provisioning files written for iotagent-node-lib expect."""

from __future__ import annotations

from typing import Any

import pytest

from agents.common.expressions import ExpressionError, Expressions

CASES: list[tuple[str, dict[str, Any], Any]] = [
    ("t * 9 / 5 + 32", {"t": 20}, 68.0),
    ("h / 100", {"h": 55}, 0.55),
    ("'T=' + t", {"t": 21.5}, "T=21.5"),
    ("level + ' %'", {"level": 40}, "40 %"),
    ("s|toUpperCase", {"s": "ok"}, "OK"),
    ("v|round", {"v": 2.5}, 3),
    ("v|toFixed(1)", {"v": 2.345}, "2.3"),
    ("v|parsefloat * 2", {"v": "1.5"}, 3.0),
    ("v|substr(0, 3)", {"v": "Hamm-Mitte"}, "Ham"),
    ("v|jsonparse", {"v": '{"a": 1}'}, {"a": 1}),
    ("occupied ? 'occupied' : 'free'", {"occupied": False}, "free"),
    ("a.b[1]", {"a": {"b": [1, 2]}}, 2),
    ("x == 'on'", {"x": "on"}, True),
]


@pytest.mark.parametrize(("expression", "context", "value"), CASES)
def test_fiware_expression(expression: str, context: dict[str, Any], value: Any) -> None:
    assert Expressions().evaluate(expression, context) == value


def test_an_expression_that_does_not_parse_is_an_expression_error() -> None:
    with pytest.raises(ExpressionError):
        Expressions().check("t *")


def test_an_expression_that_fails_on_the_values_is_an_expression_error() -> None:
    with pytest.raises(ExpressionError, match="t"):
        Expressions().evaluate("t * 2", {"t": None})
